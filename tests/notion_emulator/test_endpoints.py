"""Every endpoint of the emulator, driven through the real notion-client."""

from __future__ import annotations

import re

import notion_client
from notion_client.helpers import collect_paginated_api

from notion_sync.core.emulator.notion import Database, NotionEmulator

UUID = re.compile(r"^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$")


def test_users_me_is_the_bot_of_the_token(emu: NotionEmulator, client: notion_client.Client) -> None:
    me = client.users.me()
    assert me["object"] == "user" and me["type"] == "bot"
    assert me["id"] == emu.bot_id and me["name"] == "notion-sync demo"
    assert me["bot"]["owner"] == {"type": "workspace", "workspace": True}
    assert me["bot"]["workspace_name"] == "Demo workspace"
    assert UUID.match(me["bot"]["workspace_id"]) and UUID.match(me["request_id"])


def test_a_second_token_has_its_own_bot(emu: NotionEmulator) -> None:
    bot = emu.add_token("ntn_other", bot_name="Other bot", workspace_name="Elsewhere")
    with notion_client.Client(auth="ntn_other", base_url=emu.url) as other:
        me = other.users.me()
    assert me["id"] == bot and me["name"] == "Other bot" and me["bot"]["workspace_name"] == "Elsewhere"


def test_database_retrieve_by_dashed_and_undashed_id(demo: Database, client: notion_client.Client) -> None:
    dashed = client.databases.retrieve(demo.id)
    undashed = client.databases.retrieve(demo.id.replace("-", ""))
    assert dashed["id"] == undashed["id"] == demo.id
    assert dashed["object"] == "database"
    assert dashed["data_sources"] == [{"id": demo.data_sources[0].id, "name": "Demo tasks"}]
    assert dashed["title"][0]["plain_text"] == "Demo tasks"
    assert dashed["url"] == demo.url == "https://app.notion.com/p/" + demo.id.replace("-", "")
    assert dashed["created_time"] == "2026-07-04T09:09:44.123+00:00"  # databases keep milliseconds
    assert dashed["in_trash"] is False and dashed["archived"] is False


def test_database_with_two_data_sources(emu: NotionEmulator, client: notion_client.Client) -> None:
    db = emu.create_database("Projects", {"Name": {"type": "title"}}, data_sources=["Active", "Archive"])
    extra = emu.add_data_source(db.id, "Ideas")
    listed = client.databases.retrieve(db.id)["data_sources"]
    assert [d["name"] for d in listed] == ["Active", "Archive", "Ideas"]
    assert listed[2]["id"] == extra
    assert emu.database(db.id).data_sources[2].id == extra


def test_data_source_retrieve_has_schema_with_options_and_groups(
    demo: Database, ds_id: str, client: notion_client.Client
) -> None:
    ds = client.data_sources.retrieve(ds_id)
    assert ds["object"] == "data_source" and ds["id"] == ds_id
    assert ds["parent"] == {"type": "database_id", "database_id": demo.id}
    assert ds["title"][0]["plain_text"] == "Demo tasks"
    props = ds["properties"]
    assert props["Name"] == {"id": "title", "name": "Name", "description": None, "type": "title", "title": {}}
    status = props["Status"]["status"]
    assert [o["name"] for o in status["options"]] == ["Not started", "In progress", "Done"]
    groups = {g["name"]: g["option_ids"] for g in status["groups"]}
    done_id = status["options"][2]["id"]
    assert groups == {
        "To-do": [status["options"][0]["id"]],
        "In progress": [status["options"][1]["id"]],
        "Complete": [done_id],
    }
    assert props["Tags"]["multi_select"]["options"][0] == {
        "id": props["Tags"]["multi_select"]["options"][0]["id"],
        "name": "Bug",
        "color": "red",
        "description": None,
    }
    assert props["Estimate"]["number"] == {"format": "number"}
    assert all(p["name"] == name for name, p in props.items())


