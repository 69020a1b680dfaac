"""Per-mapping locks: a mapping runs once at a time, different mappings run side by side.

Through the CLI and as real processes, on the SQLite state (the PostgreSQL advisory locks are
in tests/test_postgres_state.py)."""

from __future__ import annotations

import time
from pathlib import Path

import pytest
from typer.testing import CliRunner

from notion_sync.core.cli import app
from notion_sync.core.lock import FileMappingLock, holder_identity
from notion_sync.core.sandbox import Sandbox
from tests.support.memo import MemoConnector, with_memo
from tests.test_safety_nets import cli_process

runner = CliRunner()
NAMES = ("memo-a", "memo-b")


def two_mappings(tmp_path: Path, state: dict | None = None):
    """A sandbox with two memo mappings on the one database (``state``: its [state] table)."""
    with Sandbox(tmp_path, connectors={"memo": MemoConnector}) as box:
        data = box.config_data()
        if state is not None:
            data["state"] = state
        first = data["mappings"][0]
        data["mappings"] = [{**first, "name": name} for name in NAMES]
        box.write_config(data)
        yield box


@pytest.fixture
def two(tmp_path: Path):
    """A sandbox with two memo mappings on the one database."""
    yield from two_mappings(tmp_path)


def memos_of(box: Sandbox, mapping: str) -> list[dict]:
    return [m for m in box.targets["memo"].emulator.memos.values() if m["mapping"] == mapping]


def run(box: Sandbox, *args: str):
    return runner.invoke(app, ["run", "--config", str(box.config_path), *args], obj=with_memo())


def test_a_run_of_every_mapping_skips_one_held_elsewhere_and_names_its_holder(two: Sandbox) -> None:
    with FileMappingLock(two.state_path, "memo-a"):
        result = run(two)
    assert result.exit_code == 0, result.output
    assert f"memo-a → memo: skipped — another run ({holder_identity()}) is syncing it" in result.stderr
    assert f"memo-b → memo: {len(two.database.pages)} created" in result.stdout
    assert memos_of(two, "memo-a") == [] and len(memos_of(two, "memo-b")) == len(two.database.pages)
    assert (
        f"memo-a → memo: {len(two.database.pages)} created" in run(two).stdout
    )  # the lock released: the next run takes it


@pytest.mark.failure_case("the mapping named by --mapping is being synced", "locked: exits at once, names holder", 75)
def test_a_named_mapping_held_elsewhere_exits_75_at_once(two: Sandbox) -> None:
    with FileMappingLock(two.state_path, "memo-a"):
        result = run(two, "--mapping", "memo-a", "--mapping", "memo-b")
    assert result.exit_code == 75, result.output
    assert f"another notion-sync run ({holder_identity()}) is syncing mapping 'memo-a'" in result.stderr
    assert "Traceback" not in result.output
    assert two.targets["memo"].emulator.memos == {}


def test_every_mapping_held_exits_75(two: Sandbox) -> None:
    with FileMappingLock(two.state_path, "memo-a"), FileMappingLock(two.state_path, "memo-b"):
        result = run(two)
    assert result.exit_code == 75, result.output
    assert "every mapping is being synced by another notion-sync run" in result.stderr


def test_two_processes_sync_different_mappings_at_once_on_a_new_state_file(two: Sandbox) -> None:
    # Both processes create and migrate the same new SQLite file, then write it side by side.
    two.notion.server.faults.schedule_delay(2.0, count=2, path="/query", method="POST")
    first, second = cli_process(two, "--mapping", "memo-a"), cli_process(two, "--mapping", "memo-b")
    locks = [FileMappingLock(two.state_path, name) for name in NAMES]
    try:
        deadline = time.monotonic() + 30
        while not all(lock.holder() for lock in locks):
            assert first.poll() is None and second.poll() is None, "a run ended before both held their locks"
            assert time.monotonic() < deadline, "the two runs never held their locks at the same time"
            time.sleep(0.02)
        for proc in (first, second):
            _, err = proc.communicate(timeout=60)
            assert proc.returncode == 0, err
    finally:
        for proc in (first, second):
            if proc.poll() is None:
                proc.kill()
                proc.wait()
    for name in NAMES:
        assert len(memos_of(two, name)) == len(two.database.pages)
