"""The Celery fleet, for real: Redis, PostgreSQL, three worker processes and beat.

12 mappings over the three connectors (four each, one database, one target each), beat
queueing each every second for more than 20 cycles while rows are edited, trashed and
restored; one worker is SIGKILLed in the middle of a sync and started again. At the end every
target mirrors its rows (a last full run writes nothing, no row has two items of a mapping,
no trashed row has one), the state's run log never shows a mapping on two workers at once,
and no emulator refused a request for its rate limit."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
import redis
from typer.testing import CliRunner

from notion_sync.core.cli import app
from notion_sync.core.sandbox import Sandbox
from notion_sync.core.testing.servers import PostgresServer, RedisServer

REPO = Path(__file__).resolve().parents[1]
PER_CONNECTOR = 4
CYCLES = 22
runner = CliRunner()


def celery(box: Sandbox, env: dict[str, str], *args: str) -> subprocess.Popen[bytes]:
    log = open(box.workdir / f"celery-{args[0]}-{time.monotonic_ns()}.log", "wb")  # noqa: SIM115 - the process holds it
    return subprocess.Popen(
        [sys.executable, "-m", "celery", "-A", "notion_sync.celery", *args],
        cwd=box.workdir,
        env=env,
        stdout=log,
        stderr=subprocess.STDOUT,
    )


def worker(box: Sandbox, env: dict[str, str], n: int) -> subprocess.Popen[bytes]:
    return celery(
        box,
        env,
        "worker",
        "--pool=solo",
        "-n",
        f"w{n}@%h",
        "--without-gossip",
        "--without-mingle",
        "--without-heartbeat",
        "-l",
        "warning",
    )


def mapping_runs(box: Sandbox) -> list[dict]:
    state = box.open_state(readonly=True)
    try:
        return [dict(zip(r.keys(), r, strict=True)) for r in state.mapping_runs()]
    finally:
        state.close()


def stop(proc: subprocess.Popen[bytes]) -> None:
    if proc.poll() is None:
        proc.terminate()
        try:
            proc.wait(20)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()


def test_a_fleet_of_three_workers_mirrors_every_mapping_through_edits_and_a_killed_worker(
    tmp_path: Path, postgres_server: PostgresServer, redis_server: RedisServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    redis_server.flush()
    url = postgres_server.fresh_database()
    monkeypatch.setenv("NS_FLEET_STATE_URL", url)
    monkeypatch.setenv("NS_FLEET_BROKER", redis_server.url)
    with Sandbox(tmp_path) as box:
        assert set(box.targets) == {"google_calendar", "trello", "slack"}
        data = box.config_data()
        data["state"] = {"url_env": "NS_FLEET_STATE_URL"}
        data["celery"] = {"broker_url_env": "NS_FLEET_BROKER", "default_schedule": "1s", "visibility_timeout": 4.0}
        data["notion"]["requests_per_second"] = 20.0
        # Slack's 1 post per second per channel, scaled 2x: the 4 Slack mappings post into one
        # channel from three workers, paced together through Redis at 1 per 0.55 s (a larger
        # scale would shrink the 10% margin below the scheduling jitter of a loaded machine).
        data["slack"]["pacing_scale"] = 2.0
        data["mappings"] = [
            {**m, "name": f"{m['connector']}-{i}", "full_scan_interval": "1s"}
            for m in data["mappings"]
            for i in range(PER_CONNECTOR)
        ]
        box.write_config(data)
        # Notion allows the token 40 requests per 2 s (a bucket): the three workers together must keep under it.
        box.notion.server.faults.rate_limit = (40, 2.0)
        slack = box.targets["slack"].emulator.server.faults  # type: ignore[attr-defined]
        slack.rate_limit, slack.rate_limit_path = (1, 0.5), r"chat\.postMessage"
        env = {
            **os.environ,
            "NOTION_SYNC_CONFIG": str(box.config_path),
            "PYTHONPATH": str(REPO) + os.pathsep + os.environ.get("PYTHONPATH", ""),
        }
        workers = [worker(box, env, n) for n in range(3)]
        beat = celery(box, env, "beat", "-s", str(box.workdir / "beat-schedule"), "-l", "warning")
        pages = list(box.database.pages.values())
        killed = 0
        try:
            started = time.monotonic()
            cycle = 0
            while cycle < CYCLES:
                time.sleep(1.0)
                cycle += 1
                for proc in (*workers, beat):
                    assert proc.poll() is None or killed, f"a celery process exited: see {box.workdir}"
                page = pages[cycle % len(pages)]
                if cycle % 3 == 0:
                    box.notion.update_page(page, {"Name": f"Edited in cycle {cycle}"})
                elif cycle % 5 == 0:
                    box.notion.trash_page(page)
                elif cycle % 7 == 0:
                    box.notion.restore_page(pages[(cycle - 2) % len(pages)])
                if cycle == 8:
                    victim = next_mid_sync(box, workers)
                    victim.send_signal(signal.SIGKILL)
                    victim.wait()
                    killed += 1
                    index = workers.index(victim)
                    workers[index] = worker(box, env, 10 + index)
            assert time.monotonic() - started >= CYCLES
            stop(beat)
            # Quiet: let every mapping finish one more sync begun after the last change.
            last_change = max(r["started_at"] for r in mapping_runs(box))
            deadline = time.monotonic() + 90
            names = [m["name"] for m in data["mappings"]]
            while True:
                # As beat would: a mapping still running a sync begun before the last change is
                # not queued again (by design), so queue again until each has synced after it.
                enqueued = runner.invoke(app, ["enqueue", "--all", "--config", str(box.config_path)])
                assert enqueued.exit_code == 0, enqueued.output
                runs = mapping_runs(box)
                done = {r["mapping"] for r in runs if r["started_at"] > last_change and r["finished_at"]}
                if set(names) <= done:
                    break
                missing = set(names) - done
                markers = sorted(k.decode() for k in redis.Redis.from_url(redis_server.url).keys("notion-sync:*"))
                assert time.monotonic() < deadline, (
                    f"not every mapping synced again: {missing}; their last runs: "
                    f"{[r for r in runs if r['mapping'] in missing][-6:]}; "
                    f"markers: {markers}"
                )
                time.sleep(1.0)
        finally:
            stop(beat)
            for proc in workers:
                stop(proc)

        runs = mapping_runs(box)
        assert killed == 1
        for name in names:
            mine = [r for r in runs if r["mapping"] == name]
            assert len(mine) >= 3, f"{name} synced only {len(mine)} times"
            for earlier, later in zip(mine, mine[1:], strict=False):
                if earlier["finished_at"] is not None:
                    assert earlier["finished_at"] <= later["started_at"], f"{name} ran on two workers at once"
        unfinished = [r for r in runs if r["finished_at"] is None]
        assert len(unfinished) <= 1, unfinished  # the killed worker's sync, if it was mid-mapping

        final = box.run(full=True)
        assert all(rep.status == "ok" and rep.writes == 0 for rep in final.mappings), [
            (rep.name, rep.counts, rep.error) for rep in final.mappings
        ]
        live = set(box.notion.page_ids(box.database.data_source_id))
        for name, target in box.targets.items():
            items = target.items()
            assert set(items) <= live, f"{name}: a trashed row kept its item"
            assert target.item_count() == PER_CONNECTOR * len(items), f"{name}: a duplicate or a missing item"
        refused = {"notion": box.notion.server.faults.injected["429"]}
        refused.update({name: t.faults.injected["429"] for name, t in box.targets.items()})
        refused.update({f"trello {kind}": n for kind, n in box.targets["trello"].emulator.rate_limited.items()})  # type: ignore[attr-defined]
        assert refused == dict.fromkeys(refused, 0)


def next_mid_sync(box: Sandbox, workers: list[subprocess.Popen[bytes]]) -> subprocess.Popen[bytes]:
    """A worker holding a mapping's lock right now (its sync begun, not finished)."""
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        for r in mapping_runs(box):
            if r["finished_at"] is None:
                for proc in workers:
                    if r["holder"].startswith(f"pid {proc.pid}@"):
                        return proc
        time.sleep(0.01)
    raise AssertionError("no worker was seen in the middle of a sync")
