"""Read-ahead of Notion pages shared by several consumers, and mappings of different connectors run side by side."""

from __future__ import annotations

import errno
import io
import threading
import time
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from notion_sync.core.errors import FatalError
from notion_sync.core.sandbox import Sandbox
from notion_sync.core.shared_read import SharedRead
from tests.support.memo import MemoConnector


def prefetched(source, setup=lambda: None):
    """The read-ahead of a shared read, seen by one of its two consumers (the other has left)."""
    shared = SharedRead(lambda: source, 2, setup=setup)
    shared.leave(1)
    return shared.pages(0)


def test_a_read_with_one_consumer_runs_in_the_consumers_thread_in_order():
    names = []
    source = iter([1, 2, 3])
    got = list(SharedRead(lambda: source, 1, setup=lambda: names.append(threading.current_thread().name)).pages(0))
    assert got == [1, 2, 3]
    assert set(names) == {threading.current_thread().name}


def test_a_lone_consumer_that_waits_on_its_target_hands_the_read_to_a_reading_thread():
    from notion_sync.core.shared_read import HAND_OVER_AFTER_WAITING

    names = []
    source = iter(range(6))
    got = []
    for item in SharedRead(lambda: source, 1, setup=lambda: names.append(threading.current_thread().name)).pages(0):
        got.append(item)
        time.sleep(HAND_OVER_AFTER_WAITING * 1.5)  # a target's writes: waiting, not computing
    assert got == [0, 1, 2, 3, 4, 5]
    assert names[:2] == [threading.current_thread().name] * 2  # read inline at first
    assert names[-1] == "notion-read"  # then in a reading thread, which reads ahead


def test_prefetched_keeps_order_and_reads_ahead():
    produced = []

    def source():
        for i in range(5):
            produced.append(i)
            yield i

    out = []
    for item in prefetched(source()):
        if item == 0:
            deadline = time.monotonic() + 2
            while len(produced) < 2 and time.monotonic() < deadline:
                time.sleep(0.01)
            assert len(produced) >= 2  # the next page was fetched while this one was handled
        out.append(item)
    assert out == [0, 1, 2, 3, 4]


def test_prefetched_raises_the_sources_error_in_order():
    def source():
        yield 1
        raise ValueError("boom")

    got = []
    with pytest.raises(ValueError, match="boom"):
        for item in prefetched(source()):
            got.append(item)
    assert got == [1]


def test_prefetched_stops_the_producer_when_the_consumer_stops():
    produced = []

    def source():
        for i in range(1000):
            produced.append(i)
            yield i

    for item in prefetched(source()):
        if item == 1:
            break
    time.sleep(0.3)
    assert len(produced) < 10


def test_prefetched_runs_setup_in_the_producer_thread():
    names = []
    list(prefetched(iter([1]), setup=lambda: names.append(threading.current_thread().name)))
    assert names == ["notion-read"]


class OtherMemoConnector(MemoConnector):
    name = "memo2"


def test_mappings_of_two_connectors_run_side_by_side_with_exact_counts(tmp_path):
    hourly = {"full_scan_interval": "1h"}  # an incremental second run
    with Sandbox(
        tmp_path,
        connectors={"memo": MemoConnector, "memo2": OtherMemoConnector},
        rows=[],
        mapping_overrides={"memo": hourly, "memo2": hourly},
    ) as box:
        box.notion.set_clock(datetime.now(UTC) - timedelta(minutes=10))  # rows edited before the last run
        box.notion.add_pages(box.database.data_source_id, [{"Name": f"T{i}"} for i in range(150)])
        box.notion.set_clock(None)
        report = box.run()
        assert [m.name for m in report.mappings] == ["tasks-to-memo", "tasks-to-memo2"]
        for rep in report.mappings:
            assert rep.status == "ok" and rep.counts["created"] == 150
        # One read of the data source for both: the database, its schema and the two pages of rows,
        # each counted once, for whichever mapping's thread asked first.
        assert sum(m.notion_requests for m in report.mappings) == 4
        assert box.notion.server.request_count(r"^POST /v1/data_sources/[^/]+/query$") == 2
        assert box.targets["memo"].item_count() == 150 and box.targets["memo2"].item_count() == 150
        again = box.run()
        assert [m.writes for m in again.mappings] == [0, 0]
        assert sum(m.notion_requests for m in again.mappings) == 1  # incremental: one query for both


def test_a_shared_read_hands_every_page_to_every_consumer_in_order():
    reads = []

    def source():
        reads.append(1)
        yield from range(20)

    shared = SharedRead(source, 2)
    got = {0: [], 1: []}

    def consume(i):
        for item in shared.pages(i):
            got[i].append(item)

    threads = [threading.Thread(target=consume, args=(i,)) for i in (0, 1)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=10)
    assert got == {0: list(range(20)), 1: list(range(20))}
    assert reads == [1]  # read once


