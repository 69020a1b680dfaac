"""Rate limits shared across processes: with ``[celery]``, pacers keep their windows in Redis."""

from __future__ import annotations

import os
import statistics
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import redis

from notion_sync.core.config import load_config
from notion_sync.core.engine import Engine, RunOptions
from notion_sync.core.pacing import Pacer, Pacers, SharedPacer, pace_key
from notion_sync.core.plugins import discover
from notion_sync.core.sandbox import Sandbox
from notion_sync.core.secrets import Secret
from notion_sync.core.testing.servers import RedisServer
from tests.support.memo import with_memo

TOKEN = "ntn_shared_budget_token_0123456789abcdef"
REPO = Path(__file__).resolve().parents[1]


def in_another_process(redis_url: str, code: str) -> None:
    """Run ``code`` in a new Python process with ``pacers = Pacers(redis_url)`` and ``key`` defined."""
    prelude = (
        "from notion_sync.core.pacing import Pacers, pace_key\n"
        "from notion_sync.core.secrets import Secret\n"
        f"pacers = Pacers({redis_url!r}); key = pace_key(Secret({TOKEN!r}))\n"
    )
    env = {**os.environ, "PYTHONPATH": str(REPO) + os.pathsep + os.environ.get("PYTHONPATH", "")}
    subprocess.run([sys.executable, "-c", prelude + code], env=env, check=True, timeout=60)


def test_two_processes_pacers_share_one_tokens_budget_and_not_anothers(redis_server: RedisServer) -> None:
    redis_server.flush()
    # Two Pacers on one Redis: what two worker processes each build for their run.
    first, second = Pacers(redis_server.url), Pacers(redis_server.url)
    a, b = first.pacer("notion-token", 3, 60.0), second.pacer("notion-token", 3, 60.0)
    assert isinstance(a, SharedPacer) and isinstance(b, SharedPacer)
    key = pace_key(Secret(TOKEN))
    for _ in range(3):
        a.wait(key)
    assert b.delay(key) > 0, "the second process still had budget the first spent"
    other = pace_key(Secret(TOKEN + "x"))
    assert b.delay(other) == 0, "another token's budget was spent too"
    stored = [k.decode() for k in redis.Redis.from_url(redis_server.url).keys("*")]
    assert stored and any(key in k for k in stored)
    assert not any(TOKEN in k or TOKEN[-12:] in k for k in stored), "a raw token is in a Redis key"


def test_a_shared_pacer_takes_several_slots_at_once_for_the_fleet(redis_server: RedisServer) -> None:
    redis_server.flush()
    # A Google batch of n calls takes n slots of the user's quota in one step, for every process.
    a, b = (
        Pacers(redis_server.url).pacer("google-user", 10, 60.0),
        Pacers(redis_server.url).pacer("google-user", 10, 60.0),
    )
    key = pace_key(Secret(TOKEN))
    a.wait(key, 7)
    assert b.room(key) == 3  # the other process sees what this one spent
    b.wait(key, 3)
    assert a.room(key) == 0 and a.waited == 0.0 and b.waited == 0.0


def test_without_a_broker_pacing_stays_in_the_process() -> None:
    pacers = Pacers()
    assert not pacers.shared and isinstance(pacers.pacer("notion-token", 3, 1.0), Pacer)
    assert pacers.pacer("notion-token", 3, 1.0) is pacers.pacer("notion-token", 3, 1.0)
    assert Pacers().pacer("notion-token", 3, 1.0) is not pacers.pacer("notion-token", 3, 1.0)  # no global registry


def test_a_run_under_celery_paces_through_redis(box: Sandbox, redis_server: RedisServer, monkeypatch) -> None:
    redis_server.flush()
    monkeypatch.setenv("NS_TEST_BROKER", redis_server.url)
    data = box.config_data()
    data["celery"] = {"broker_url_env": "NS_TEST_BROKER"}
    box.write_config(data)
    engine = Engine(load_config(box.config_path, discovery=with_memo()))
    assert engine.pacers.shared
    report = engine.run(RunOptions())
    assert report.exit_code == 0
    stored = [k.decode() for k in redis.Redis.from_url(redis_server.url).keys("*notion-token*")]
    assert stored, "the run's Notion requests were not counted in Redis"


def test_a_hold_in_one_process_holds_every_process_until_it_expires(redis_server: RedisServer) -> None:
    redis_server.flush()
    mine = Pacers(redis_server.url).pacer("trello-token", 90, 10.0)
    assert isinstance(mine, SharedPacer)
    key = pace_key(Secret(TOKEN))
    assert mine.delay(key) == 0
    # Another worker was told by the service that the window is spent, for 0.6 s.
    in_another_process(redis_server.url, "pacers.pacer('trello-token', 90, 10.0).hold(key, 0.6)")
    held = mine.delay(key)
    assert 0 < held <= 0.6, held
    assert mine.room(key) == 0, "a held key has no room"
    assert mine.delay(pace_key(Secret(TOKEN + "x"))) == 0, "the hold is on one key only"
    mine.hold(key, 0.01)  # a shorter hold never shortens a longer one
    assert mine.delay(key) > 0.01
    mine.wait(key)  # waits the hold out, then takes its slot
    assert mine.waited > 0
    assert mine.delay(key) == 0
    holds = redis.Redis.from_url(redis_server.url).keys("*:hold")
    assert holds == [], "an expired hold stayed in Redis"


