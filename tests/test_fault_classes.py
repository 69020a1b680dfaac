"""Each fault class, for each service, through the real engine: retried faults end in exactly one item
per row; a non-retryable reply fails that item (or, for Notion, the mapping) with the service's message.

The connectors' own tests cover their status tables call by call; this is the same
promise end to end: the engine, the connector, the real client library and the
service's emulator answering as the service does (429 with Retry-After for Notion
and Slack, without for Trello and Google, 403 ``rateLimitExceeded`` for Google).
A timeout is a reply held longer than the client waits, while the server still does
the work, so a retry after a timeout must not write twice.
"""

from __future__ import annotations

import logging
import socket
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from notion_sync.core.plugins import discover
from notion_sync.core.sandbox import Sandbox
from tests.support.memo import MemoConnector

TARGETS = ("google_calendar", "trello", "slack")
CREATE_PATH = {
    "google_calendar": r"/calendars/[^/]+/events$",
    "trello": r"^/1/cards$",
    "slack": r"chat\.postMessage$",
}
# A timed-out request: Google sends its creates as one batch request.
TIMEOUT_PATH = {**CREATE_PATH, "google_calendar": r"^/batch/"}
TIMEOUT = 0.5


def sandbox(tmp_path: Path, connector: str) -> Sandbox:
    cls = MemoConnector if connector == "memo" else discover().connectors[connector]
    return Sandbox(tmp_path, connectors={connector: cls})


def faults(box: Sandbox) -> Any:
    (target,) = box.targets.values()
    return target.emulator.server.faults


def expected(box: Sandbox) -> int:
    return sum(1 for a in box.run(dry_run=True).mappings[0].plan if a.kind == "create")


def assert_exact(box: Sandbox, rep: Any, count: int) -> None:
    (target,) = box.targets.values()
    assert rep.status == "ok", rep.error
    assert rep.counts["failed"] == 0, rep.errors
    assert rep.counts["created"] == count
    assert len(target.items()) == count and target.item_count() == count, "a duplicate or a missing item"


def timed_out_and_retried(caplog: pytest.LogCaptureFixture) -> bool:
    """The retry policy logged a retry after a timeout (each client words it its own way)."""
    return any(
        "retry 1 of" in r.getMessage() and ("time" in r.getMessage().lower())
        for r in caplog.records
        if r.name == "notion_sync.core.retry"
    )


@pytest.fixture
def short_timeouts(tmp_path: Path) -> Iterator[None]:
    """Google's client takes the socket default timeout when it is built; the others have a setting."""
    before = socket.getdefaulttimeout()
    socket.setdefaulttimeout(TIMEOUT)
    try:
        yield
    finally:
        socket.setdefaulttimeout(before)


def with_timeouts(box: Sandbox) -> None:
    data = box.config_data()
    data["notion"]["timeout"] = TIMEOUT
    for name in ("trello", "slack"):
        if name in data:
            data[name]["timeout"] = TIMEOUT
    box.write_config(data)


# -- the targets --------------------------------------------------------------------------------
@pytest.mark.parametrize("fault", ["429", "500", "502", "503", "drop"])
@pytest.mark.parametrize("connector", TARGETS)
def test_transient_target_faults_on_create_are_retried_without_duplicates(
    tmp_path: Path, connector: str, fault: str
) -> None:
    with sandbox(tmp_path, connector) as box:
        count = expected(box)
        faults(box).retry_after = 0.0  # Slack's client sleeps Retry-After itself: keep the test fast
        faults(box).schedule(0 if fault == "drop" else int(fault), count=2, path=CREATE_PATH[connector], method="POST")
        rep = box.run().mappings[0]
        assert faults(box).injected[fault] == 2
        assert_exact(box, rep, count)


def test_google_403_rate_limit_is_retried(tmp_path: Path) -> None:
    with sandbox(tmp_path, "google_calendar") as box:
        count = expected(box)
        faults(box).schedule(403, count=3, path=CREATE_PATH["google_calendar"], method="POST")
        rep = box.run().mappings[0]
        assert faults(box).injected["403"] == 3
        assert_exact(box, rep, count)


@pytest.mark.usefixtures("short_timeouts")
@pytest.mark.parametrize("connector", TARGETS)
def test_a_timed_out_create_that_landed_is_not_written_twice(
    tmp_path: Path, connector: str, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO, logger="notion_sync.core.retry")
    caplog.set_level(logging.INFO)
    with sandbox(tmp_path, connector) as box:
        with_timeouts(box)
        count = expected(box)
        faults(box).schedule_delay(TIMEOUT * 3, path=TIMEOUT_PATH[connector], method="POST")
        rep = box.run().mappings[0]
        assert faults(box).injected["delay"] == 1
        assert timed_out_and_retried(caplog)
        assert_exact(box, rep, count)
        # A retried timeout is not a problem: nothing at ERROR (``--quiet`` would print it to cron).
        assert not [r.getMessage() for r in caplog.records if r.levelno >= logging.ERROR]