def test_a_consumer_that_stops_early_does_not_stop_the_others():
    shared = SharedRead(lambda: iter(range(50)), 2)
    first = []
    for item in shared.pages(0):
        first.append(item)
        if item == 0:
            break
    assert first == [0]
    assert list(shared.pages(1)) == list(range(50))


def test_an_error_in_the_shared_read_reaches_every_consumer():
    def source():
        yield 1
        raise ValueError("boom")

    shared = SharedRead(source, 2)
    errors = []

    def consume(i):
        try:
            list(shared.pages(i))
        except ValueError as exc:
            errors.append(str(exc))

    threads = [threading.Thread(target=consume, args=(i,)) for i in (0, 1)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=10)
    assert errors == ["boom", "boom"]


def test_a_consumer_that_lags_does_not_hold_back_the_others_and_the_read_stays_one():
    reads = []

    def source():
        reads.append(1)
        for i in range(50):
            yield [{"id": str(i), "properties": {"Name": {"type": "title", "title": []}}}]

    shared = SharedRead(source, 2, depth=3)
    fast = []
    worker = threading.Thread(target=lambda: fast.extend(shared.pages(0)))
    worker.start()
    worker.join(timeout=30)  # before, it waited for the other consumer forever after 4 pages
    assert not worker.is_alive()
    assert [p[0]["id"] for p in fast] == [str(i) for i in range(50)]
    assert shared.spilled[1] == 47  # it took nothing so far: 3 pages in memory, 47 in its file
    slow = list(shared.pages(1))
    assert slow == fast
    assert reads == [1]


def test_a_lagging_consumer_gets_its_spilled_pages_then_the_error_in_order():
    def source():
        for i in range(10):
            yield [{"id": str(i)}]
        raise ValueError("boom")

    shared = SharedRead(source, 2, depth=2)
    fast = []

    def consume_fast():
        try:
            for pages in shared.pages(0):
                fast.append(pages)
        except ValueError:
            fast.append("boom")

    worker = threading.Thread(target=consume_fast)
    worker.start()
    worker.join(timeout=30)
    assert fast[-1] == "boom" and len(fast) == 11
    assert shared.spilled[1] == 8  # 2 in memory, 8 pages in its file, the error last
    got = []
    with pytest.raises(ValueError, match="boom"):
        for pages in shared.pages(1):
            got.append(pages)
    assert got == fast[:-1]


def test_a_spill_file_that_cannot_be_written_stops_the_read_for_everyone_with_the_fix():
    # A full disk (or a read-only TMPDIR) must not leave a consumer waiting for pages forever.
    class FullDisk(io.BytesIO):
        def write(self, data: Any) -> int:
            raise OSError(errno.ENOSPC, "No space left on device")

    def source():
        for i in range(10):
            yield [{"id": str(i)}]

    shared = SharedRead(source, 2, depth=2, spill=FullDisk)
    fast: list[Any] = []

    def consume_fast():
        try:
            fast.extend(shared.pages(0))
        except FatalError as exc:
            fast.append(exc)

    worker = threading.Thread(target=consume_fast)
    worker.start()
    worker.join(timeout=30)
    assert not worker.is_alive()
    assert isinstance(fast[-1], FatalError)
    assert "No space left on device" in str(fast[-1]) and "TMPDIR" in str(fast[-1])
    got: list[Any] = []
    with pytest.raises(FatalError, match="TMPDIR"):
        for pages in shared.pages(1):
            got.append(pages)
    assert [p[0]["id"] for p in got] == ["0", "1"]  # the two it had in memory, then the error


def test_a_slow_target_beside_a_fast_one_lets_it_finish_first_on_one_notion_read(tmp_path):
    # The fast mapping must write every row while the slow one is held on its first write: the
    # read goes at the fastest consumer's pace, more than SHARED_READ_AHEAD pages ahead of the slow one.
    from notion_sync.core.engine import SHARED_READ_AHEAD

    n = (SHARED_READ_AHEAD + 4) * 100
    fast_done = threading.Event()
    created = []

    class FastMemo(MemoConnector):
        def create(self, item, mapping):
            ref = super().create(item, mapping)
            created.append(item.page_id)
            if len(created) == n:
                fast_done.set()
            return ref

    class SlowMemo(OtherMemoConnector):
        def create(self, item, mapping):
            assert fast_done.wait(timeout=60), "the fast mapping was held back by the slow one"
            return super().create(item, mapping)

    with Sandbox(tmp_path, connectors={"memo": FastMemo, "memo2": SlowMemo}, rows=[]) as box:
        box.notion.add_pages(box.database.data_source_id, [{"Name": f"T{i}"} for i in range(n)])
        report = box.run()
        for rep in report.mappings:
            assert rep.status == "ok" and rep.counts["created"] == n, rep.summary()
        assert box.notion.server.request_count(r"^POST /v1/data_sources/[^/]+/query$") == n // 100  # read once
        assert box.targets["memo"].item_count() == n and box.targets["memo2"].item_count() == n
