"""Every property type of the API notes, as page JSON; relation/people limits and property item pagination."""

from __future__ import annotations

from typing import Any

import notion_client
import pytest

from notion_sync.core.emulator.notion import NotionEmulator

ALL_TYPES: dict[str, dict[str, Any]] = {
    "Name": {"type": "title"},
    "Text": {"type": "rich_text"},
    "Count": {"type": "number", "format": "euro"},
    "Choice": {"type": "select", "options": ["One", "Two"]},
    "State": {"type": "status"},
    "Labels": {"type": "multi_select", "options": [{"name": "A", "color": "red"}]},
    "When": {"type": "date"},
    "Who": {"type": "people"},
    "Attachments": {"type": "files"},
    "Done": {"type": "checkbox"},
    "Link": {"type": "url"},
    "Mail": {"type": "email"},
    "Phone": {"type": "phone_number"},
    "Formula": {"type": "formula", "expression": 'prop("Count") * 2'},
    "Related": {"type": "relation"},
    "Total": {
        "type": "rollup",
        "function": "sum",
        "relation_property_name": "Related",
        "rollup_property_name": "Count",
    },
    "Created": {"type": "created_time"},
    "Edited": {"type": "last_edited_time"},
    "Creator": {"type": "created_by"},
    "Editor": {"type": "last_edited_by"},
    "Key": {"type": "unique_id", "prefix": "TASK"},
    "Verified": {"type": "verification"},
    "Go": {"type": "button"},
    "Where": {"type": "place"},
    "Future": {"type": "brand_new_type", "brand_new_type": {"setting": 1}},
}


@pytest.fixture
def all_ds(emu: NotionEmulator) -> str:
    return emu.create_database("Everything", ALL_TYPES).data_sources[0].id


def test_schema_of_every_type(emu: NotionEmulator, all_ds: str, client: notion_client.Client) -> None:
    props = client.data_sources.retrieve(all_ds)["properties"]
    assert set(props) == set(ALL_TYPES)
    assert props["Count"]["number"] == {"format": "euro"}
    assert [o["name"] for o in props["Choice"]["select"]["options"]] == ["One", "Two"]
    assert [o["name"] for o in props["State"]["status"]["options"]] == ["Not started", "In progress", "Done"]
    assert props["Formula"]["formula"] == {"expression": 'prop("Count") * 2'}
    assert props["Total"]["rollup"]["function"] == "sum"
    assert props["Key"]["unique_id"] == {"prefix": "TASK"}
    assert props["Future"] == {
        "id": props["Future"]["id"],
        "name": "Future",
        "description": None,
        "type": "brand_new_type",
        "brand_new_type": {"setting": 1},
    }


