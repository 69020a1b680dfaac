"""Creating and updating rows through the API (``POST /v1/pages``, ``PATCH /v1/pages/{id}``)."""

from __future__ import annotations

import notion_client
import pytest
from notion_client import APIErrorCode, APIResponseError

from notion_sync.core.emulator.notion import Database, NotionEmulator


def test_create_a_row_with_request_shaped_values(
    emu: NotionEmulator, demo: Database, ds_id: str, client: notion_client.Client
) -> None:
    owner = emu.add_user("Ada", "ada@example.com")
    page = client.pages.create(
        parent={"data_source_id": ds_id},
        properties={
            "Name": {"title": [{"text": {"content": "From the API"}}]},
            "Status": {"status": {"name": "In progress"}},
            "Tags": {"multi_select": [{"name": "Bug"}, {"name": "Brand new"}]},
            "Due": {"date": {"start": "2026-03-01T09:00:00+01:00"}},
            "Owner": {"people": [{"object": "user", "id": owner}]},
            "Priority": {"select": None},
            "Urgent": {"checkbox": True},
            "Estimate": {"number": 2},
            "Notes": {"rich_text": [{"type": "text", "text": {"content": "line", "link": {"url": "https://x.org"}}}]},
        },
        icon={"type": "emoji", "emoji": "🚀"},
    )
    props = page["properties"]
    assert page["parent"] == {"type": "data_source_id", "data_source_id": ds_id, "database_id": demo.id}
    assert props["Name"]["title"][0]["plain_text"] == "From the API"
    assert props["Status"]["status"]["name"] == "In progress"
    assert [t["name"] for t in props["Tags"]["multi_select"]] == ["Bug", "Brand new"]
    assert props["Due"]["date"]["start"] == "2026-03-01T09:00:00.000+01:00"
    assert props["Owner"]["people"][0]["id"] == owner and props["Priority"]["select"] is None
    assert props["Notes"]["rich_text"][0]["href"] == "https://x.org"
    assert page["created_by"]["id"] == emu.bot_id and page["icon"] == {"type": "emoji", "emoji": "🚀"}
    assert client.data_sources.query(ds_id)["results"][0]["id"] == page["id"]


def test_create_under_a_single_source_database_id(demo: Database, client: notion_client.Client) -> None:
    page = client.pages.create(
        parent={"type": "database_id", "database_id": demo.id},
        properties={"Name": {"title": [{"text": {"content": "x"}}]}},
    )
    assert page["parent"]["data_source_id"] == demo.data_sources[0].id


def test_update_properties_and_trash(emu: NotionEmulator, ds_id: str, client: notion_client.Client) -> None:
    page_id = emu.add_page(ds_id, {"Name": "before", "Status": "Not started", "Tags": ["Bug"]})
    emu.advance(minutes=2)
    status_options = client.data_sources.retrieve(ds_id)["properties"]["Status"]["status"]["options"]
    done_id = next(o["id"] for o in status_options if o["name"] == "Done")
    page = client.pages.update(
        page_id, properties={"Status": {"status": {"id": done_id}}, "Tags": {"multi_select": []}}
    )
    assert page["properties"]["Status"]["status"]["name"] == "Done"
    assert page["properties"]["Tags"]["multi_select"] == []
    assert page["properties"]["Name"]["title"][0]["plain_text"] == "before"  # untouched
    assert page["last_edited_time"] == "2026-07-04T09:11:00.000Z" and page["last_edited_by"]["id"] == emu.bot_id
    assert client.pages.update(page_id, in_trash=True)["in_trash"] is True


@pytest.mark.parametrize(
    ("properties", "fragment"),
    [
        ({"Nope": {"number": 1}}, "Nope is not a property that exists."),
        ({"Status": {"status": {"name": "Blocked"}}}, "no status option 'Blocked'"),
        ({"Estimate": {"number": "three"}}, "number"),
        ({"Estimate": {"select": {"name": "x"}}}, "body.properties.Estimate.number should be defined"),
        ({"Owner": {"people": [{"object": "user", "id": "00000000-0000-0000-0000-000000000000"}]}}, "no user"),
    ],
)
def test_bad_writes_are_validation_errors_and_change_nothing(
    emu: NotionEmulator, ds_id: str, client: notion_client.Client, properties: dict[str, object], fragment: str
) -> None:
    page_id = emu.add_page(ds_id, {"Name": "keep", "Estimate": 1})
    before = emu.page_json(page_id)
    with pytest.raises(APIResponseError) as caught:
        client.pages.update(page_id, properties={"Name": {"title": [{"text": {"content": "changed"}}]}, **properties})
    assert caught.value.code == APIErrorCode.ValidationError and fragment in str(caught.value)
    assert emu.page_json(page_id) == before


def test_computed_properties_cannot_be_written(emu: NotionEmulator, client: notion_client.Client) -> None:
    ds = emu.create_database("C", {"Name": {"type": "title"}, "F": {"type": "formula"}}).data_sources[0].id
    with pytest.raises(APIResponseError, match="formula property"):
        client.pages.create(parent={"data_source_id": ds}, properties={"F": {"formula": {"string": "x"}}})


def test_writes_need_their_capabilities(emu: NotionEmulator, demo: Database, ds_id: str) -> None:
    page_id = emu.add_page(ds_id, {"Name": "x"})
    emu.add_token("ntn_reader", capabilities={"read_content"})
    emu.share(demo.id, "ntn_reader")
    with notion_client.Client(auth="ntn_reader", base_url=emu.url) as reader:
        for call in (
            lambda: reader.pages.update(page_id, in_trash=True),
            lambda: reader.pages.create(parent={"data_source_id": ds_id}, properties={}),
        ):
            with pytest.raises(APIResponseError) as caught:
                call()
            assert caught.value.code == APIErrorCode.RestrictedResource


def test_create_in_an_unshared_data_source_is_404(emu: NotionEmulator, client: notion_client.Client) -> None:
    hidden = emu.create_database("Hidden", {"Name": {"type": "title"}}, shared_with=[]).data_sources[0].id
    with pytest.raises(APIResponseError) as caught:
        client.pages.create(parent={"data_source_id": hidden}, properties={})
    assert caught.value.code == APIErrorCode.ObjectNotFound
