"""apply(): many writes in Google batch requests, per-call results, only failed calls retried."""

from __future__ import annotations

import pytest

from notion_sync.connectors.google_calendar.connector import GoogleCalendarConnector
from notion_sync.connectors.google_calendar.emulator import GoogleCalendarEmulator
from notion_sync.connectors.google_calendar.settings import GoogleCalendarSettings
from notion_sync.core.adapter import CreateOperation, DeleteOperation, DesiredItem, Link, Operation, UpdateOperation
from notion_sync.core.errors import AccessError

from .conftest import CALENDAR, MakeMapping, date_prop, desired, make_row

BATCH = r"^POST /batch/calendar/v3$"
INSERT = r"^POST /calendar/v3/calendars/[^/]+/events$"


@pytest.fixture
def mapping(connector: GoogleCalendarConnector, make_mapping: MakeMapping):
    m = make_mapping()
    connector.prepare(m)
    return m


def creates(connector, mapping, n: int, prefix: str = "row") -> list[Operation]:
    rows = [make_row(f"{prefix} {i}", due=date_prop(f"2026-04-{i % 28 + 1:02d}")) for i in range(n)]
    return [CreateOperation(r.id, desired(connector, r, mapping)) for r in rows]


def test_a_hundred_creates_are_one_batch_request(emulator: GoogleCalendarEmulator, connector, mapping) -> None:
    assert connector.calls_per_batch == connector.batch_size == 100  # a page of rows, one request
    results = list(connector.apply(creates(connector, mapping, 100), mapping))
    assert len(results) == 100 and all(r.ref is not None and r.error is None for r in results)
    assert emulator.server.request_count(BATCH) == 1
    assert emulator.server.request_count(INSERT) == 100
    assert len(emulator.events(CALENDAR)) == 100
    assert [r.operation for r in results] == [r.operation for r in results]  # in order
    assert {r.ref.id for r in results} == {e["id"] for e in emulator.events(CALENDAR)}


def test_only_failed_calls_are_retried(emulator, connector, mapping) -> None:
    emulator.faults.schedule(403, count=2, path=r"/events$", method="POST")  # rateLimitExceeded
    emulator.faults.schedule(429, count=1, path=r"/events$", method="POST")
    results = list(connector.apply(creates(connector, mapping, 10), mapping))
    assert all(r.error is None for r in results)
    assert emulator.server.request_count(INSERT) == 13  # 10 + the 3 failed ones again
    assert emulator.server.request_count(BATCH) == 2
    assert len(emulator.events(CALENDAR)) == 10


def test_a_rejected_call_fails_alone(emulator, connector, mapping) -> None:
    ops = creates(connector, mapping, 5)
    bad = DesiredItem(
        "events",
        "1" * 32,
        "",
        "bad",
        {"summary": "bad", "start": {"date": "2026-03-10"}, "end": {"date": "2026-03-01"}},
    )
    ops.insert(2, CreateOperation(bad.page_id, bad))
    results = list(connector.apply(ops, mapping))
    assert [r.error is None for r in results] == [True, True, False, True, True, True]
    assert "time range is empty" in str(results[2].error)
    assert emulator.server.request_count(INSERT) == 6  # the 400 is not retried


def test_rate_limit_that_never_ends_fails_only_those_calls(emulator, connector, mapping) -> None:
    written = list(connector.apply(creates(connector, mapping, 2, prefix="old"), mapping))
    updates = [
        UpdateOperation(r.operation.page_id, r.operation.item, Link(r.operation.page_id, r.ref, None)) for r in written
    ]  # type: ignore[arg-type]
    emulator.faults.schedule(429, count=1000, method="PATCH")
    results = list(connector.apply([*creates(connector, mapping, 2, prefix="new"), *updates], mapping))
    assert [type(r.error).__name__ for r in results] == ["NoneType", "NoneType", "RetryableError", "RetryableError"]
    assert emulator.server.request_count(r"^PATCH ") == 2 * connector.retry_policy.attempts  # each tried that often
    assert len(emulator.events(CALENDAR)) == 4


