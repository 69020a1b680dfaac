"""The safety nets, end to end: an unreachable database deletes nothing, the mass-delete guard's
threshold, overlapping real processes (exit 75) and a killed run's lock, and parking through the CLI.

What tests/test_engine.py and tests/test_cli.py already cover (the guard at 7 of 12, the
lock held in-process, a dead process's lock, parking with StateStore.requeue) is not
repeated here.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from typer.testing import CliRunner

from notion_sync.core.cli import app
from notion_sync.core.lock import FileMappingLock
from notion_sync.core.sandbox import NOTION_TOKEN_ENV, Sandbox
from notion_sync.core.state import StateStore
from tests.conftest import memos
from tests.support.memo import MemoConnector, with_memo

REPO = Path(__file__).resolve().parents[1]
runner = CliRunner()


def only(report):
    assert len(report.mappings) == 1
    return report.mappings[0]


def links(box: Sandbox) -> dict[str, str]:
    state = StateStore.open(box.state_path, readonly=True)
    try:
        return {s.link.page_id: s.link.ref.id for s in state.iter_links("tasks-to-memo")}
    finally:
        state.close()


# -- an unreachable database ---------------------------------------------------------------------
def _revoke(box: Sandbox, monkeypatch: pytest.MonkeyPatch) -> None:
    box.notion.revoke_token(box.notion.token)


def _no_read_capability(box: Sandbox, monkeypatch: pytest.MonkeyPatch) -> None:
    weak = "ntn_no_read_capability_emulator_0000"
    box.notion.add_token(weak, capabilities=frozenset({"insert_content"}))
    box.notion.share(box.database.database_id, weak)
    monkeypatch.setenv(NOTION_TOKEN_ENV, weak)


def _unshare(box: Sandbox, monkeypatch: pytest.MonkeyPatch) -> None:
    box.notion.share(box.database.database_id, shared=False)


def _data_source_gone(box: Sandbox, monkeypatch: pytest.MonkeyPatch) -> None:
    # The engine caches the data source id: a data source deleted in Notion answers 404 to the query.
    box.notion._data_sources.pop(box.database.data_source_id)


@pytest.mark.parametrize(
    "make_unreachable",
    [_revoke, _no_read_capability, _unshare, _data_source_gone],
    ids=["401-revoked", "403-no-read", "404-unshared", "data-source-gone"],
)
def test_an_unreachable_database_never_counts_as_all_rows_deleted(
    box: Sandbox, monkeypatch: pytest.MonkeyPatch, make_unreachable
) -> None:
    assert only(box.run()).counts["created"] == len(box.database.pages)
    before_items, before_links = memos(box), links(box)
    make_unreachable(box, monkeypatch)
    report = box.run(full=True, allow_mass_delete=True)
    rep = only(report)
    assert rep.status == "access" and report.exit_code == 3, (rep.status, rep.error)
    assert rep.counts["deleted"] == 0
    assert memos(box) == before_items and box.targets["memo"].item_count() == len(before_items)
    assert links(box) == before_links


# -- the mass-delete guard's threshold -----------------------------------------------------------
def rows(n: int) -> list[dict[str, str]]:
    return [{"Name": f"T{i}", "Status": "Not started"} for i in range(n)]


def test_the_guard_needs_at_least_10_linked_items(tmp_path: Path) -> None:
    with Sandbox(tmp_path, connectors={"memo": MemoConnector}, rows=rows(9)) as box:
        box.run()
        for page in list(box.database.pages.values())[:8]:
            box.notion.trash_page(page)
        rep = only(box.run(full=True))
        assert rep.status == "ok" and rep.counts["deleted"] == 8 and len(memos(box)) == 1


def test_max_delete_fraction_is_the_mappings_to_set(tmp_path: Path) -> None:
    with Sandbox(tmp_path, connectors={"memo": MemoConnector}, rows=rows(12)) as box:
        data = box.config_data()
        data["mappings"][0]["max_delete_fraction"] = 0.25
        box.write_config(data)
        box.run()
        for page in list(box.database.pages.values())[:4]:  # 4 of 12 > 0.25
            box.notion.trash_page(page)
        rep = only(box.run(full=True))
        assert rep.status == "failed" and "max_delete_fraction = 0.25" in rep.error
        assert len(memos(box)) == 12
        box.notion.restore_page(list(box.database.pages.values())[0])  # 3 of 12 = 0.25: allowed
        rep = only(box.run(full=True))
        assert rep.status == "ok" and rep.counts["deleted"] == 3 and len(memos(box)) == 9


# -- overlapping runs, as real processes ----------------------------------------------------------
def cli_process(box: Sandbox, *args: str) -> subprocess.Popen[str]:
    env = {**os.environ, "PYTHONPATH": str(REPO) + os.pathsep + os.environ.get("PYTHONPATH", "")}
    code = (
        "import sys; from tests.support.memo import with_memo; from notion_sync.core.cli import main; "
        "sys.argv = ['notion-sync'] + sys.argv[1:]; main(discovery=with_memo())"
    )
    return subprocess.Popen(
        [sys.executable, "-c", code, "run", "--config", str(box.config_path), *args],
        cwd=REPO,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )


def wait_for_lock_holder(box: Sandbox, proc: subprocess.Popen[str]) -> None:
    lock = FileMappingLock(box.state_path, box.mapping_name("memo"))
    deadline = time.monotonic() + 30
    while not (lock.holder() or "").startswith(f"pid {proc.pid}@"):
        assert proc.poll() is None, proc.communicate()
        assert time.monotonic() < deadline, "the first run never took the lock"
        time.sleep(0.02)


def test_a_second_process_exits_75_at_once_while_the_first_runs_on(box: Sandbox) -> None:
    # The first run is slow: Notion holds its query for 8 s, long enough for a second Python
    # process to start and reach the lock even on a loaded 2-core CI machine.
    box.notion.server.faults.schedule_delay(8.0, path="/query", method="POST")
    first = cli_process(box, "--quiet")
    try:
        wait_for_lock_holder(box, first)
        second = cli_process(box)
        _, err = second.communicate(timeout=60)
        assert second.returncode == 75, err
        assert "another notion-sync run" in err and f"pid {first.pid}@" in err
        assert first.poll() is None, "the first run ended before the second was refused: nothing overlapped"
        assert first.wait(timeout=60) == 0, first.communicate()
    finally:
        if first.poll() is None:
            first.kill()
            first.wait()
    assert len(memos(box)) == len(box.database.pages) == box.targets["memo"].item_count()


def test_the_lock_of_a_killed_run_is_taken_over(box: Sandbox) -> None:
    box.notion.server.faults.schedule_delay(2.0, path="/query", method="POST")  # busy until killed
    first = cli_process(box, "--quiet")
    wait_for_lock_holder(box, first)
    first.send_signal(signal.SIGKILL)
    assert first.wait() == -signal.SIGKILL, "the first run ended before it could be killed holding the lock"
    box.notion.server.faults.clear()
    again = cli_process(box, "--quiet")
    _, err = again.communicate(timeout=60)
    assert again.returncode == 0, err
    assert len(memos(box)) == len(box.database.pages)


# -- parking, through the CLI ---------------------------------------------------------------------
def test_a_parked_item_is_listed_and_retry_requeues_it(tmp_path: Path) -> None:
    # Rows last edited ten minutes ago: a row edited in the failure's minute would count as
    # edited since (Notion rounds last_edited_time to the minute) and be tried again at once.
    with Sandbox(tmp_path, connectors={"memo": MemoConnector}, rows=[]) as box:
        box.notion.set_clock(datetime.now(UTC) - timedelta(minutes=10))
        for values in rows(4):
            box.database.pages[values["Name"]] = box.notion.add_page(box.database.data_source_id, values)
        box.notion.set_clock(None)
        parks_and_requeues(box)


def parks_and_requeues(box: Sandbox) -> None:
    data = box.config_data()
    data["mappings"][0]["max_attempts"] = 1
    box.write_config(data)
    cfg = ["--config", str(box.config_path)]
    box.targets["memo"].emulator.server.faults.schedule(400, count=1, path="/memos", method="POST")
    first = runner.invoke(app, ["run", *cfg], catch_exceptions=False, obj=with_memo())
    assert first.exit_code == 1 and "1 failed" in first.stderr
    failed = runner.invoke(
        app, ["history", *cfg, "--failed", "--log-format", "json"], catch_exceptions=False, obj=with_memo()
    )
    (entry,) = [json.loads(line) for line in failed.stdout.splitlines()]
    assert entry["parked"] is True and "400" in entry["error"]
    assert "parked (notion-sync retry)" in runner.invoke(app, ["history", *cfg, "--failed"], obj=with_memo()).stdout
    second = runner.invoke(app, ["run", *cfg], catch_exceptions=False, obj=with_memo())
    assert second.exit_code == 0 and "1 parked" in second.stdout  # shown, never dropped silently
    assert len(memos(box)) == len(box.database.pages) - 1
    # Another row's edit moves the watermark past the parked row: an incremental read no longer sees it.
    box.notion.update_page(
        box.database.pages["T0"] if memos(box).get(box.database.pages["T0"]) else box.database.pages["T1"],
        {"Name": "T edited"},
    )
    assert "1 updated" in runner.invoke(app, ["run", *cfg], catch_exceptions=False, obj=with_memo()).stdout
    assert "re-queued 1" in runner.invoke(app, ["retry", *cfg], catch_exceptions=False, obj=with_memo()).stdout
    third = runner.invoke(app, ["run", *cfg], catch_exceptions=False, obj=with_memo())
    assert third.exit_code == 0 and "1 created" in third.stdout
    assert len(memos(box)) == len(box.database.pages) == box.targets["memo"].item_count()
    assert (
        runner.invoke(app, ["history", *cfg, "--failed", "--log-format", "json"], obj=with_memo()).stdout.strip() == ""
    )
