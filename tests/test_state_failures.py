"""A state file that cannot be used: one message naming the file, the cause and the fix, and
an exit code of the README's table (4; 75 for a temporary cause such as a full disk)."""

from __future__ import annotations

import os
import shutil
import sqlite3
import stat
import subprocess
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from typer.testing import CliRunner

from notion_sync.core.cli import app
from notion_sync.core.engine import Engine, RunOptions
from notion_sync.core.errors import StateError
from notion_sync.core.sandbox import Sandbox
from notion_sync.core.state import StateStore
from tests.support.failure_cases import assert_clean_failure
from tests.support.memo import MemoConnector, with_memo

runner = CliRunner()


def cli(*args: str):
    return runner.invoke(app, list(args), catch_exceptions=False, obj=with_memo())


def _directory(path: Path) -> None:
    path.mkdir()


def _corrupt(path: Path) -> None:
    path.write_bytes(b"this is not a database, just some text " * 200)


def _sqlite(path: Path, sql: str) -> None:
    db = sqlite3.connect(path)
    db.execute(sql)
    db.commit()
    db.close()


def _foreign(path: Path) -> None:
    _sqlite(path, "CREATE TABLE moz_places (id INTEGER PRIMARY KEY, url TEXT)")


def _newer(path: Path) -> None:
    _sqlite(path, "PRAGMA user_version = 99")


@pytest.mark.parametrize(
    ("setup", "wanted"),
    [
        pytest.param(
            _directory,
            "is a directory",
            marks=pytest.mark.failure_case("state file is a directory", "state error naming the file and the fix", 4),
            id="directory",
        ),
        pytest.param(
            _corrupt,
            "is damaged or not a database",
            marks=pytest.mark.failure_case(
                "state file is corrupt (not a database)", "state error naming the file, with mv … .broken", 4
            ),
            id="corrupt",
        ),
        pytest.param(
            _foreign,
            "another program's SQLite database (tables: moz_places)",
            marks=pytest.mark.failure_case(
                "state file is another program's SQLite database", "state error naming the file and its tables", 4
            ),
            id="foreign",
        ),
        pytest.param(
            _newer,
            "written by a newer notion-sync",
            marks=pytest.mark.failure_case(
                "state file written by a newer notion-sync", "state error: upgrade notion-sync", 4
            ),
            id="newer",
        ),
    ],
)
# check as JSON: its table wraps long messages at the terminal's width
@pytest.mark.parametrize("command", [["run"], ["run", "--dry-run"], ["history"], ["check", "--log-format", "json"]])
def test_an_unusable_state_file_is_one_clear_message(box, setup, wanted, command):
    setup(box.state_path)
    before = box.state_path.read_bytes() if box.state_path.is_file() else None
    result = cli(*command, "--config", str(box.config_path))
    text = assert_clean_failure(result, 4, wanted)
    assert "NOTION_SYNC_STATE__PATH" in text or "upgrade" in text or "mv " in text
    assert box.targets["memo"].item_count() == 0
    if before is not None:
        assert box.state_path.read_bytes() == before  # another program's file is left as it was


@pytest.mark.failure_case("a folder of the state path is a file", "state error naming the file and the fix", 4)
def test_a_state_path_under_a_file_says_so(box):
    blocker = box.workdir / "blocker"
    blocker.write_text("x")
    data = box.config_data()
    data["state"]["path"] = str(blocker / "state.sqlite3")
    box.write_config(data)
    result = cli("run", "--config", str(box.config_path))
    assert_clean_failure(result, 4, str(blocker / "state.sqlite3"), "a part of its folder path is a file")


def _tiny_disk(pages: int):
    """A state opener whose database cannot grow past ``pages`` pages: SQLite's own
    "database or disk is full", as on a full disk."""

    def opener(path: str | Path, *, readonly: bool = False) -> Any:
        store = StateStore.open(path, readonly=readonly)
        if not readonly:
            store.conn.execute(f"PRAGMA max_page_count = {pages}")
        return store

    return opener