def test_mixed_operations_and_trash_restore_in_batches(emulator, connector, mapping) -> None:
    ops = creates(connector, mapping, 6)
    first = list(connector.apply(ops, mapping))
    links = [Link(r.operation.page_id, r.ref, r.operation.item.payload) for r in first]  # type: ignore[union-attr, arg-type]
    deletes = [DeleteOperation(link.page_id, link, "delete") for link in links[:3]]
    updates = [UpdateOperation(link.page_id, op.item, link) for link, op in zip(links[3:], ops[3:], strict=True)]
    emulator.server.requests.clear()
    second = list(connector.apply([*deletes, *updates], mapping))
    assert [r.ref is None for r in second] == [True, True, True, False, False, False]
    assert emulator.server.request_count(BATCH) == 1
    emulator.server.requests.clear()
    restored = list(connector.apply(ops[:3], mapping))  # the trashed rows come back
    assert [r.ref.id for r in restored] == [link.ref.id for link in links[:3]]  # type: ignore[union-attr]
    assert emulator.server.request_count(BATCH) == 3  # insert (409), get, patch
    assert len(emulator.events(CALENDAR)) == 6


def test_a_failed_batch_request_is_sent_again(emulator, connector, mapping) -> None:
    emulator.faults.schedule(503, count=1, path=r"^/batch/")
    results = list(connector.apply(creates(connector, mapping, 3), mapping))
    assert all(r.error is None for r in results)
    assert emulator.server.request_count(BATCH) == 2 and len(emulator.events(CALENDAR)) == 3


def test_random_faults_still_give_exactly_once(emulator, connector, mapping) -> None:
    emulator.faults.rate_limit_prob = 0.15
    emulator.faults.server_error_prob = 0.1
    ops = creates(connector, mapping, 40)
    for _ in range(3):  # re-runs: what failed is retried, nothing is duplicated
        results = list(connector.apply(ops, mapping))
        ops = [r.operation for r in results if r.error is not None]
        if not ops:
            break
    emulator.faults.clear()
    if ops:
        list(connector.apply(ops, mapping))
    events = emulator.events(CALENDAR)
    pages = [e["extendedProperties"]["private"]["notionSyncPage"] for e in events]
    assert len(events) == 40 and len(set(pages)) == 40


def test_bad_credentials_in_a_batch_stop_the_mapping(emulator, connector, mapping) -> None:
    emulator.reject_credentials = True
    with pytest.raises(AccessError):
        list(connector.apply(creates(connector, mapping, 3), mapping))


class FastWindow(GoogleCalendarConnector):
    """The connector with its quota window scaled from 60 s to 2 s, so a test can wait one out."""

    @property
    def _pacer(self):  # type: ignore[override]
        return self.pacers.pacer("google-user", self.settings.max_requests_per_minute, 60.0, scale=30.0)


def batch_sizes(emulator: GoogleCalendarEmulator) -> list[int]:
    """The calls in each batch request, in order, from the emulator's request log."""
    sizes: list[int] = []
    for entry in emulator.server.log:
        if entry["path"] == "/batch/calendar/v3":
            sizes.append(0)
        elif sizes:
            sizes[-1] += 1
    return sizes


@pytest.fixture
def fast(emulator: GoogleCalendarEmulator, make_mapping: MakeMapping):
    conn = FastWindow(GoogleCalendarSettings(api_endpoint=emulator.api_endpoint, max_requests_per_minute=100))
    m = make_mapping()
    conn.prepare(m)
    emulator.server.log.clear()
    yield conn, m
    conn.close()


def test_a_batch_holds_only_the_calls_the_window_has_room_for(emulator, fast) -> None:
    conn, m = fast
    pacer, key = conn._pacer, conn._pace_key
    pacer.wait(key, pacer.room(key) - 30)  # other calls of this user left room for 30 in the window
    results = list(conn.apply(creates(conn, m, 100), m))
    assert all(r.error is None for r in results) and len(emulator.events(CALENDAR)) == 100
    # 30 now (the window's last room), the other 70 together once the window has moved: every
    # call counts, and a cut page is two requests, not three (30, 50 and 20 repeated every window).
    assert batch_sizes(emulator) == [30, 70]
    assert emulator.faults.injected["429"] == 0


def test_a_window_with_room_takes_full_batches(emulator, fast) -> None:
    conn, m = fast
    list(conn.apply(creates(conn, m, 100), m))
    assert batch_sizes(emulator) == [100]  # the batch takes its 100 slots at once
