"""``python -m benchmarks.fleet [--mappings 50] [--rows 200] [--workers 1,2,4]``: the Celery fleet.

N mappings of R rows each (one Notion database of R rows, N Trello mappings onto one board,
all through one Notion token and one Trello token), synced by 1, 2 and 4 Celery workers
(separate processes, ``--pool=solo``) on PostgreSQL state and a Redis broker that also keeps
the shared rate limits. For each worker count it prints the wall time (from ``enqueue --all``
to the last mapping's end, as the state's ``mapping_runs`` records it), the rate-limit floor
of the tokens involved (the writes and reads divided by the shared budgets: nothing can be
faster), the speed-up over one worker, and the PostgreSQL round trips per synced item (counted
by the state connection, in one in-process run of one more mapping).

Needs PostgreSQL and Redis from Debian's packages (``apt-get install postgresql redis-server``).
"""

from __future__ import annotations

import argparse
import os
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

from notion_sync.core.config import load_config
from notion_sync.core.engine import Engine, RunOptions
from notion_sync.core.plugins import discover
from notion_sync.core.sandbox import Sandbox
from notion_sync.core.state import StateStore
from notion_sync.core.testing.servers import PostgresServer, RedisServer

REPO = Path(__file__).resolve().parents[1]
TRELLO_LIMIT = (300, 1.0)
"""The Trello token's budget in this benchmark (requests, seconds): raised from Trello's 100 per
10 s so a run takes seconds; the emulator enforces it, the fleet shares it in Redis."""
PACED_SHARE = 0.9
"""The connector paces at this share of the emulator's budget, as its default does against
Trello's (90 of 100 per 10 s): with no margin, arrival jitter alone meets a refusal."""
NOTION_RPS = 30.0


def rows(n: int) -> list[dict[str, Any]]:
    return [{"Name": f"Task {i:04}", "Status": "Not started"} for i in range(n)]