@pytest.mark.failure_case("disk full while recording a run", "state error: the disk is full, free space", 75)
def test_a_full_disk_is_a_temporary_failure_and_says_disk_full(tmp_path):
    rows = [{"Name": f"Task {i:03} " + "x" * 200, "Status": "Not started"} for i in range(120)]
    with Sandbox(tmp_path, connectors={"memo": MemoConnector}, rows=rows) as box:
        StateStore.open(box.state_path).close()
        pages = sqlite3.connect(box.state_path).execute("PRAGMA page_count").fetchone()[0]
        with pytest.raises(StateError) as info:
            Engine(box.config(), state=_tiny_disk(pages + 2)).run(RunOptions())
        text = assert_clean_failure(info.value, 75, str(box.state_path), "the disk is full", "database or disk is full")
        assert "no transaction is active" not in text
        # once there is space again, the next run finishes: no item doubled, none lost
        result = cli("run", "--config", str(box.config_path))
        assert result.exit_code == 0, result.output
        assert box.targets["memo"].item_count() == 120


def test_state_file_and_its_wal_and_shm_are_private(box):
    assert cli("run", "--config", str(box.config_path), "--quiet").exit_code == 0
    for suffix in ("", "-wal", "-shm"):
        path = Path(f"{box.state_path}{suffix}")
        if path.exists():
            assert stat.S_IMODE(path.stat().st_mode) == 0o600, suffix


def test_a_looser_existing_state_file_is_tightened_with_a_warning(box):
    assert cli("run", "--config", str(box.config_path), "--quiet").exit_code == 0
    box.state_path.chmod(0o644)
    result = cli("run", "--config", str(box.config_path))
    assert result.exit_code == 0, result.output
    assert "could be read by other users (mode 644); made it private" in result.output
    assert stat.S_IMODE(box.state_path.stat().st_mode) == 0o600


@pytest.fixture
def read_only_later(tmp_path: Path) -> Iterator[tuple[Path, Callable[[], None]]]:
    """A small tmpfs for the state, and a function that remounts it read-only, as a disk that
    went read-only after an error would be. Needs root and mount(8): skipped elsewhere."""
    if os.geteuid() != 0 or shutil.which("mount") is None:
        pytest.skip("a read-only filesystem needs root and mount(8) to make")
    where = tmp_path / "ro-state"
    where.mkdir()
    made = subprocess.run(["mount", "-t", "tmpfs", "-o", "size=4m", "tmpfs", str(where)], capture_output=True)
    if made.returncode != 0:
        pytest.skip(f"mounting a tmpfs is not allowed here: {made.stderr.decode().strip()}")

    def remount_read_only() -> None:
        subprocess.run(["mount", "-o", "remount,ro", str(where)], check=True, capture_output=True)

    try:
        yield where, remount_read_only
    finally:
        subprocess.run(["umount", "-l", str(where)], capture_output=True)


@pytest.mark.failure_case(
    "state file on a filesystem that became read-only", "state error naming the file, read-only", 4
)
def test_a_state_file_on_a_read_only_filesystem_says_so(box, read_only_later):
    where, remount_read_only = read_only_later
    data = box.config_data()
    data["state"]["path"] = str(where / "state.sqlite3")
    box.write_config(data)
    assert cli("run", "--config", str(box.config_path), "-q").exit_code == 0
    synced = box.targets["memo"].item_count()
    box.notion.update_page(next(iter(box.database.pages.values())), {"Name": "Renamed while read-only"})
    remount_read_only()
    result = cli("run", "--config", str(box.config_path))
    assert_clean_failure(result, 4, str(where / "state.sqlite3"), "read-only")
    assert box.targets["memo"].item_count() == synced


def test_processes_that_create_the_state_file_at_once_all_open_it(tmp_path: Path) -> None:
    # Several workers (or cron beside serve) starting on a new state file: one creates and
    # migrates it while the others look at it. None may take it for another program's database,
    # or stop on SQLite's "locked" while the first switches the file to WAL. Threads, each with its
    # own connection, race exactly as processes do.
    from notion_sync.core.state import SCHEMA_VERSION
    from tests.support.together import open_together

    for attempt in range(30):
        path = tmp_path / f"state-{attempt}.sqlite3"
        errors = open_together(path)
        assert not errors, f"attempt {attempt}: {errors[0]}"
        store = StateStore.open(path, readonly=True)
        try:
            assert store.conn.execute("PRAGMA user_version").fetchone()[0] == SCHEMA_VERSION
        finally:
            store.close()