def test_a_create_that_landed_and_then_failed_retryably_is_looked_for_before_the_next_create(tmp_path: Path) -> None:
    """A post that reached Slack but whose answer was lost, and whose every retry then failed
    (the look-up for it too), ends the run as a failed item that may have landed: the next run
    must look for it before posting, so the row ends with one message, not two.

    Catches: the engine clearing the intent of a create that failed with a retryable error (as it
    rightly does for a plain rejection), so the next run posts again: a duplicate."""
    with sandbox(tmp_path, "slack") as box:
        assert box.database is not None
        (target,) = box.targets.values()
        emu = target.emulator
        first = box.run().mappings[0]
        assert first.counts["failed"] == 0, first.errors
        count = target.item_count()
        page = box.notion.add_page(box.database.data_source_id, {"Name": "Posted once", "Status": "Not started"})
        emu.faults.retry_after = 0.0
        emu.lose_next_answer("chat.postMessage")  # the message lands, the answer is a 500
        emu.faults.schedule(503, count=100, path=r"conversations\.history$")  # every look-up for it fails
        rep = box.run().mappings[0]
        assert rep.counts["failed"] == 1 and [f.page_id for f in rep.errors] == [page], rep.errors
        assert target.item_count() == count + 1, "the lost-answer post did not land: the test proves nothing"
        emu.faults.clear()
        later = datetime.now(UTC) + timedelta(hours=2)  # past the failed item's retry delay
        rep = box.run(now=lambda: later).mappings[0]
        assert rep.status == "ok" and rep.counts["failed"] == 0, rep.errors
        assert rep.counts["created"] == 0, "the row was posted again instead of being looked for"
        assert target.item_count() == count + 1 and page in target.items(), "a duplicate or a missing message"


@pytest.mark.parametrize("connector", TARGETS)
def test_a_rejected_item_fails_alone_with_the_services_message(tmp_path: Path, connector: str) -> None:
    with sandbox(tmp_path, connector) as box:
        count = expected(box)
        (target,) = box.targets.values()
        if connector == "slack":
            target.emulator.fail_next("chat.postMessage", "msg_too_long")
            message = "msg_too_long"
        else:
            faults(box).schedule(400, path=CREATE_PATH[connector], method="POST")
            message = {
                "google_calendar": "Google answered 400 invalid: Bad Request",
                "trello": "Trello rejected the request (400: error 400)",
            }[connector]
        report = box.run()
        rep = report.mappings[0]
        assert report.exit_code == 1 and rep.status == "ok"
        assert rep.counts["failed"] == 1 and rep.counts["created"] == count - 1
        (failure,) = rep.errors
        error = failure.error
        assert message in error
        assert target.item_count() == count - 1


# -- Notion (the source) ------------------------------------------------------------------------
@pytest.mark.parametrize("status", [500, 502, 504])
def test_notion_server_errors_on_the_query_post_are_retried(tmp_path: Path, status: int) -> None:
    # 429, 503, 529 and dropped connections are in test_engine.py.
    with sandbox(tmp_path, "memo") as box:
        box.notion.server.faults.schedule(status, count=2, path="/query", method="POST")
        rep = box.run().mappings[0]
        assert box.notion.server.faults.injected[str(status)] == 2
        assert_exact(box, rep, len(box.database.pages))


@pytest.mark.usefixtures("short_timeouts")
def test_a_notion_timeout_is_retried(tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.INFO, logger="notion_sync.core.retry")
    with sandbox(tmp_path, "memo") as box:
        with_timeouts(box)
        box.notion.server.faults.schedule_delay(TIMEOUT * 3, path="/query", method="POST")
        rep = box.run().mappings[0]
        assert box.notion.server.faults.injected["delay"] == 1
        assert timed_out_and_retried(caplog)
        assert_exact(box, rep, len(box.database.pages))


def test_a_notion_rejection_stops_the_mapping_with_notions_message_and_deletes_nothing(tmp_path: Path) -> None:
    with sandbox(tmp_path, "memo") as box:
        box.run()
        count = box.targets["memo"].item_count()
        box.notion.server.faults.schedule(400, path="/query", method="POST")
        report = box.run(full=True)
        rep = report.mappings[0]
        assert rep.status == "failed" and report.exit_code == 1
        assert "Notion rejected the request (400" in rep.error
        assert box.targets["memo"].item_count() == count


def test_a_notion_retry_after_is_what_the_wait_honours(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Notion's 429 says Retry-After: 2; the wait before the retry is those 2 s (times the test's scale)."""
    import notion_sync.core.retry as retry

    waits: list[float] = []
    real = retry._waiter

    def spying(policy: retry.RetryPolicy) -> Any:
        wait = real(policy)

        def recorded(state: Any) -> float:
            waits.append(wait(state))
            return 0.0

        return recorded

    monkeypatch.setattr(retry, "_waiter", spying)
    policy = retry.RetryPolicy(attempts=3, initial=0.001, max_wait=0.01, max_retry_after=120)
    with sandbox(tmp_path, "memo") as box:
        box.notion.server.faults.retry_after = 2.0
        box.notion.server.faults.schedule(429, path="/query", method="POST")
        assert box.run(retry=policy).mappings[0].status == "ok"
    assert waits == [2.0]
