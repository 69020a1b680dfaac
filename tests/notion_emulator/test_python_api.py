"""The emulator's Python API: clock, schema changes, page lifecycle, input checks."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import notion_client
import pytest
from notion_client import APIResponseError

from notion_sync.core.emulator.notion import Database, NotionEmulator

from .conftest import START


def test_the_clock_is_real_unless_frozen(emu: NotionEmulator) -> None:
    assert emu.now() == START
    emu.advance(minutes=5, seconds=3)
    assert emu.now() == START + timedelta(minutes=5, seconds=3)
    emu.set_clock(None)
    assert abs(emu.now() - datetime.now(UTC)) < timedelta(seconds=5)
    emu.set_clock(datetime(2030, 1, 1, 12, 0))  # naive means UTC
    assert emu.now() == datetime(2030, 1, 1, 12, 0, tzinfo=UTC)


def test_created_time_can_be_given(emu: NotionEmulator, all_types_db: str) -> None:
    page_id = emu.add_page(all_types_db, {"Name": "old", "Created": "2025-01-02T03:04:59Z"})
    page = emu.page_json(page_id)
    assert page["created_time"] == "2025-01-02T03:04:00.000Z"
    assert page["properties"]["Created"]["created_time"] == "2025-01-02T03:04:00.000Z"


@pytest.fixture
def all_types_db(emu: NotionEmulator) -> str:
    return (
        emu.create_database(
            "T", {"Name": {"type": "title"}, "Created": {"type": "created_time"}, "Status": {"type": "status"}}
        )
        .data_sources[0]
        .id
    )


def test_rename_keeps_the_id_and_values(emu: NotionEmulator, ds_id: str, client: notion_client.Client) -> None:
    page_id = emu.add_page(ds_id, {"Name": "x", "Priority": "High"})
    old_id = emu.schema(ds_id)["Priority"]["id"]
    emu.rename_property(ds_id, "Priority", "Importance")
    schema = client.data_sources.retrieve(ds_id)["properties"]
    assert "Priority" not in schema and schema["Importance"]["id"] == old_id
    assert schema["Importance"]["name"] == "Importance"
    page = client.pages.retrieve(page_id)
    assert page["properties"]["Importance"]["select"]["name"] == "High"
    hits = client.data_sources.query(ds_id, filter={"property": "Importance", "select": {"equals": "High"}})
    assert [r["id"] for r in hits["results"]] == [page_id]
    with pytest.raises(APIResponseError, match="Could not find property with name or id: Priority"):
        client.data_sources.query(ds_id, filter={"property": "Priority", "select": {"equals": "High"}})


def test_rename_option_shows_on_every_page_without_editing_it(
    emu: NotionEmulator, ds_id: str, client: notion_client.Client
) -> None:
    page_id = emu.add_page(ds_id, {"Name": "x", "Priority": "High", "Tags": ["Bug", "Docs"]})
    edited = client.pages.retrieve(page_id)["last_edited_time"]
    emu.advance(minutes=5)
    emu.rename_option(ds_id, "Priority", "High", "Urgent!")
    emu.rename_option(ds_id, "Tags", "Docs", "Documentation")
    page = client.pages.retrieve(page_id)
    assert page["properties"]["Priority"]["select"]["name"] == "Urgent!"
    assert [t["name"] for t in page["properties"]["Tags"]["multi_select"]] == ["Bug", "Documentation"]
    assert page["last_edited_time"] == edited
    options = client.data_sources.retrieve(ds_id)["properties"]["Priority"]["select"]["options"]
    assert "Urgent!" in [o["name"] for o in options] and "High" not in [o["name"] for o in options]
    with pytest.raises(ValueError, match="has an option 'Bug' already"):
        emu.rename_option(ds_id, "Tags", "Documentation", "Bug")
    with pytest.raises(ValueError, match="only select, multi_select and status"):
        emu.rename_option(ds_id, "Name", "x", "y")


def test_remove_property(emu: NotionEmulator, ds_id: str, client: notion_client.Client) -> None:
    page_id = emu.add_page(ds_id, {"Name": "x", "Urgent": True})
    emu.remove_property(ds_id, "Urgent")
    assert "Urgent" not in client.data_sources.retrieve(ds_id)["properties"]
    assert "Urgent" not in client.pages.retrieve(page_id)["properties"]
    with pytest.raises(ValueError, match="title"):
        emu.remove_property(ds_id, "Name")


def test_add_data_source_copies_the_schema(emu: NotionEmulator, demo: Database, client: notion_client.Client) -> None:
    second = emu.add_data_source(demo.id, "Second")
    first_schema = client.data_sources.retrieve(demo.data_sources[0].id)["properties"]
    second_schema = client.data_sources.retrieve(second)["properties"]
    assert list(second_schema) == list(first_schema)
    assert [o["name"] for o in second_schema["Status"]["status"]["options"]] == ["Not started", "In progress", "Done"]
    assert {g["name"] for g in second_schema["Status"]["status"]["groups"] if g["option_ids"]} == {
        "To-do",
        "In progress",
        "Complete",
    }
    emu.add_page(second, {"Name": "x", "Status": "Done"})


def test_explicit_ids_and_undashed_input(emu: NotionEmulator, client: notion_client.Client) -> None:
    db = emu.create_database("Fixed", {"Name": {"type": "title"}}, database_id="0123456789abcdef0123456789abcdef")
    assert db.id == "01234567-89ab-cdef-0123-456789abcdef"
    page_id = emu.add_page(
        db.data_sources[0].id.replace("-", ""), {"Name": "p"}, page_id="fedcba98-7654-3210-fedc-ba9876543210"
    )
    assert client.pages.retrieve(page_id.replace("-", ""))["id"] == page_id
    with pytest.raises(ValueError):
        emu.add_page(db.data_sources[0].id, {"Name": "again"}, page_id=page_id)


def test_bad_python_values_fail_loudly(emu: NotionEmulator, ds_id: str) -> None:
    with pytest.raises(KeyError, match="no property 'Nope'"):
        emu.add_page(ds_id, {"Nope": 1})
    with pytest.raises(ValueError, match="no status option 'Blocked'"):
        emu.add_page(ds_id, {"Status": "Blocked"})
    with pytest.raises(ValueError, match="number"):
        emu.add_page(ds_id, {"Estimate": "three"})
    with pytest.raises(ValueError, match="title"):
        emu.create_database("No title", {"Text": {"type": "rich_text"}})


def test_unknown_select_names_become_options(emu: NotionEmulator, ds_id: str, client: notion_client.Client) -> None:
    emu.add_page(ds_id, {"Name": "x", "Priority": "Critical", "Tags": ["Bug", "Ops"]})
    schema = client.data_sources.retrieve(ds_id)["properties"]
    assert [o["name"] for o in schema["Priority"]["select"]["options"]][-1] == "Critical"
    assert [o["name"] for o in schema["Tags"]["multi_select"]["options"]][-1] == "Ops"


def test_dates_in_every_input_form(emu: NotionEmulator, ds_id: str) -> None:
    def due(value: object) -> object:
        return emu.page_json(emu.add_page(ds_id, {"Due": value}))["properties"]["Due"]["date"]

    assert due("2026-03-01") == {"start": "2026-03-01", "end": None, "time_zone": None}
    assert due("2026-03-01T09:00:00Z")["start"] == "2026-03-01T09:00:00.000+00:00"
    assert due(datetime(2026, 3, 1, 9, 0, tzinfo=UTC))["start"] == "2026-03-01T09:00:00.000+00:00"
    assert due(("2026-03-01", "2026-03-03"))["end"] == "2026-03-03"
    assert due({"start": "2026-07-01T09:00:00", "time_zone": "Europe/Paris"})["start"] == (
        "2026-07-01T09:00:00.000+02:00"
    )
    assert due(None) is None


def test_update_and_delete(emu: NotionEmulator, ds_id: str, client: notion_client.Client) -> None:
    page_id = emu.add_page(ds_id, {"Name": "before", "Tags": ["Bug"]})
    emu.update_page(page_id, {"Name": "after", "Tags": []})
    props = client.pages.retrieve(page_id)["properties"]
    assert props["Name"]["title"][0]["plain_text"] == "after" and props["Tags"]["multi_select"] == []
    assert client.pages.retrieve(page_id)["url"].startswith("https://app.notion.com/p/after-")
    emu.delete_page(page_id)
    assert emu.page_ids(ds_id, include_trashed=True) == []


def test_reset_forgets_everything(emu: NotionEmulator, demo: Database, client: notion_client.Client) -> None:
    emu.query_cap = 3
    emu.server.faults.schedule(503)
    emu.reset()
    assert emu.query_cap == 10_000 and emu.server.faults.scheduled == []
    with pytest.raises(APIResponseError):
        client.databases.retrieve(demo.id)


def test_emulators_are_deterministic_for_a_seed() -> None:
    first, second = NotionEmulator(seed=3), NotionEmulator(seed=3)
    ids = [e.create_database("D", {"Name": {"type": "title"}}).id for e in (first, second)]
    assert ids[0] == ids[1] and first.bot_id == second.bot_id
    assert NotionEmulator(seed=4).bot_id != first.bot_id


def test_add_pages_and_database_of(emu: NotionEmulator, demo: Database, ds_id: str) -> None:
    ids = emu.add_pages(ds_id, ({"Name": f"r{n}"} for n in range(3)))
    assert emu.page_ids(ds_id) == ids
    assert emu.database_of(ds_id) == demo.id
