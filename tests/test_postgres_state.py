"""PostgreSQL state: real processes on one database, its advisory locks, and its URL as a secret.

The state-store, engine and conformance suites run on PostgreSQL too (the ``state_backend`` and
``state_location`` fixtures); this file holds what only PostgreSQL has."""

from __future__ import annotations

import time
from pathlib import Path
from urllib.parse import urlsplit

import pytest
from typer.testing import CliRunner

from notion_sync.core.adapter import ExternalRef
from notion_sync.core.cli import app
from notion_sync.core.errors import StateError
from notion_sync.core.lock import lock_key
from notion_sync.core.sandbox import Sandbox
from notion_sync.core.secrets import Secret
from notion_sync.core.state import SCHEMA_VERSION, StateStore
from notion_sync.core.testing.servers import free_port
from tests.support.memo import MemoConnector, with_memo
from tests.support.together import open_together
from tests.test_mapping_locks import NAMES, memos_of, two_mappings
from tests.test_safety_nets import cli_process

runner = CliRunner()
URL_ENV = "NS_TEST_PG_URL"


@pytest.fixture
def two(tmp_path: Path, pg_url: str, monkeypatch: pytest.MonkeyPatch):
    """Two memo mappings on one database, their state in PostgreSQL (the URL from url_env)."""
    monkeypatch.setenv(URL_ENV, pg_url)
    yield from two_mappings(tmp_path, {"url_env": URL_ENV})


def lock_holders(url: str) -> dict[int, str]:
    """The advisory locks held on the database now: key -> the holder's application name."""
    import psycopg

    with psycopg.connect(url, autocommit=True) as conn:
        rows = conn.execute(
            "SELECT l.classid, l.objid, a.application_name FROM pg_locks l JOIN pg_stat_activity a ON a.pid = l.pid"
            " WHERE l.locktype = 'advisory' AND l.granted AND l.database ="
            " (SELECT oid FROM pg_database WHERE datname = current_database())"
        ).fetchall()
    held = {}
    for classid, objid, name in rows:
        key = (classid << 32) | objid
        held[key - (1 << 64) if key >= 1 << 63 else key] = name
    return held


def test_same_mapping_from_two_processes_one_exits_75_naming_the_other(two: Sandbox, pg_url: str) -> None:
    # Long enough for the second process to start and be refused on a loaded machine.
    two.notion.server.faults.schedule_delay(6.0, path="/query", method="POST")
    first = cli_process(two, "--mapping", "memo-a")
    try:
        deadline = time.monotonic() + 30
        while lock_key("memo-a") not in lock_holders(pg_url):
            assert first.poll() is None, first.communicate()
            assert time.monotonic() < deadline, "the first run never took the lock"
            time.sleep(0.05)
        second = cli_process(two, "--mapping", "memo-a")
        _, err = second.communicate(timeout=60)
        assert second.returncode == 75, err
        assert f"another notion-sync run (pid {first.pid}@" in err and "is syncing mapping 'memo-a'" in err
        assert first.poll() is None, "the first run ended before the second was refused: nothing overlapped"
        _, err = first.communicate(timeout=60)
        assert first.returncode == 0, err
    finally:
        if first.poll() is None:
            first.kill()
            first.wait()
    assert len(memos_of(two, "memo-a")) == len(two.database.pages)
    assert lock_holders(pg_url) == {}, "a lock outlived its run"


def test_different_mappings_from_two_processes_run_side_by_side(two: Sandbox, pg_url: str) -> None:
    two.notion.server.faults.schedule_delay(2.0, count=2, path="/query", method="POST")
    procs = [cli_process(two, "--mapping", name) for name in NAMES]
    try:
        deadline = time.monotonic() + 30
        while not {lock_key(n) for n in NAMES} <= set(lock_holders(pg_url)):
            assert all(p.poll() is None for p in procs), "a run ended before both held their locks"
            assert time.monotonic() < deadline, "the two runs never held their locks at the same time"
            time.sleep(0.05)
        for proc in procs:
            _, err = proc.communicate(timeout=60)
            assert proc.returncode == 0, err
    finally:
        for proc in procs:
            if proc.poll() is None:
                proc.kill()
                proc.wait()
    for name in NAMES:
        assert len(memos_of(two, name)) == len(two.database.pages)
    state = two.open_state(readonly=True)
    try:
        assert {name: state.count_links(name) for name in NAMES} == dict.fromkeys(NAMES, len(two.database.pages))
    finally:
        state.close()


