"""Two-way for chosen fields (write_back), through the CLI against the emulators.

A card moved in Trello or an event moved in Google Calendar updates its Notion row; the next
run writes nothing anywhere; conflicts follow ``conflict``; a lost sync token (410), a missing
capability (403), a SIGKILL between the Notion write and its record, and a dry run.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
from collections.abc import Iterator
from datetime import date, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from typer.testing import CliRunner

from notion_sync.core.cli import app
from notion_sync.core.plugins import discover
from notion_sync.core.sandbox import Sandbox
from notion_sync.core.state import StateStore

REPO = Path(__file__).resolve().parents[1]
runner = CliRunner()


def cli(box: Sandbox, *args: str) -> Any:
    return runner.invoke(app, [*args, "--config", str(box.config_path)], catch_exceptions=False)


def sandbox(tmp_path: Path, connector: str, **keys: Any) -> Sandbox:
    cls = discover().connectors[connector]
    return Sandbox(tmp_path, connectors={connector: cls}, mapping_overrides={connector: keys})


@pytest.fixture
def board(tmp_path: Path) -> Iterator[Sandbox]:
    with sandbox(tmp_path, "trello", write_back=["list", "due"]) as box:
        yield box


def notion_patches(box: Sandbox) -> int:
    return sum(n for key, n in box.notion.requests.items() if key.startswith("PATCH /v1/pages/"))


def target_writes(box: Sandbox) -> int:
    (target,) = box.targets.values()
    return sum(n for key, n in target.emulator.requests.items() if not key.startswith(("GET", "/_emulator")))


def status(box: Sandbox, page_id: str) -> str:
    return str(box.notion.page_json(page_id)["properties"]["Status"]["status"]["name"])


def due(box: Sandbox, page_id: str) -> dict[str, Any]:
    value: dict[str, Any] = box.notion.page_json(page_id)["properties"]["Due"]["date"]
    return value


def card_of(box: Sandbox, title: str) -> dict[str, Any]:
    emulator = box.targets["trello"].emulator
    return next(c for c in emulator.cards() if c["name"] == title)


def page_of(box: Sandbox, title: str) -> str:
    assert box.database is not None
    return box.database.pages[title]


def synced(box: Sandbox) -> None:
    result = cli(box, "run")
    assert result.exit_code == 0, result.output


def assert_quiet_next_run(box: Sandbox) -> None:
    """The run after a write-back writes nothing: to Notion, and to the target."""
    patches, writes = notion_patches(box), target_writes(box)
    result = cli(box, "run")
    assert result.exit_code == 0, result.output
    assert "0 created, 0 updated, 0 deleted" in result.output and "written back" not in result.output
    assert (notion_patches(box), target_writes(box)) == (patches, writes)


# -- Trello ------------------------------------------------------------------------------
def test_a_card_moved_to_another_list_updates_the_rows_status_and_the_next_run_writes_nothing(board: Sandbox) -> None:
    synced(board)
    title = "Ship the release notes"
    assert status(board, page_of(board, title)) == "In progress"
    board.targets["trello"].emulator.move_card(card_of(board, title)["id"], "Done")

    result = cli(board, "run")
    assert result.exit_code == 0, result.output
    assert "1 written back" in result.output
    assert status(board, page_of(board, title)) == "Done"
    assert notion_patches(board) == 1
    assert_quiet_next_run(board)
    history = cli(board, "history", "--log-format", "json")
    lines = [json.loads(x) for x in history.output.splitlines() if x.startswith("{")]
    (written,) = [x for x in lines if x["action"] == "written back"]
    assert written["detail"] == "Status: In progress → Done" and written["title"] == title


def test_a_card_given_another_due_date_keeps_the_row_date_only(board: Sandbox) -> None:
    synced(board)
    title = "Ship the release notes"
    page = page_of(board, title)
    before = due(board, page)
    assert len(before["start"]) == 10 and before["end"] is None
    later = date.fromisoformat(before["start"]) + timedelta(days=3)
    card = card_of(board, title)
    moved = datetime.fromisoformat(card["due"].replace("Z", "+00:00")) + timedelta(days=3)
    board.targets["trello"].emulator.edit_card(card["id"], {"due": moved.isoformat()})

    result = cli(board, "run")
    assert result.exit_code == 0, result.output
    assert due(board, page) == {"start": later.isoformat(), "end": None, "time_zone": None}
    assert_quiet_next_run(board)


def test_the_dry_run_shows_the_write_back_and_writes_nothing(board: Sandbox) -> None:
    synced(board)
    title = "Ship the release notes"
    board.targets["trello"].emulator.move_card(card_of(board, title)["id"], "Done")

    result = cli(board, "run", "--dry-run")
    assert result.exit_code == 0, result.output
    assert "← Notion  Status: In progress → Done" in result.output
    assert "1 written back" in result.output
    assert status(board, page_of(board, title)) == "In progress" and notion_patches(board) == 0
    result = cli(board, "run")
    assert "1 written back" in result.output and status(board, page_of(board, title)) == "Done"


@pytest.mark.parametrize(
    ("policy", "target_later", "winner"),
    [("notion", True, "notion"), ("target", False, "target"), ("newest", True, "target"), ("newest", False, "notion")],
)
def test_a_field_changed_on_both_sides_is_a_conflict_that_the_policy_settles(
    tmp_path: Path, policy: str, target_later: bool, winner: str
) -> None:
    with sandbox(tmp_path, "trello", write_back=["list"], conflict=policy) as box:
        synced(box)
        title = "Ship the release notes"
        page = page_of(box, title)
        trello = box.targets["trello"].emulator
        box.notion.update_page(page, {"Status": "Not started"})
        # The card's own time of change: well after Notion's edit, or well before it.
        trello.set_clock(box.notion.now() + timedelta(minutes=10 if target_later else -10))
        trello.move_card(card_of(box, title)["id"], "Done")

        result = cli(box, "run")
        assert result.exit_code == 0, result.output
        assert "1 conflict" in result.output
        card_list = trello.list_name(card_of(box, title)["idList"])
        if winner == "notion":
            assert status(box, page) == "Not started" and card_list == "To do"
            assert notion_patches(box) == 0
        else:
            assert status(box, page) == "Done" and card_list == "Done"
            assert notion_patches(box) == 1
        history = cli(box, "history", "--log-format", "json")
        lines = [json.loads(x) for x in history.output.splitlines() if x.startswith("{")]
        (conflict,) = [x for x in lines if x["action"] == "conflict"]
        assert "'To do'" in conflict["detail"] and "'Done'" in conflict["detail"]
        assert_quiet_next_run(box)


def test_without_update_content_write_back_stops_and_the_one_way_sync_goes_on(board: Sandbox) -> None:
    synced(board)
    board.notion.set_capabilities({"read_content", "insert_content"})
    board.targets["trello"].emulator.move_card(card_of(board, "Ship the release notes")["id"], "Done")
    board.notion.update_page(page_of(board, "Fix login timeout"), {"Name": "Fix the login timeout"})

    result = cli(board, "run")
    assert result.exit_code == 3, result.output
    assert "enable Update content on the integration's page" in result.output
    assert status(board, page_of(board, "Ship the release notes")) == "In progress"
    assert card_of(board, "Fix the login timeout")  # the one-way sync went on

    board.notion.set_capabilities({"read_content", "insert_content", "update_content"})
    result = cli(board, "run")
    assert result.exit_code == 0 and "1 written back" in result.output, result.output
    assert status(board, page_of(board, "Ship the release notes")) == "Done"


def test_audit_and_check_name_the_update_content_capability(board: Sandbox) -> None:
    audit = cli(board, "audit")
    assert "Update content" in audit.output, audit.output
    check = cli(board, "check")
    assert "write-back" in check.output and "Update content" in check.output, check.output


KILLER = """
import os, signal, sys
from notion_sync.core.notion_source import NotionSource
from notion_sync.core.state import StateStore
def killed(*args, **kwargs):
    os.kill(os.getpid(), signal.SIGKILL)
