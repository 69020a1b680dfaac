"""Rate limits shared across processes: with ``[celery]``, pacers keep their windows in Redis."""

from __future__ import annotations

import redis

from notion_sync.core.config import load_config
from notion_sync.core.engine import Engine, RunOptions
from notion_sync.core.pacing import Pacer, Pacers, SharedPacer, pace_key
from notion_sync.core.sandbox import Sandbox
from notion_sync.core.secrets import Secret
from notion_sync.core.testing.servers import RedisServer
from tests.support.memo import with_memo

TOKEN = "ntn_shared_budget_token_0123456789abcdef"


def test_two_processes_pacers_share_one_tokens_budget_and_not_anothers(redis_server: RedisServer) -> None:
    redis_server.flush()
    # Two Pacers on one Redis: what two worker processes each build for their run.
    first, second = Pacers(redis_server.url), Pacers(redis_server.url)
    a, b = first.pacer("notion-token", 3, 60.0), second.pacer("notion-token", 3, 60.0)
    assert isinstance(a, SharedPacer) and isinstance(b, SharedPacer)
    key = pace_key(Secret(TOKEN))
    for _ in range(3):
        a.wait(key)
    assert not b.limiter.test(b.item, b.name, key), "the second process still had budget the first spent"
    other = pace_key(Secret(TOKEN + "x"))
    assert b.limiter.test(b.item, b.name, other), "another token's budget was spent too"
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