def test_a_killed_holders_lock_is_released_with_its_connection(two: Sandbox, pg_url: str) -> None:
    import signal

    two.notion.server.faults.schedule_delay(5.0, path="/query", method="POST")
    first = cli_process(two, "--mapping", "memo-a")
    deadline = time.monotonic() + 30
    while lock_key("memo-a") not in lock_holders(pg_url):
        assert first.poll() is None and time.monotonic() < deadline, first.communicate()
        time.sleep(0.05)
    first.send_signal(signal.SIGKILL)
    first.wait()
    two.notion.server.faults.clear()
    again = runner.invoke(app, ["run", "--config", str(two.config_path)], obj=with_memo())
    assert again.exit_code == 0, again.output
    assert len(memos_of(two, "memo-a")) == len(two.database.pages)


def test_processes_that_open_a_new_database_together_migrate_it_once(pg_url: str) -> None:
    url = Secret(pg_url, "test")
    assert open_together(url) == []
    state = StateStore.open(url)
    state.save_link("m", "p", ExternalRef("E"), {"a": 1}, action="created")
    assert state.conn.execute("SELECT max(version) FROM notion_sync_schema").fetchone()[0] == SCHEMA_VERSION
    state.close()


@pytest.mark.failure_case("PostgreSQL state unreachable", "temporary: the database (no password) and the fix", 75)
def test_an_unreachable_database_exits_75_without_showing_the_password(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    url = f"postgresql://sync:s3cret-canary-password@127.0.0.1:{free_port()}/state"
    monkeypatch.setenv(URL_ENV, url)
    with Sandbox(tmp_path, connectors={"memo": MemoConnector}) as box:
        data = box.config_data()
        data["state"] = {"url_env": URL_ENV}
        box.write_config(data)
        for args in (["run"], ["run", "-v"], ["history"]):
            result = runner.invoke(app, [*args, "--config", str(box.config_path)], obj=with_memo())
            assert "s3cret-canary-password" not in result.output, args
            if args[0] == "run":
                assert result.exit_code == 75, result.output
                assert "the state database postgresql://sync@127.0.0.1:" in result.stderr
    with pytest.raises(StateError) as caught:
        StateStore.open(Secret(url, "test"))
    assert caught.value.temporary and "s3cret" not in str(caught.value)


@pytest.mark.failure_case("[state] url written with a password", "config error: move it to url_env", 2)
def test_a_password_in_the_config_files_url_is_refused(box: Sandbox) -> None:
    data = box.config_data()
    data["state"] = {"url": "postgresql://sync:inline-password-123@db.example/state"}
    box.write_config(data)
    result = runner.invoke(app, ["run", "--config", str(box.config_path)], obj=with_memo())
    assert result.exit_code == 2, result.output
    assert "state.url" in result.stderr and "url_env" in result.stderr
    assert "inline-password-123" not in result.output


def test_a_url_without_a_password_may_be_written_in_the_config(box: Sandbox, pg_url: str) -> None:
    # The test server wants its password: it comes from the standard PGPASSWORD instead.
    parts = urlsplit(pg_url)
    data = box.config_data()
    data["state"] = {"url": pg_url.replace(f":{parts.password}@", "@")}
    box.write_config(data)
    with pytest.MonkeyPatch.context() as m:
        m.setenv("PGPASSWORD", parts.password or "")
        result = runner.invoke(app, ["run", "--config", str(box.config_path)], obj=with_memo())
    assert result.exit_code == 0, result.output