def test_page_json_of_every_type(emu: NotionEmulator, all_ds: str, client: notion_client.Client) -> None:
    target = emu.add_page(all_ds, {"Name": "target"})
    emu.advance(minutes=2)
    page_id = emu.add_page(
        all_ds,
        {
            "Name": "Everything",
            "Text": "Some notes",
            "Count": 4.5,
            "Choice": "Two",
            "State": "In progress",
            "Labels": ["A", "B"],
            "When": ("2026-03-01T09:00:00+01:00", "2026-03-01T10:30:00+01:00"),
            "Who": ["ada@example.com", {"name": "Bob", "email": "bob@example.com"}],
            "Attachments": [
                "https://example.com/a.pdf",
                {"name": "b.png", "url": "https://files/b.png", "type": "file"},
            ],
            "Done": True,
            "Link": "https://example.com",
            "Mail": "x@example.com",
            "Phone": "+33 1 23",
            "Formula": 9,
            "Related": [target],
            "Total": 4.5,
            "Verified": "verified",
            "Where": {"lat": 48.85, "lon": 2.35, "name": "Paris"},
            "Future": {"type": "brand_new_type", "brand_new_type": {"anything": [1, 2]}},
        },
    )
    props = client.pages.retrieve(page_id)["properties"]
    value = {name: prop[prop["type"]] for name, prop in props.items()}
    assert all(props[name]["type"] == spec["type"] for name, spec in ALL_TYPES.items())
    assert value["Name"][0]["plain_text"] == "Everything"
    assert value["Text"][0]["text"] == {"content": "Some notes", "link": None}
    assert value["Count"] == 4.5
    assert value["Choice"]["name"] == "Two" and set(value["Choice"]) == {"id", "name", "color"}
    assert value["State"]["name"] == "In progress" and value["State"]["color"] == "blue"
    assert [(o["name"], o["color"]) for o in value["Labels"]] == [("A", "red"), ("B", "default")]
    assert value["When"] == {
        "start": "2026-03-01T09:00:00.000+01:00",
        "end": "2026-03-01T10:30:00.000+01:00",
        "time_zone": None,
    }
    assert [(u["object"], u["type"], u["person"]["email"]) for u in value["Who"]] == [
        ("user", "person", "ada@example.com"),
        ("user", "person", "bob@example.com"),
    ]
    assert value["Who"][1]["name"] == "Bob"
    assert value["Attachments"][0] == {
        "name": "a.pdf",
        "type": "external",
        "external": {"url": "https://example.com/a.pdf"},
    }
    assert value["Attachments"][1]["type"] == "file" and value["Attachments"][1]["file"]["expiry_time"]
    assert value["Done"] is True
    assert (value["Link"], value["Mail"], value["Phone"]) == ("https://example.com", "x@example.com", "+33 1 23")
    assert value["Formula"] == {"type": "number", "number": 9}
    assert value["Related"] == [{"id": target}] and props["Related"]["has_more"] is False
    assert value["Total"] == {"type": "number", "number": 4.5, "function": "sum"}
    assert value["Created"] == value["Edited"] == "2026-07-04T09:11:00.000Z"
    assert value["Creator"]["id"] == value["Editor"]["id"] == emu.owner_id
    assert value["Key"] == {"prefix": "TASK", "number": 2}
    assert value["Verified"] == {"state": "verified", "date": None, "verified_by": None}
    assert value["Go"] == {}
    assert value["Where"] == {"lat": 48.85, "lon": 2.35, "name": "Paris"}
    assert value["Future"] == {"anything": [1, 2]}


def test_empty_values_of_every_type(emu: NotionEmulator, all_ds: str, client: notion_client.Client) -> None:
    props = client.pages.retrieve(emu.add_page(all_ds, {}))["properties"]
    value = {name: prop[prop["type"]] for name, prop in props.items()}
    for name in ("Name", "Text", "Labels", "Who", "Attachments", "Related"):
        assert value[name] == [], name
    for name in ("Count", "Choice", "State", "When", "Link", "Mail", "Phone", "Where", "Future"):
        assert value[name] is None, name
    assert value["Done"] is False
    assert value["Formula"] == {"type": "string", "string": None}
    assert value["Verified"]["state"] == "unverified"


def test_formula_results_of_each_type(emu: NotionEmulator, all_ds: str) -> None:
    for given, expected in [
        ("text", {"type": "string", "string": "text"}),
        (True, {"type": "boolean", "boolean": True}),
        (None, {"type": "string", "string": None}),
        (
            {"type": "date", "date": {"start": "2026-01-01", "end": None, "time_zone": None}},
            {"type": "date", "date": {"start": "2026-01-01", "end": None, "time_zone": None}},
        ),
    ]:
        page = emu.page_json(emu.add_page(all_ds, {"Formula": given}))
        assert page["properties"]["Formula"]["formula"] == expected


def test_raw_values_pass_through_for_any_type(emu: NotionEmulator, all_ds: str) -> None:
    raw_choice = {"type": "select", "select": {"id": "x1", "name": "Raw", "color": "pink"}}
    page = emu.page_json(emu.add_page(all_ds, {"Choice": raw_choice}))
    assert page["properties"]["Choice"]["select"] == {"id": "x1", "name": "Raw", "color": "pink"}


