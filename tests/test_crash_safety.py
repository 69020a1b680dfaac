"""Crash safety with the three real connectors: a run killed at the worst moments, then the next run.

The worst moments are (a) after the target accepted a create and before the state
recorded it, and (b) in the middle of a state transaction. Both are tested with a real
SIGKILL of a real ``notion-sync run`` process, and (a) also with what happens to the
row in between: it is trashed, leaves the filter, or no longer renders an item.
"""

from __future__ import annotations

import os
import signal
import sqlite3
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from notion_sync.core.adapter import Connector
from notion_sync.core.plugins import discover
from notion_sync.core.sandbox import Sandbox
from notion_sync.core.state import StateStore

REPO = Path(__file__).resolve().parents[1]
CONNECTORS = ("google_calendar", "trello", "slack")

# Runs the CLI in a process that SIGKILLs itself at the chosen point:
#   save_link:N  -> on the N-th save_link call, before it writes (the external write is done);
#   write:N      -> likewise on the N-th save_link or remove_link call;
#   history:N    -> on the N-th history insert, inside save_link's open transaction.
KILLER = """
import os, signal, sys
from notion_sync.core.state import StateStore
point, nth = sys.argv[1].split(":")
nth = int(nth)
calls = [0]
def killer(original):
    def wrapped(*args, **kwargs):
        calls[0] += 1
        if calls[0] == nth:
            os.kill(os.getpid(), signal.SIGKILL)
        return original(*args, **kwargs)
    return wrapped
if point == "save_link":
    StateStore.save_link = killer(StateStore.save_link)
elif point == "write":
    StateStore.save_link = killer(StateStore.save_link)
    StateStore.remove_link = killer(StateStore.remove_link)
else:
    StateStore._history = killer(StateStore._history)
from notion_sync.core.cli import main
sys.argv = ["notion-sync", "run", "--quiet", "--config", sys.argv[2]] + sys.argv[3:]
main()
"""


def connector_class(name: str) -> type[Connector[Any, Any]]:
    return discover().connectors[name]


@pytest.fixture(params=CONNECTORS)
def box(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Sandbox]:
    with Sandbox(tmp_path, connectors={request.param: connector_class(request.param)}) as sandbox:
        yield sandbox


def target(box: Sandbox) -> Any:
    (only,) = box.targets.values()
    return only


