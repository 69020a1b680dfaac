"""``check``, client-side pacing under Trello's rate limit, and secrets staying secret."""

from __future__ import annotations

import logging

import pytest

from notion_sync.connectors.trello.connector import TrelloConnector
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
    assert conn.pacers.pacer("trello-token", 5, 0.4).waited > 0


def test_without_pacing_the_headers_hold_it_under_the_limit_and_429s_are_retried(world: World) -> None:
    world.emu.token_limit = (6, 0.3)
    conn, ctx = world.connector(rate_limit=1000, rate_window=0.3), world.mapping()
    conn.retry_policy = RetryPolicy(attempts=12, initial=0.05, max_wait=0.3)
    conn.prepare(ctx)
    world.emu.server.faults.schedule(429, count=3, path=r"^/1/cards$")
    for i in range(15):
        conn.create(desired(conn, page(f"Card {i}"), ctx), ctx)
    # x-rate-limit-api-token-remaining: 0 holds the client before Trello has to refuse it.
    assert world.emu.rate_limited["token"] == 0
    assert len(world.emu.cards()) == 15
    assert conn.requests_sent == 3 + 15 + 3


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


@pytest.mark.failure_case("Trello token permissions capitalised or '*'", "check passes", 0)
@pytest.mark.parametrize(
    "permissions",
    [
        [{"idModel": "*", "modelType": "Board", "read": True, "write": True}],
        [{"idModel": "*", "modelType": "*", "read": True, "write": True}],
        [{"idModel": "BOARD_ID", "modelType": "BOARD", "read": True, "write": True}],
    ],
)
def test_check_write_probe_accepts_any_case_and_wildcards(world: World, permissions: list[dict[str, object]]) -> None:
    world.emu.tokens[world.token]["permissions"] = [
        {**p, "idModel": world.board["id"] if p["idModel"] == "BOARD_ID" else p["idModel"]} for p in permissions
    ]
    write = world.connector().check(world.mapping())[-1]
    assert write.ok, write


@pytest.mark.failure_case("Trello token with write access to another board only", "check names the token's variable", 3)
def test_read_only_token_fix_names_where_the_token_comes_from(world: World) -> None:
    world.emu.tokens[world.token]["permissions"] = [
        {"idModel": "5f000000000000000000dead", "modelType": "Board", "read": True, "write": True},
        {"idModel": "*", "modelType": "*", "read": True, "write": False},
    ]
    write = world.connector().check(world.mapping())[-1]
    assert not write.ok and "read access only" in write.detail
    assert f"environment variable {world.token_env} (trello.token_env)" in write.fix


@pytest.mark.failure_case("Trello unreachable", "check says the service is unreachable and names the URL", 3)
def test_check_says_trello_is_unreachable_not_a_bad_token(world: World) -> None:
    conn = TrelloConnector(world.settings().model_copy(update={"base_url": "http://127.0.0.1:9/1"}))
    conn.retry_policy = RetryPolicy(attempts=2, initial=0.01, max_wait=0.01)
    [result] = conn.check(world.mapping())
    assert not result.ok and "unreachable at http://127.0.0.1:9/1" in result.detail
    assert "token" not in result.fix


@pytest.mark.failure_case("Trello rate-limit window spent by another process", "waits it out; no item fails", 0)
def test_a_window_spent_by_another_process_is_waited_out(world: World) -> None:
    import requests

    world.emu.token_limit = (5, 1.0)
    auth = {"Authorization": f'OAuth oauth_consumer_key="{world.key}", oauth_token="{world.token}"'}
    for _ in range(5):  # another process, same token: this one's pacer cannot see it
        reply = requests.get(f"{world.emu.url}/members/me", headers=auth, timeout=5)
    assert reply.headers["x-rate-limit-api-token-remaining"] == "0"
    assert reply.headers["x-rate-limit-api-token-interval-ms"] == "1000"
    assert reply.headers["x-rate-limit-api-key-max"] == "300"
    conn, ctx = world.connector(), world.mapping()
    # Backoff alone (a few ms here) could never clear a one-second window.
    conn.retry_policy = RetryPolicy(attempts=2, initial=0.001, max_wait=0.001)
    conn.prepare(ctx)
    refs = [conn.create(desired(conn, page(f"Card {i}"), ctx), ctx) for i in range(6)]
    assert len({r.id for r in refs}) == 6 and len(world.emu.cards()) == 6
    assert world.emu.rate_limited["token"] >= 1