def test_page_retrieve_shape(emu: NotionEmulator, demo: Database, ds_id: str, client: notion_client.Client) -> None:
    page_id = emu.add_page(ds_id, {"Name": "Write the docs", "Status": "In progress"})
    page = client.pages.retrieve(page_id)
    assert page["object"] == "page" and page["id"] == page_id
    assert page["created_time"] == page["last_edited_time"] == "2026-07-04T09:09:00.000Z"
    assert page["parent"] == {"type": "data_source_id", "data_source_id": ds_id, "database_id": demo.id}
    assert page["url"] == "https://app.notion.com/p/Write-the-docs-" + page_id.replace("-", "")
    assert page["in_trash"] is False and page["archived"] is False and page["is_locked"] is False
    assert page["properties"]["Status"]["status"]["name"] == "In progress"
    assert page == {**emu.page_json(page_id), "request_id": page["request_id"]}


def test_page_retrieve_with_filter_properties(emu: NotionEmulator, ds_id: str, client: notion_client.Client) -> None:
    page_id = emu.add_page(ds_id, {"Name": "x", "Urgent": True})
    urgent_id = emu.schema(ds_id)["Urgent"]["id"]
    page = client.pages.retrieve(page_id, filter_properties=[urgent_id, "title"])
    assert set(page["properties"]) == {"Urgent", "Name"}


def test_property_item_single_value(emu: NotionEmulator, ds_id: str, client: notion_client.Client) -> None:
    page_id = emu.add_page(ds_id, {"Name": "x", "Priority": "High", "Estimate": 3})
    schema = emu.schema(ds_id)
    item = client.pages.properties.retrieve(page_id, schema["Priority"]["id"])
    assert item["object"] == "property_item" and item["type"] == "select"
    assert item["select"]["name"] == "High" and item["id"] == schema["Priority"]["id"]
    assert client.pages.properties.retrieve(page_id, schema["Estimate"]["id"])["number"] == 3


def test_property_item_title_is_a_list(emu: NotionEmulator, ds_id: str, client: notion_client.Client) -> None:
    page_id = emu.add_page(ds_id, {"Name": "y" * 4500})
    listing = client.pages.properties.retrieve(page_id, "title")
    assert listing["object"] == "list" and listing["type"] == "property_item"
    assert listing["property_item"] == {"id": "title", "next_url": None, "type": "title", "title": {}}
    assert [len(r["title"]["plain_text"]) for r in listing["results"]] == [2000, 2000, 500]


def test_search_lists_data_sources_and_pages(
    emu: NotionEmulator, demo: Database, ds_id: str, client: notion_client.Client
) -> None:
    emu.add_page(ds_id, {"Name": "Alpha"})
    emu.advance(minutes=1)
    emu.add_page(ds_id, {"Name": "Beta"})
    hidden = emu.create_database("Secret", {"Name": {"type": "title"}}, shared_with=[])
    emu.add_page(hidden.data_sources[0].id, {"Name": "Gamma"})
    sources = client.search(filter={"property": "object", "value": "data_source"})["results"]
    assert [s["id"] for s in sources] == [ds_id]
    pages = client.search(filter={"property": "object", "value": "page"})["results"]
    assert [p["properties"]["Name"]["title"][0]["plain_text"] for p in pages] == ["Beta", "Alpha"]
    ascending = client.search(
        filter={"property": "object", "value": "page"}, sort={"direction": "ascending", "timestamp": "last_edited_time"}
    )["results"]
    assert [p["properties"]["Name"]["title"][0]["plain_text"] for p in ascending] == ["Alpha", "Beta"]
    assert [r["object"] for r in client.search(query="alp")["results"]] == ["page"]


def test_search_paginates(emu: NotionEmulator, ds_id: str, client: notion_client.Client) -> None:
    for n in range(7):
        emu.add_page(ds_id, {"Name": f"Row {n}"})
    first = client.search(filter={"property": "object", "value": "page"}, page_size=3)
    assert first["has_more"] is True and len(first["results"]) == 3
    everything = collect_paginated_api(client.search, filter={"property": "object", "value": "page"}, page_size=3)
    assert len({p["id"] for p in everything}) == 7


def test_patch_page_trashes_and_restores(emu: NotionEmulator, ds_id: str, client: notion_client.Client) -> None:
    page_id = emu.add_page(ds_id, {"Name": "x"})
    assert client.pages.update(page_id, in_trash=True)["in_trash"] is True
    assert client.data_sources.query(ds_id)["results"] == []
    restored = client.pages.update(page_id, archived=False)
    assert restored["in_trash"] is False and restored["archived"] is False
    assert len(client.data_sources.query(ds_id)["results"]) == 1