if sys.argv[2] == "before":
    NotionSource.update_page = killed
else:
    StateStore.record_write_back = killed
from notion_sync.core.cli import main
sys.argv = ["notion-sync", "run", "--quiet", "--config", sys.argv[1]]
main()
"""


def run_killed(box: Sandbox, when: str) -> None:
    env = {**os.environ, "PYTHONPATH": str(REPO) + os.pathsep + os.environ.get("PYTHONPATH", "")}
    proc = subprocess.run(
        [sys.executable, "-c", KILLER, str(box.config_path), when],
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert proc.returncode == -signal.SIGKILL, proc.stderr


@pytest.mark.parametrize("when", ["after", "before"])
def test_a_sigkill_around_the_notion_write_neither_repeats_nor_loses_it(board: Sandbox, when: str) -> None:
    """Killed after Notion took the write and before its record (``after``), or after the intent
    and before the write went out (``before``): the next run ends with exactly one write."""
    synced(board)
    title = "Ship the release notes"
    page = page_of(board, title)
    board.targets["trello"].emulator.move_card(card_of(board, title)["id"], "Done")
    run_killed(board, when)
    sent = 1 if when == "after" else 0
    assert notion_patches(board) == sent
    assert status(board, page) == ("Done" if sent else "In progress")
    state = StateStore.open(board.state_path, readonly=True)
    assert page in state.write_back_intents(board.mapping_name("trello"))
    state.close()

    result = cli(board, "run")
    assert result.exit_code == 0, result.output
    assert notion_patches(board) == 1, "the write-back was repeated, or lost"
    assert status(board, page) == "Done"
    state = StateStore.open(board.state_path, readonly=True)
    assert not state.write_back_intents(board.mapping_name("trello"))
    recorded = [r for r in state.history(board.mapping_name("trello")) if r["action"] == "written back"]
    state.close()
    assert len(recorded) == 1 and "Status: In progress → Done" in recorded[0]["detail"]
    assert_quiet_next_run(board)


# -- configuration -------------------------------------------------------------------------
@pytest.mark.parametrize(
    ("connector", "keys", "named", "reason"),
    [
        ("trello", {"write_back": ["labels"]}, "write_back", "cannot flow back"),
        ("trello", {"write_back": ["name"], "fields": {"name": "{Name} ({Status})"}}, "fields.name", "exactly one"),
        (
            "trello",
            {"write_back": ["list"], "lists": {"Not started": "To do", "In progress": "Doing", "Done": "Doing"}},
            "lists",
            "no single option",
        ),
        ("google_calendar", {"write_back": ["summary"], "fields": {"summary": "Task: {Name}"}}, "fields.summary", ""),
        ("slack", {"write_back": ["text"]}, "write_back", "one-way"),
    ],
)
def test_an_impossible_write_back_exits_2_naming_the_key(
    tmp_path: Path, connector: str, keys: dict[str, Any], named: str, reason: str
) -> None:
    with sandbox(tmp_path, connector) as box:
        data = box.config_data()
        mapping = data["mappings"][0]
        for key, value in keys.items():
            mapping[key] = {**mapping[key], **value} if isinstance(value, dict) and key in mapping else value
        box.write_config(data)
        result = cli(box, "run")
        assert result.exit_code == 2, result.output
        assert named in result.output and reason in result.output
        assert "Traceback" not in result.output


def test_a_computed_property_cannot_take_a_write_back(tmp_path: Path) -> None:
    with sandbox(tmp_path, "google_calendar", write_back=["time"]) as box:
        assert box.database is not None
        box.notion.add_property(box.database.data_source_id, "Deadline", {"type": "formula", "expression": "now()"})
        data = box.config_data()
        data["mappings"][0]["fields"]["start"] = "Deadline"
        box.write_config(data)
        result = cli(box, "run")
        assert result.exit_code == 2, result.output
        assert "fields.start" in result.output and "formula" in result.output


# -- Google Calendar -------------------------------------------------------------------------
@pytest.fixture
def calendar(tmp_path: Path) -> Iterator[Sandbox]:
    with sandbox(tmp_path, "google_calendar", write_back=["time"]) as box:
        yield box


def event_of(box: Sandbox, title: str) -> dict[str, Any]:
    target = box.targets["google_calendar"]
    return next(e for e in target.emulator.events(target.mapping["calendar_id"]) if e["summary"] == title)


def move(box: Sandbox, title: str, **shift: float) -> None:
    target = box.targets["google_calendar"]
    event = event_of(box, title)
    times = []
    for key in ("start", "end"):
        when = dict(event[key])
        if "date" in when:
            when["date"] = (date.fromisoformat(when["date"]) + timedelta(**shift)).isoformat()
        else:
            moment = datetime.fromisoformat(when["dateTime"].replace("Z", "+00:00")) + timedelta(**shift)
            when["dateTime"] = moment.isoformat()
        times.append(when)
    target.emulator.move_event(target.mapping["calendar_id"], event["id"], times[0], times[1])


def test_events_moved_to_another_day_re_date_their_rows_in_the_same_representation(calendar: Sandbox) -> None:
    synced(calendar)
    all_day, timed = "Ship the release notes", "Fix login timeout"
    day = due(calendar, page_of(calendar, all_day))
    moment = due(calendar, page_of(calendar, timed))
    assert len(day["start"]) == 10 and "T" in moment["start"] and moment["end"] is None
    move(calendar, all_day, days=2)
    move(calendar, timed, days=1, hours=2)

    result = cli(calendar, "run")
    assert result.exit_code == 0, result.output
    assert "2 written back" in result.output
    assert "0 created, 0 updated" in result.output, "an event restated in Google's form was written again"
    assert due(calendar, page_of(calendar, all_day)) == {
        "start": (date.fromisoformat(day["start"]) + timedelta(days=2)).isoformat(),
        "end": None,
        "time_zone": None,
    }
    after = due(calendar, page_of(calendar, timed))
    was = datetime.fromisoformat(moment["start"])
    now = datetime.fromisoformat(after["start"])
    assert now - was == timedelta(days=1, hours=2)
    event = event_of(calendar, timed)["start"]["dateTime"]
    assert after["start"][-6:] == event[-6:] == moment["start"][-6:], "not in the event's offset"
    assert after["end"] is None, "a single date-time was given an end"
    assert_quiet_next_run(calendar)


def test_a_lost_sync_token_410_takes_one_full_listing_then_a_new_token(calendar: Sandbox) -> None:
    synced(calendar)
    synced(calendar)  # the first listing stored a token; this one used it
    target = calendar.targets["google_calendar"]
    move(calendar, "Ship the release notes", days=1)
    target.emulator.expire_sync_tokens()

    result = cli(calendar, "run")
    assert result.exit_code == 0, result.output
    assert "1 written back" in result.output
    state = StateStore.open(calendar.state_path, readonly=True)
    token = state.change_token(calendar.mapping_name("google_calendar"))
    state.close()
    assert token is not None
    move(calendar, "Fix login timeout", hours=1)
    result = cli(calendar, "run")
    assert result.exit_code == 0 and "1 written back" in result.output, result.output
    assert_quiet_next_run(calendar)


def test_the_demo_moves_a_card_to_done_and_the_row_follows() -> None:
    result = runner.invoke(app, ["demo"], catch_exceptions=False)
    assert result.exit_code == 0, result.output
    assert "← Notion  Status: In progress → Done  (Ship the release notes)" in result.output
    assert "the Notion row's Status is now 'Done'" in result.output
    # The same run's last step (one demo run serves both): the render memo's later full scans.
    assert "tasks-to-trello: 0 of 4 rows rendered, 0 writes" in result.output
    assert "tasks-to-slack: 4 of 4 rows rendered, 0 writes" in result.output


def test_an_older_state_file_serves_history_and_a_dry_run_before_a_run_migrates_it(tmp_path: Path) -> None:
    import sqlite3

    from notion_sync.core.state import _MIGRATIONS

    # The file as the version before write-back left it: that migration and those after undone.
    write_back_migration = next(i for i, sql in enumerate(_MIGRATIONS, 1) if "write_back_intents" in sql)
    memo_migration = next(i for i, sql in enumerate(_MIGRATIONS, 1) if "render_mark" in sql)
    assert memo_migration == write_back_migration + 1 == len(_MIGRATIONS), "undo the later migrations here too"

    with sandbox(tmp_path, "trello") as box:
        synced(box)
        conn = sqlite3.connect(box.state_path)
        conn.executescript(
            "ALTER TABLE links DROP COLUMN render_mark;"
            " DROP TABLE write_back_intents; DROP TABLE change_tokens; ALTER TABLE history DROP COLUMN detail;"
            f" PRAGMA user_version = {write_back_migration - 1};"
        )
        conn.close()
        data = box.config_data()
        data["mappings"][0]["write_back"] = ["list"]
        box.write_config(data)
        for args in (("history",), ("run", "--dry-run"), ("run",), ("history",)):
            result = cli(box, *args)
            assert result.exit_code == 0, (args, result.output)