def test_shared_windows_keep_fractions_of_a_second(redis_server: RedisServer) -> None:
    redis_server.flush()
    key = pace_key(Secret(TOKEN))
    # Slack's 1 post per 1.1 s per channel, and 11 s scaled 10x: each stays 1.1 s (whole seconds
    # would make it 2 s; scaled pacing used to stay in the process).
    for window, scale in ((1.1, 1.0), (11.0, 10.0)):
        redis_server.flush()
        mine = Pacers(redis_server.url).pacer("slack-channel", 1, window, scale=scale)
        assert isinstance(mine, SharedPacer)
        in_another_process(redis_server.url, f"pacers.pacer('slack-channel', 1, {window}, scale={scale}).wait(key)")
        delay = mine.delay(key)
        assert 0 < delay <= window / scale, (scale, delay)


def test_two_processes_posting_to_one_channel_share_its_pace(
    tmp_path: Path, redis_server: RedisServer, monkeypatch
) -> None:
    # Slack allows 1 post per second per channel, which the emulator enforces. Two processes
    # post a mapping each into one channel at the same time; the shared pacer (1 per 1.1 s,
    # unscaled: its 0.1 s margin stays above a loaded machine's scheduling jitter) keeps them
    # under it together.
    redis_server.flush()
    monkeypatch.setenv("NS_TEST_BROKER", redis_server.url)
    rows = [{"Name": f"Row {i:02}", "Status": "Not started"} for i in range(8)]
    with Sandbox(tmp_path, connectors={"slack": discover().connectors["slack"]}, rows=rows) as box:
        data = box.config_data()
        data["celery"] = {"broker_url_env": "NS_TEST_BROKER"}
        data["slack"]["pacing_scale"] = 1.0
        data["mappings"] = [{**data["mappings"][0], "name": f"slack-{i}"} for i in range(2)]
        box.write_config(data)
        target: Any = box.targets["slack"]
        faults = target.emulator.server.faults
        faults.rate_limit, faults.rate_limit_path = (1, 1.0), r"chat\.postMessage"
        env = {**os.environ, "NOTION_SYNC_CONFIG": str(box.config_path)}
        env["PYTHONPATH"] = str(REPO) + os.pathsep + env.get("PYTHONPATH", "")
        procs = [
            subprocess.Popen(
                [sys.executable, "-m", "notion_sync", "run", "--mapping", f"slack-{i}"],
                cwd=box.workdir,
                env=env,
                stdout=subprocess.PIPE,
                stderr=subprocess.STDOUT,
            )
            for i in range(2)
        ]
        for proc in procs:
            output = proc.communicate(timeout=120)[0].decode()
            assert proc.returncode == 0, output
        assert faults.injected["429"] == 0, "the two processes together posted faster than Slack allows"
        assert target.item_count() == 16  # every row of both mappings, once
        stamps = sorted(float(m.ts) for m in target.emulator.messages(target.channel_id))
        gaps = [b - a for a, b in zip(stamps, stamps[1:], strict=False)]
        # The pace is the local one (1.1 s), not whole seconds (2 s, as `limits` had it).
        assert statistics.median(gaps) < 1.6, gaps


def test_a_notion_429_holds_the_tokens_budget_in_every_process(redis_server: RedisServer, box: Sandbox) -> None:
    """Notion's Retry-After says the integration's budget is spent: every worker on the token
    waits it out, not only the request that got it."""
    import threading

    from notion_sync.core.notion_source import NotionSource
    from notion_sync.core.retry import RetryPolicy

    redis_server.flush()
    notion = box.notion
    assert box.database is not None
    notion.faults.retry_after = 2.0
    notion.faults.schedule(429, count=1, path="/query", method="POST")
    token = Secret(notion.token)
    source = NotionSource(token, base_url=notion.url, pacers=Pacers(redis_server.url), retry=RetryPolicy(attempts=3))
    pages: list[list[Any]] = []
    reading = threading.Thread(target=lambda: pages.extend(source.pages(box.database.data_source_id)))
    reading.start()
    # Another worker's pacer for the same token (the reader's: 6 per 2.2 s at 3 requests per second).
    other = Pacers(redis_server.url).pacer("notion-token", 6, 2.2)
    assert isinstance(other, SharedPacer)
    held = 0.0
    deadline = time.monotonic() + 30
    while reading.is_alive() and held <= 1.0 and time.monotonic() < deadline:
        held = max(held, other.delay(pace_key(token)))  # the hold lasts from the 429 to the retry
        time.sleep(0.01)
    reading.join(timeout=30)
    assert notion.faults.injected["429"] == 1
    assert held > 1.0, "the other process was not held by Notion's Retry-After"
    assert sum(len(p) for p in pages) == len(box.database.pages), "the read finished after the hold"
    assert other.delay(pace_key(Secret(notion.token + "x"))) == 0, "another token is not held"
