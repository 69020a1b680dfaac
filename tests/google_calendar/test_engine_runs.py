"""Whole runs through the real engine, the Notion emulator and the calendar emulator."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from notion_sync.connectors.google_calendar.connector import GoogleCalendarConnector
from notion_sync.connectors.google_calendar.target import DEMO_CALENDAR
from notion_sync.core.sandbox import Sandbox

ROWS: list[dict[str, Any]] = [
    {"Name": "All day", "Due": "2026-03-10"},
    {"Name": "Range", "Due": ("2026-01-03", "2026-01-05")},
    {"Name": "New York call", "Due": "2026-03-08T01:30:00.000-05:00"},  # the night clocks jump in New York
    {"Name": "Across Berlin DST", "Due": ("2026-03-28T22:00:00.000+01:00", "2026-03-29T10:00:00.000+02:00")},
    {"Name": "Backwards", "Due": ("2026-03-10", "2026-03-01")},
    {"Name": "No date", "Due": None},
]


@pytest.fixture
def box(tmp_path: Path) -> Iterator[Sandbox]:
    with Sandbox(tmp_path, connectors={"google_calendar": GoogleCalendarConnector}, rows=ROWS) as sandbox:
        yield sandbox


def calendar(box: Sandbox) -> Any:
    return box.targets["google_calendar"].emulator


def by_name(box: Sandbox) -> dict[str, dict[str, Any]]:
    return {e["summary"]: e for e in calendar(box).events(DEMO_CALENDAR)}


def page(box: Sandbox, name: str) -> str:
    assert box.database is not None
    return box.database.pages[name]


def test_dates_land_right(box: Sandbox) -> None:
    rep = box.run().mappings[0]
    assert (rep.counts["created"], rep.counts["skipped"], rep.counts["failed"]) == (4, 1, 1)
    assert any("before it starts" in f.error for f in rep.errors)
    events = by_name(box)
    assert (events["All day"]["start"], events["All day"]["end"]) == ({"date": "2026-03-10"}, {"date": "2026-03-11"})
    assert events["Range"]["end"] == {"date": "2026-01-06"}
    call = events["New York call"]
    # the calendar's zone, the instant unchanged; Google writes it back in that zone
    assert call["start"]["dateTime"] == "2026-03-08T07:30:00+01:00"
    assert call["start"]["timeZone"] == "Europe/Berlin"
    assert datetime.fromisoformat(call["end"]["dateTime"]) - datetime.fromisoformat(
        call["start"]["dateTime"]
    ) == timedelta(hours=1)
    dst = events["Across Berlin DST"]
    assert datetime.fromisoformat(dst["end"]["dateTime"]) - datetime.fromisoformat(
        dst["start"]["dateTime"]
    ) == timedelta(hours=11)


def test_a_row_that_loses_its_date_loses_its_event(box: Sandbox) -> None:
    box.run()
    box.notion.update_page(page(box, "All day"), {"Due": None})
    rep = box.run().mappings[0]
    assert rep.counts["deleted"] == 1
    assert "All day" not in by_name(box)
    box.notion.update_page(page(box, "All day"), {"Due": "2026-03-12"})
    box.run()
    assert by_name(box)["All day"]["start"] == {"date": "2026-03-12"}
    assert len(calendar(box).events(DEMO_CALENDAR, include_deleted=True)) == 4  # restored, not a new event


def test_under_keep_a_row_that_loses_its_date_still_loses_its_event_and_a_trashed_row_keeps_it(
    box: Sandbox,
) -> None:
    """on_delete = "keep" is for rows that left: a row now skipped (no date) would leave a stale
    event, so it is removed anyway; a trashed row's event stays as it was.

    Catches: the engine's removal mode following on_delete for skipped rows too (keeping the stale
    event of a row that lost its date), or ignoring "keep" for a row that was trashed."""
    data = box.config_data()
    data["mappings"][0]["on_delete"] = "keep"
    box.write_config(data)
    box.run()
    kept = by_name(box)["Range"]
    box.notion.update_page(page(box, "All day"), {"Due": None})
    box.notion.trash_page(page(box, "Range"))
    rep = box.run(full=True).mappings[0]
    assert rep.status == "ok", rep.error
    assert rep.counts["deleted"] == 1, rep.counts
    events = by_name(box)
    assert "All day" not in events, "the event of a row that lost its date was kept under on_delete = 'keep'"
    assert events["Range"] == kept


def test_fixing_a_backwards_range_creates_its_event(box: Sandbox) -> None:
    box.run()
    box.notion.update_page(page(box, "Backwards"), {"Due": ("2026-03-01", "2026-03-10")})
    rep = box.run().mappings[0]
    assert rep.counts["created"] == 1 and rep.counts["failed"] == 0
    assert by_name(box)["Backwards"]["end"] == {"date": "2026-03-11"}


def test_trash_and_restore_brings_back_the_same_event(box: Sandbox) -> None:
    box.run()
    pid = page(box, "Range")
    before = {e["id"] for e in calendar(box).events(DEMO_CALENDAR)}
    box.notion.trash_page(pid)
    box.run(full=True)
    assert "Range" not in by_name(box)
    box.notion.restore_page(pid)
    box.run(full=True)
    assert {e["id"] for e in calendar(box).events(DEMO_CALENDAR)} == before


def test_many_rows_go_out_in_batches_of_a_page(tmp_path: Path) -> None:
    rows = [{"Name": f"Task {i}", "Due": f"2026-05-{i % 28 + 1:02d}"} for i in range(160)]
    with Sandbox(tmp_path, connectors={"google_calendar": GoogleCalendarConnector}, rows=rows) as box:
        emulator = calendar(box)
        rep = box.run().mappings[0]
        assert rep.counts["created"] == 160
        assert emulator.server.request_count(r"^POST /batch/calendar/v3$") == 2  # 100 + 60: a page each
        assert emulator.server.request_count(r"^POST /calendar/v3/calendars/[^/]+/events$") == 160
        emulator.faults.rate_limit_prob = 0.2
        for i in range(0, 60, 2):
            box.notion.update_page(box.database.pages[f"Task {i}"], {"Name": f"Task {i} (moved)"})  # type: ignore[union-attr]
        rep = box.run().mappings[0]
        emulator.faults.clear()
        assert rep.counts["updated"] + rep.counts["failed"] == 30
        box.run()
        names = sorted(e["summary"] for e in emulator.events(DEMO_CALENDAR))
        assert len(names) == 160 and sum(n.endswith("(moved)") for n in names) == 30