def run_killed_at(box: Sandbox, point: str, *args: str) -> int:
    env = {
        **os.environ,
        "PYTHONPATH": str(REPO) + os.pathsep + os.environ.get("PYTHONPATH", ""),
        "NOTION_SYNC_RETRY_SCALE": "0.001",
    }
    proc = subprocess.run(
        [sys.executable, "-c", KILLER, point, str(box.config_path), *args],
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    return proc.returncode


def expected_pages(box: Sandbox) -> set[str]:
    report = box.run(dry_run=True)
    return {a.page_id for a in report.mappings[0].plan if a.kind == "create"}


def test_sigkill_between_create_and_state_write_then_next_run_has_no_duplicate(box: Sandbox) -> None:
    expected = expected_pages(box)
    assert run_killed_at(box, "save_link:3") == -signal.SIGKILL
    assert target(box).item_count() >= 3  # two recorded, at least one written but not recorded
    rep = box.run().mappings[0]
    assert rep.status == "ok" and rep.counts["failed"] == 0, rep.errors
    assert set(target(box).items()) == expected
    assert target(box).item_count() == len(expected)
    assert box.run(full=True).mappings[0].writes == 0


def test_sigkill_inside_a_state_transaction_leaves_a_state_file_that_opens(box: Sandbox) -> None:
    expected = expected_pages(box)
    assert run_killed_at(box, "history:2") == -signal.SIGKILL
    conn = sqlite3.connect(box.state_path)
    assert conn.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
    # The link insert of the killed transaction was rolled back with it: one link, not two.
    assert conn.execute("SELECT COUNT(*) FROM links").fetchone()[0] == 1
    conn.close()
    rep = box.run().mappings[0]
    assert rep.status == "ok", rep.error
    assert set(target(box).items()) == expected and target(box).item_count() == len(expected)


def _first_written(box: Sandbox) -> str:
    """A page whose item the killed run wrote but did not record (Google writes a batch at once)."""
    state = StateStore.open(box.state_path, readonly=True)
    try:
        pending = state.pending_intents(box.mapping_name(next(iter(box.targets))))
        linked = {s.link.page_id for s in state.iter_links(box.mapping_name(next(iter(box.targets))))}
    finally:
        state.close()
    unrecorded = set(target(box).items()) - linked
    assert unrecorded and unrecorded <= pending, (unrecorded, pending)
    return sorted(unrecorded)[0]


def test_row_trashed_after_a_crash_mid_create_leaves_no_stale_item(box: Sandbox) -> None:
    expected = expected_pages(box)
    assert run_killed_at(box, "save_link:1") == -signal.SIGKILL
    page = _first_written(box)
    box.notion.trash_page(page)
    rep = box.run(full=True).mappings[0]
    assert rep.status == "ok", rep.error
    assert page not in target(box).items(), "the item written before the crash outlived its trashed row"
    assert set(target(box).items()) == expected - {page}
    assert target(box).item_count() == len(expected) - 1
    state = StateStore.open(box.state_path, readonly=True)
    assert not state.pending_intents(box.mapping_name(next(iter(box.targets))))
    state.close()


def test_row_leaving_the_filter_after_a_crash_mid_create_leaves_no_stale_item(box: Sandbox) -> None:
    assert run_killed_at(box, "save_link:1") == -signal.SIGKILL
    page = _first_written(box)
    box.notion.update_page(page, {"Priority": "Low", "Status": "Done"})
    data = box.config_data()
    data["mappings"][0]["filter"] = {"property": "Status", "status": {"does_not_equal": "Done"}}
    box.write_config(data)
    rep = box.run().mappings[0]  # a changed config reads every row
    assert rep.status == "ok", rep.error
    assert page not in target(box).items(), "the item written before the crash outlived the row leaving the filter"
    assert target(box).item_count() == len(target(box).items())


def test_row_losing_its_date_after_a_crash_mid_create_leaves_no_stale_event(tmp_path: Path) -> None:
    with Sandbox(tmp_path, connectors={"google_calendar": connector_class("google_calendar")}) as box:
        assert run_killed_at(box, "save_link:1") == -signal.SIGKILL
        page = _first_written(box)
        box.notion.update_page(page, {"Due": None})
        rep = box.run().mappings[0]
        assert rep.status == "ok", rep.error
        assert page not in target(box).items(), "the event written before the crash outlived its row's date"
        assert target(box).item_count() == len(target(box).items())


def test_sigkill_between_a_removal_and_its_state_write_then_the_row_comes_back(box: Sandbox) -> None:
    expected = expected_pages(box)
    assert box.run().mappings[0].counts["created"] == len(expected)
    page = sorted(expected)[0]
    box.notion.trash_page(page)
    # The target deletes (or archives) the item; the run dies before the state records it.
    assert run_killed_at(box, "write:1", "--full") == -signal.SIGKILL
    assert page not in target(box).items()
    box.notion.restore_page(page)
    rep = box.run().mappings[0]
    assert rep.status == "ok" and rep.counts["failed"] == 0, rep.errors
    assert page in target(box).items(), "the row came back but its item stayed removed"
    assert set(target(box).items()) == expected and target(box).item_count() == len(expected)
    assert box.run(full=True).mappings[0].writes == 0


def test_sigkill_between_a_removal_and_its_state_write_then_the_row_stays_away(box: Sandbox) -> None:
    expected = expected_pages(box)
    box.run()
    page = sorted(expected)[0]
    box.notion.trash_page(page)
    assert run_killed_at(box, "write:1", "--full") == -signal.SIGKILL
    rep = box.run(full=True).mappings[0]
    assert rep.status == "ok" and rep.counts["failed"] == 0, rep.errors
    assert set(target(box).items()) == expected - {page} and target(box).item_count() == len(expected) - 1
    state = StateStore.open(box.state_path, readonly=True)
    assert not state.pending_intents(box.mapping_name(next(iter(box.targets))))
    state.close()