def run_fleet(box: Sandbox, env: dict[str, str], workers: int, names: list[str]) -> float:
    procs = [
        subprocess.Popen(
            [sys.executable, "-m", "celery", "-A", "notion_sync.celery", "worker", "--pool=solo", "-n", f"b{i}@%h"]
            + ["--without-gossip", "--without-mingle", "--without-heartbeat", "-l", "error"],
            cwd=box.workdir,
            env=env,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        for i in range(workers)
    ]
    try:
        time.sleep(3.0)  # let the workers connect before the clock starts
        from notion_sync.celery import queue_sync

        cfg = box.config()
        start = time.time()
        for name in names:
            queue_sync(cfg, name, force=True)
        while True:
            state = box.open_state(readonly=True)
            try:
                finished = [r for r in state.mapping_runs() if r["finished_at"] and r["mapping"] in names]
            finally:
                state.close()
            if len({r["mapping"] for r in finished}) == len(names):
                break
            time.sleep(0.2)
        from datetime import datetime

        end = max(datetime.fromisoformat(r["finished_at"]).timestamp() for r in finished)
        return end - start
    finally:
        for p in procs:
            p.terminate()
        for p in procs:
            p.wait()


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m benchmarks.fleet", description=__doc__)
    parser.add_argument("--mappings", type=int, default=50)
    parser.add_argument("--rows", type=int, default=200)
    parser.add_argument("--workers", default="1,2,4")
    args = parser.parse_args(argv)
    counts = [int(w) for w in args.workers.split(",")]
    # Stopped with SIGTERM, it still stops its PostgreSQL and Redis.
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))
    folder = Path(tempfile.mkdtemp(prefix="notion-sync-fleet-"))
    pg, redis_server = PostgresServer(folder / "pg"), RedisServer(folder / "redis")
    (folder / "pg").mkdir()
    os.chmod(folder, 0o755)
    pg.start()
    redis_server.start()
    results = []
    try:
        for workers in counts:
            redis_server.flush()
            url = pg.fresh_database()
            os.environ["NS_BENCH_STATE_URL"], os.environ["NS_BENCH_BROKER"] = url, redis_server.url
            trello = discover().connectors["trello"]
            with Sandbox(folder / f"w{workers}", connectors={"trello": trello}, rows=rows(args.rows)) as box:
                data = box.config_data()
                data["state"] = {"url_env": "NS_BENCH_STATE_URL"}
                data["celery"] = {"broker_url_env": "NS_BENCH_BROKER"}
                data["notion"]["requests_per_second"] = NOTION_RPS
                data["trello"]["rate_limit"] = int(TRELLO_LIMIT[0] * PACED_SHARE)
                data["trello"]["key_rate_limit"] = int(TRELLO_LIMIT[0] * 3 * PACED_SHARE)
                data["trello"]["rate_window"] = TRELLO_LIMIT[1]
                base = data["mappings"][0]
                names = [f"m{i:03}" for i in range(args.mappings)]
                data["mappings"] = [{**base, "name": n} for n in [*names, "counted"]]
                box.write_config(data)
                emulator: Any = box.targets["trello"].emulator
                emulator.token_limit, emulator.key_limit = TRELLO_LIMIT, (TRELLO_LIMIT[0] * 3, TRELLO_LIMIT[1])
                box.notion.server.faults.rate_limit = (int(NOTION_RPS * 2), 2.0)
                env = {**os.environ, "NOTION_SYNC_CONFIG": str(box.config_path)}
                env["PYTHONPATH"] = str(REPO) + os.pathsep + env.get("PYTHONPATH", "")
                trello_before = sum(box.targets["trello"].emulator.requests.values())
                notion_before = sum(box.notion.requests.values())
                wall = run_fleet(box, env, workers, names)
                trello_calls = sum(box.targets["trello"].emulator.requests.values()) - trello_before
                notion_calls = sum(box.notion.requests.values()) - notion_before
                floor = max(trello_calls * TRELLO_LIMIT[1] / TRELLO_LIMIT[0], notion_calls / NOTION_RPS)
                refused = sum(emulator.rate_limited.values()) + box.notion.server.faults.injected["429"]
                trips = round_trips_per_item(box)
                results.append((workers, wall, floor, trello_calls, notion_calls, refused, trips))
                print(f"{workers} workers: {wall:.1f} s (floor {floor:.1f} s)", file=sys.stderr, flush=True)
    finally:
        redis_server.stop()
        pg.stop()
    one = results[0][1]
    print(f"\n{args.mappings} mappings × {args.rows} rows into Trello (one token), PostgreSQL state, Redis\n")
    columns = ("workers", "wall", "rate-limit floor", "wall / floor", "speed-up", "Trello calls", "Notion calls")
    print("| " + " | ".join((*columns, "429s", "PG round trips / item")) + " |")
    print("|---|---|---|---|---|---|---|---|---|")
    for workers, wall, floor, tc, nc, refused, trips in results:
        print(
            f"| {workers} | {wall:.1f} s | {floor:.1f} s | {wall / floor:.2f} | {one / wall:.2f}× | {tc} | {nc} "
            f"| {refused} | {trips:.2f} |"
        )
    return 0


def round_trips_per_item(box: Sandbox) -> float:
    """One more mapping synced in this process: its state connections' round trips per item."""
    trips: list[Any] = []

    def counted(path: Any, *, readonly: bool = False) -> StateStore:
        store = StateStore.open(path, readonly=readonly)
        trips.append(store.conn)
        return store

    engine = Engine(load_config(box.config_path, discovery=box.discovery), state=counted)
    report = engine.run(RunOptions(mappings=["counted"]))
    (rep,) = report.mappings
    items = max(1, rep.writes + rep.counts["unchanged"])
    return sum(getattr(c, "round_trips", 0) for c in trips) / items


if __name__ == "__main__":
    raise SystemExit(main())
