"""``check``, client-side pacing under Trello's rate limit, and secrets staying secret."""

from __future__ import annotations

import logging

import pytest

from notion_sync.connectors.trello.client import pacer_for
from notion_sync.core.errors import ConfigError
from notion_sync.core.retry import RetryPolicy
from notion_sync.core.secrets import RedactingFilter

from .testkit import World, desired, page


def by_name(results: list) -> dict[str, object]:
    return {r.name: r for r in results}


def test_check_passes_read_only(world: World) -> None:
    results = world.connector().check(world.mapping())
    assert [r.ok for r in results] == [True, True, True, True], results
    assert world.emu.server.request_count(r"^(POST|PUT|DELETE) ") == 0


def test_check_reports_missing_lists_with_the_existing_ones(world: World) -> None:
    results = world.connector().check(world.mapping(default_list="Archive"))
    lists = by_name(results)["lists"]
    assert not lists.ok and "'Archive'" in lists.detail and "'To do', 'Doing', 'Done'" in lists.detail
    assert lists.access is False


def test_check_reports_bad_token_and_stops(world: World, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(world.token_env, "x" * 64)
    results = world.connector().check(world.mapping())
    assert len(results) == 1 and not results[0].ok and "invalid token" in results[0].detail
    assert "x" * 64 not in results[0].detail


def test_check_reports_missing_board(world: World) -> None:
    results = world.connector().check(world.mapping(board="https://trello.com/b/QQQQQQQQ"))
    assert results[0].ok and not results[1].ok and "'Tasks'" in results[1].detail


def test_check_reports_observer_and_read_only_token(world: World) -> None:
    world.emu.set_member_type(world.board["id"], world.member, "observer")
    write = world.connector().check(world.mapping())[-1]
    assert not write.ok and "observer" in write.detail
    world.emu.set_member_type(world.board["id"], world.member, "normal")
    world.emu.tokens[world.token]["write"] = False
    write = world.connector().check(world.mapping())[-1]
    assert not write.ok and "read access only" in write.detail and "scope=read,write" in write.fix


def test_missing_env_var_is_a_config_error_naming_the_key(world: World, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv(world.key_env)
    with pytest.raises(ConfigError, match="trello.api_key_env"):
        world.connector().prepare(world.mapping())


def test_pacing_keeps_under_the_rate_limit(world: World) -> None:
    # Trello's 100 per 10 s and the default 90, scaled down: 6 and 5 requests per 0.4 s.
    world.emu.token_limit = (6, 0.4)
    conn, ctx = world.connector(rate_limit=5, rate_window=0.4), world.mapping()
    conn.prepare(ctx)
    refs = [conn.create(desired(conn, page(f"Card {i}"), ctx), ctx) for i in range(12)]
    assert len({r.id for r in refs}) == 12 and len(world.emu.cards()) == 12
    assert world.emu.rate_limited["token"] == 0
    assert conn.requests_sent == 3 + 12  # not one retry
    assert pacer_for(world.emu.url, conn._token, 5, 0.4).waited > 0


def test_without_pacing_the_429s_are_retried_and_nothing_is_duplicated(world: World) -> None:
    world.emu.token_limit = (6, 0.3)
    conn, ctx = world.connector(rate_limit=1000, rate_window=0.3), world.mapping()
    conn.retry_policy = RetryPolicy(attempts=12, initial=0.05, max_wait=0.3)
    conn.prepare(ctx)
    for i in range(15):
        conn.create(desired(conn, page(f"Card {i}"), ctx), ctx)
    assert world.emu.rate_limited["token"] > 0
    assert len(world.emu.cards()) == 15
    assert conn.requests_sent == 3 + 15 + world.emu.rate_limited["token"]


def test_secrets_never_reach_urls_logs_or_reprs(world: World, caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.DEBUG)  # urllib3 logs every URL at DEBUG
    conn, ctx = world.connector(), world.mapping()
    world.emu.server.faults.schedule(503, path=r"^/1/cards$")
    conn.create(desired(conn, page("Logged"), ctx), ctx)
    conn.recover([], ctx)
    assert world.token not in caplog.text and world.key not in caplog.text
    assert world.token not in repr(conn._token) and world.token not in str(conn._token)


def test_check_token_probe_is_scrubbed_by_the_core_filter(world: World, caplog: pytest.LogCaptureFixture) -> None:
    # GET /1/tokens/{token} has the token in its path: the only URL that does. The CLI's
    # RedactingFilter (notion_sync.core.secrets) scrubs it from log lines like any registered secret.
    caplog.set_level(logging.DEBUG)
    caplog.handler.addFilter(RedactingFilter())
    results = world.connector().check(world.mapping())
    assert all(r.ok for r in results)
    assert world.token not in caplog.text and world.token not in repr(results)