def test_relation_shows_25_with_has_more_and_paginates(
    emu: NotionEmulator, all_ds: str, client: notion_client.Client
) -> None:
    targets = [emu.add_page(all_ds, {"Name": f"t{n}"}) for n in range(60)]
    page_id = emu.add_page(all_ds, {"Name": "hub", "Related": targets})
    inline = client.pages.retrieve(page_id)["properties"]["Related"]
    assert len(inline["relation"]) == 25 and inline["has_more"] is True
    prop_id = inline["id"]
    first = client.pages.properties.retrieve(page_id, prop_id, page_size=50)
    assert first["has_more"] is True and len(first["results"]) == 50
    assert first["property_item"]["next_url"].endswith(f"start_cursor={first['next_cursor']}")
    assert first["results"][0] == {
        "object": "property_item",
        "type": "relation",
        "id": prop_id,
        "relation": {"id": targets[0]},
    }
    rest = client.pages.properties.retrieve(page_id, prop_id, page_size=50, start_cursor=first["next_cursor"])
    assert rest["has_more"] is False and rest["next_cursor"] is None
    assert [r["relation"]["id"] for r in first["results"] + rest["results"]] == targets


def test_people_show_25_inline_and_all_through_property_items(
    emu: NotionEmulator, all_ds: str, client: notion_client.Client
) -> None:
    emails = [f"user{n}@example.com" for n in range(30)]
    page_id = emu.add_page(all_ds, {"Name": "crowd", "Who": emails})
    inline = client.pages.retrieve(page_id)["properties"]["Who"]
    assert len(inline["people"]) == 25
    items = []
    cursor = None
    while True:
        reply = client.pages.properties.retrieve(page_id, inline["id"], page_size=10, start_cursor=cursor)
        items += reply["results"]
        if not reply["has_more"]:
            break
        cursor = reply["next_cursor"]
    assert [i["people"]["person"]["email"] for i in items] == emails


def test_encoded_property_ids_work_in_paths_and_filter_properties(
    emu: NotionEmulator, all_ds: str, client: notion_client.Client
) -> None:
    assert emu.add_property(all_ds, "Odd", {"type": "number", "id": "%3AUUq"}) == "%3AUUq"
    page_id = emu.add_page(all_ds, {"Name": "x", "Odd": 7})
    assert client.pages.properties.retrieve(page_id, "%3AUUq")["number"] == 7
    assert set(client.pages.retrieve(page_id, filter_properties=["%3AUUq"])["properties"]) == {"Odd"}
    assert set(client.pages.retrieve(page_id, filter_properties=[":UUq"])["properties"]) == {"Odd"}


def test_unique_ids_count_up_per_data_source(emu: NotionEmulator, all_ds: str) -> None:
    numbers = [emu.page_json(emu.add_page(all_ds, {}))["properties"]["Key"]["unique_id"]["number"] for _ in range(3)]
    assert numbers == [1, 2, 3]


@pytest.fixture
def filter_rows(emu: NotionEmulator, all_ds: str) -> dict[str, str]:
    target = emu.add_page(all_ds, {"Name": "target"})
    bot_made = emu.add_page(
        all_ds,
        {
            "Name": "one",
            "Formula": "abc",
            "Total": 3,
            "Related": [target],
            "Attachments": ["https://x/a.pdf"],
            "Verified": "verified",
            "Creator": emu.bot_id,
        },
    )
    emu.advance(minutes=1)
    other = emu.add_page(
        all_ds,
        {
            "Name": "two",
            "Formula": {"type": "number", "number": 5},
            "Total": [{"type": "number", "number": 1}, {"type": "number", "number": 9}],
        },
    )
    flag = emu.add_page(
        all_ds,
        {
            "Name": "three",
            "Formula": True,
            "Total": {"type": "date", "date": {"start": "2026-05-01", "end": None, "time_zone": None}},
        },
    )
    return {"target": target, "one": bot_made, "two": other, "three": flag}


def filtered(client: notion_client.Client, ds: str, flt: dict[str, Any]) -> set[str]:
    results = client.data_sources.query(ds, filter=flt)["results"]
    return {r["properties"]["Name"]["title"][0]["plain_text"] for r in results}


