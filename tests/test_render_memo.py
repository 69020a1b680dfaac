"""The render memo (issue 18): a full scan renders only the rows edited since their item was last
written or found unchanged, and never trusts what it cannot see.

Against the Notion and Trello (or Google Calendar) emulators, through ``Sandbox.run`` (the engine
with its clock set, as cron would run it later) and the CLI. ``MappingReport.rendered`` counts the
rows rendered; what reaches the target is read from the emulators.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from typer.testing import CliRunner

from notion_sync.core.cli import app
from notion_sync.core.engine import MappingReport, RunReport
from notion_sync.core.plugins import discover
from notion_sync.core.sandbox import Sandbox

runner = CliRunner()
T0 = datetime(2026, 6, 1, 9, 0, 10, tzinfo=UTC)


def sandbox(tmp_path: Path, connector: str = "trello", **keys: Any) -> Sandbox:
    cls = discover().connectors[connector]
    return Sandbox(tmp_path, connectors={connector: cls}, mapping_overrides={connector: keys})


def edited_at_t0(box: Sandbox) -> Sandbox:
    """Every row last edited at T0: the runs come well after that, as cron's would."""
    assert box.database is not None
    box.notion.set_clock(T0)
    for page_id in box.notion.page_ids(box.database.data_source_id):
        box.notion.update_page(page_id, {})
    return box


@pytest.fixture
def box(tmp_path: Path) -> Iterator[Sandbox]:
    with sandbox(tmp_path) as b:
        yield edited_at_t0(b)


def run(box: Sandbox, at: datetime, **options: Any) -> MappingReport:
    report: RunReport = box.run(now=lambda: at, **options)
    (rep,) = report.mappings
    assert rep.status == "ok", rep.summary()
    return rep


def rows(box: Sandbox) -> int:
    assert box.database is not None
    return len(box.notion.page_ids(box.database.data_source_id))


def page(box: Sandbox, title: str) -> str:
    assert box.database is not None
    return box.database.pages[title]


def card_names(box: Sandbox) -> set[str]:
    return {c["name"] for c in box.targets["trello"].emulator.cards() if not c.get("closed")}


def test_a_full_scan_renders_only_the_rows_edited_since_their_card_was_written(box: Sandbox) -> None:
    n = rows(box)
    first = run(box, T0 + timedelta(hours=1))
    assert (first.rendered, first.counts["created"]) == (n, n)

    again = run(box, T0 + timedelta(hours=2), full=True)
    assert again.full_scan and again.rendered == 0
    assert again.counts["unchanged"] == n and again.writes == 0

    title = next(iter(box.database.pages))  # type: ignore[union-attr]
    box.notion.set_clock(T0 + timedelta(hours=2, minutes=30))
    box.notion.update_page(page(box, title), {"Name": "Renamed by hand"})
    edited = run(box, T0 + timedelta(hours=3), full=True)
    assert (edited.rendered, edited.counts["updated"], edited.counts["unchanged"]) == (1, 1, n - 1)
    assert "Renamed by hand" in card_names(box)

    # The update recorded the new version's mark: nothing is rendered the next time.
    assert run(box, T0 + timedelta(hours=4), full=True).rendered == 0


def test_a_second_edit_in_the_minute_of_a_sync_is_not_missed(box: Sandbox) -> None:
    # Notion rounds last_edited_time down to the minute: an edit at 10:00:40 after a sync at
    # 10:00:20 of an edit at 10:00:10 shows the same time. The sync within the minute must not
    # vouch for the row, or the second edit would never reach the card.
    run(box, T0 + timedelta(hours=1))
    target = page(box, next(iter(box.database.pages)))  # type: ignore[union-attr]
    edit_at = T0.replace(hour=10, minute=0, second=10)
    box.notion.set_clock(edit_at)
    box.notion.update_page(target, {"Name": "First edit"})
    within = run(box, edit_at + timedelta(seconds=10))
    assert within.counts["updated"] == 1 and "First edit" in card_names(box)

    box.notion.set_clock(edit_at + timedelta(seconds=30))
    box.notion.update_page(target, {"Name": "Second edit"})
    later = run(box, edit_at + timedelta(minutes=30), full=True)
    assert later.counts["updated"] == 1
    assert "Second edit" in card_names(box) and "First edit" not in card_names(box)


def test_a_changed_mapping_renders_every_row_again(box: Sandbox) -> None:
    n = rows(box)
    run(box, T0 + timedelta(hours=1))
    data = box.config_data()
    data["mappings"][0]["fields"]["name"] = "[{Status}] {Name}"
    box.write_config(data)
    changed = run(box, T0 + timedelta(hours=2))
    assert (changed.rendered, changed.counts["updated"]) == (n, n)
    assert all(name.startswith("[") for name in card_names(box))


def test_a_schema_change_renders_every_row_again_and_writes_only_what_changed(box: Sandbox) -> None:
    n = rows(box)
    run(box, T0 + timedelta(hours=1))
    assert box.database is not None
    box.notion.add_property(box.database.data_source_id, "Effort", {"type": "number"})
    after = run(box, T0 + timedelta(hours=2), full=True)
    assert after.rendered == n and after.writes == 0


def test_an_option_renamed_in_notion_reaches_the_cards_on_the_next_full_scan(box: Sandbox) -> None:
    # Renaming an option edits no page (their last_edited_time stays), yet every row with it
    # shows the new name: the full scan reads the schema, the memo's key changes, rows render.
    n = rows(box)
    run(box, T0 + timedelta(hours=1))
    assert box.database is not None
    tagged = [
        pid
        for pid in box.notion.page_ids(box.database.data_source_id)
        if any(t["name"] == "Docs" for t in box.notion.page_json(pid)["properties"]["Tags"]["multi_select"])
    ]
    assert tagged
    box.notion.rename_option(box.database.data_source_id, "Tags", "Docs", "Documentation")
    assert all(box.notion.page_json(pid)["last_edited_time"].startswith("2026-06-01T09:00") for pid in tagged)
    after = run(box, T0 + timedelta(hours=2), full=True)
    assert after.rendered == n
    assert (after.counts["updated"], after.writes) == (len(tagged), len(tagged))
    trello = box.targets["trello"].emulator
    names = {trello.labels[i]["name"] for c in trello.cards() for i in c["idLabels"]}
    assert "Documentation" in names


def test_a_mapping_that_shows_a_person_renders_every_row(tmp_path: Path) -> None:
    with sandbox(tmp_path, fields={"desc": "{Notes} (owner: {Owner})"}) as b:
        n = rows(edited_at_t0(b))
        run(b, T0 + timedelta(hours=1))
        again = run(b, T0 + timedelta(hours=2), full=True)
        assert again.rendered == n and again.writes == 0


def test_render_all_renders_every_row_from_the_cli(box: Sandbox) -> None:
    n = rows(box)
    run(box, T0 + timedelta(hours=1))

    def json_run(*args: str) -> dict[str, Any]:
        result = runner.invoke(app, ["run", "--full", "--log-format", "json", *args, "--config", str(box.config_path)])
        assert result.exit_code == 0, result.output
        return next(e for e in map(json.loads, result.output.splitlines()) if e.get("event") == "mapping")

    memo = json_run()
    assert (memo["rendered"], memo["unchanged"]) == (0, n)
    everything = json_run("--render-all")
    assert (everything["rendered"], everything["unchanged"], everything["updated"]) == (n, n, 0)


def test_google_renders_every_event_again_when_the_calendar_changes_time_zone(tmp_path: Path) -> None:
    fields = {"summary": "{Name}", "description": "{Notes}", "start": "Due"}
    with sandbox(tmp_path, "google_calendar", fields=fields) as b:
        n = rows(edited_at_t0(b))
        first = run(b, T0 + timedelta(hours=1))
        # A row without a date has no event, so no link to vouch for it: it is rendered every time.
        dateless = first.counts["skipped"]
        assert first.counts["created"] == n - dateless
        assert run(b, T0 + timedelta(hours=2), full=True).rendered == dateless
        google = b.targets["google_calendar"].emulator
        google.calendars[b.targets["google_calendar"].calendar_id].time_zone = "America/New_York"
        moved = run(b, T0 + timedelta(hours=3), full=True)
        assert moved.rendered == n