@pytest.mark.parametrize(
    ("flt", "expected"),
    [
        ({"property": "Formula", "formula": {"string": {"contains": "b"}}}, {"one"}),
        ({"property": "Formula", "formula": {"number": {"greater_than": 4}}}, {"two"}),
        ({"property": "Formula", "formula": {"checkbox": {"equals": True}}}, {"three"}),
        ({"property": "Total", "rollup": {"number": {"equals": 3}}}, {"one"}),
        ({"property": "Total", "rollup": {"any": {"number": {"greater_than": 5}}}}, {"two"}),
        ({"property": "Total", "rollup": {"every": {"number": {"greater_than": 5}}}}, {"target", "one", "three"}),
        ({"property": "Total", "rollup": {"date": {"after": "2026-04-01"}}}, {"three"}),
        ({"property": "Key", "unique_id": {"greater_than_or_equal_to": 3}}, {"two", "three"}),
        ({"property": "Attachments", "files": {"is_not_empty": True}}, {"one"}),
        ({"property": "Verified", "verification": {"status": "verified"}}, {"one"}),
        ({"property": "Created", "created_time": {"after": "2026-07-04T09:09:30Z"}}, {"two", "three"}),
    ],
)
def test_filters_on_computed_types(
    filter_rows: dict[str, str], all_ds: str, client: notion_client.Client, flt: dict[str, Any], expected: set[str]
) -> None:
    assert filtered(client, all_ds, flt) == expected


def test_relation_and_created_by_filters(
    emu: NotionEmulator, filter_rows: dict[str, str], all_ds: str, client: notion_client.Client
) -> None:
    assert filtered(client, all_ds, {"property": "Related", "relation": {"contains": filter_rows["target"]}}) == {"one"}
    assert filtered(client, all_ds, {"property": "Creator", "created_by": {"contains": emu.bot_id}}) == {"one"}
    assert filtered(client, all_ds, {"property": "Related", "relation": {"is_empty": True}}) == {
        "target",
        "two",
        "three",
    }


def test_a_cursor_only_works_for_its_own_query(
    emu: NotionEmulator, all_ds: str, ds_id: str, client: notion_client.Client
) -> None:
    for n in range(3):
        emu.add_page(all_ds, {"Name": f"r{n}"})
    cursor = client.data_sources.query(all_ds, page_size=1)["next_cursor"]
    with pytest.raises(notion_client.APIResponseError, match="start_cursor"):
        client.data_sources.query(ds_id, start_cursor=cursor)


def test_relation_and_rollup_configs_carry_ids(emu: NotionEmulator, all_ds: str, client: notion_client.Client) -> None:
    props = client.data_sources.retrieve(all_ds)["properties"]
    relation = props["Related"]["relation"]
    assert relation["data_source_id"] == all_ds and relation["type"] == "single_property"
    assert relation["database_id"] == client.data_sources.retrieve(all_ds)["parent"]["database_id"]
    rollup = props["Total"]["rollup"]
    assert rollup["relation_property_id"] == props["Related"]["id"]
    assert rollup["rollup_property_id"] == props["Count"]["id"]


def test_a_deleted_page_leaves_every_relation(emu: NotionEmulator, all_ds: str) -> None:
    a, b = emu.add_page(all_ds, {"Name": "a"}), emu.add_page(all_ds, {"Name": "b"})
    hub = emu.add_page(all_ds, {"Name": "hub", "Related": [a, b]})
    emu.delete_page(a)
    assert emu.page_json(hub)["properties"]["Related"]["relation"] == [{"id": b}]


def test_emails_hidden_without_the_email_capability(emu: NotionEmulator, all_ds: str) -> None:
    page_id = emu.add_page(all_ds, {"Name": "x", "Who": ["ada@example.com"]})
    emu.add_token("ntn_no_email", capabilities={"read_content", "read_user_without_email"})
    emu.share(emu.database_of(all_ds), "ntn_no_email")
    with notion_client.Client(auth="ntn_no_email", base_url=emu.url) as limited:
        who = limited.pages.retrieve(page_id)["properties"]["Who"]
        assert who["people"][0]["person"] == {} and who["people"][0]["name"] == "ada"
        item = limited.pages.properties.retrieve(page_id, who["id"])
        assert item["results"][0]["people"]["person"] == {}
    assert emu.page_json(page_id)["properties"]["Who"]["people"][0]["person"] == {"email": "ada@example.com"}
