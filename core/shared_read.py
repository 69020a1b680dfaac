"""One Notion read per data source per run, handed page by page to every mapping on it.

The engine runs the mappings of different connectors in different threads. Mappings on the
same data source subscribe to one :class:`SharedRead`: a background thread reads the pages once
(paced and retried by the ``NotionSource``) and puts each page into every subscriber's bounded
queue, so memory stays flat (at most ``depth`` pages ahead per subscriber) and the read goes
as fast as the slowest subscriber takes pages.

Which mappings share a read, and how (full or incremental, which filter goes to Notion), is the
planner's decision (``plan_shared_reads``). When the mappings' filters differ, Notion gets their
OR (or no filter) and each mapping applies its own here, with the same evaluator the Notion
emulator uses (``notion_sync.core.notion_filters``).
"""

from __future__ import annotations

import queue
import threading
import time
from collections.abc import Callable, Iterator, Mapping
from datetime import UTC, datetime
from typing import Any

from notion_sync.core.errors import ConfigError
from notion_sync.core.notion_filters import Predicate, QueryValidationError, compile_filter

__all__ = ["SharedRead", "page_filter"]

Pages = list[dict[str, Any]]
_END = object()
HAND_OVER_AFTER_WAITING = 0.1
"""Seconds a lone consumer spent waiting (not computing) on each of two pages in a row before its
read goes to a reading thread: a target's writes take that, planning a page does not."""


class _Failure:
    def __init__(self, error: BaseException) -> None:
        self.error = error


class _PageDict:
    """An API page (``properties`` keyed by name) as the filter evaluator sees a stored page."""

    __slots__ = ("_page",)

    def __init__(self, page: Mapping[str, Any]) -> None:
        self._page = page

    def value(self, prop: Mapping[str, Any]) -> Any:
        got = self._page.get("properties", {}).get(prop.get("name", ""))
        if got is None:
            return None
        return got.get(got.get("type", prop.get("type", "")))

    def timestamp(self, which: str) -> datetime:
        # Notion already returns page timestamps rounded down to the minute.
        return self.exact_timestamp(which).replace(second=0, microsecond=0)

    def exact_timestamp(self, which: str) -> datetime:
        stamp = datetime.fromisoformat(str(self._page[which]).replace("Z", "+00:00"))
        return stamp if stamp.tzinfo else stamp.replace(tzinfo=UTC)


def page_filter(
    mapping: str, filter_: dict[str, Any], schema: Mapping[str, Mapping[str, Any]], now: datetime
) -> Callable[[Pages], Pages]:
    """Keep the pages ``filter_`` selects, evaluated here as Notion would (raises ``ConfigError``
    naming the mapping when Notion would refuse the filter)."""
    named = {name: {**prop, "name": prop.get("name", name)} for name, prop in schema.items()}
    try:
        predicate: Predicate = compile_filter(filter_, named, now)
    except QueryValidationError as exc:
        raise ConfigError(f"[mappings.{mapping}] filter: Notion would refuse it ({exc}); fix the filter") from None
    return lambda pages: [p for p in pages if predicate(_PageDict(p))]


class SharedRead:
    """One read of a data source, fanned out to ``subscribers`` consumers (one per thread).

    ``open_read`` makes the page iterator; ``setup`` runs first in the reading thread (to count
    its requests). The read starts when the first consumer asks for it; with one consumer it
    runs in that consumer's thread, with no reading thread. A consumer that stops
    early unsubscribes, so the others go on; an error in the read is raised to every consumer.
    """

    def __init__(
        self,
        open_read: Callable[[], Iterator[Pages]],
        subscribers: int,
        *,
        setup: Callable[[], None] = lambda: None,
        depth: int = 1,
    ) -> None:
        self._open_read = open_read
        self._setup = setup
        self._queues: list[queue.Queue[object] | None] = [queue.Queue(maxsize=depth) for _ in range(subscribers)]
        self._lock = threading.Lock()
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    def _start(self) -> None:
        with self._lock:
            if self._thread is None:
                self._thread = threading.Thread(target=self._produce, name="notion-read", daemon=True)
                self._thread.start()

    def _put(self, item: object) -> bool:
        """Hand ``item`` to every subscriber still listening; False once none is."""
        for i in range(len(self._queues)):
            while not self._stop.is_set():
                q = self._queues[i]
                if q is None:
                    break
                try:
                    q.put(item, timeout=0.1)
                    break
                except queue.Full:
                    continue
        return not self._stop.is_set() and any(q is not None for q in self._queues)

    def _produce(self) -> None:
        try:
            self._setup()
            for pages in self._open_read():
                if not self._put(pages):
                    return
        except BaseException as exc:  # noqa: BLE001 - handed to the consumers, who raise it
            self._put(_Failure(exc))
            return
        self._put(_END)

    def pages(self, subscriber: int) -> Iterator[Pages]:
        """The pages, in order, for consumer number ``subscriber``."""
        if len(self._queues) == 1:
            yield from self._inline()
            return
        yield from self._queued(subscriber)

    def _queued(self, subscriber: int) -> Iterator[Pages]:
        self._start()
        q = self._queues[subscriber]
        assert q is not None
        try:
            while True:
                item = q.get()
                if item is _END:
                    return
                if isinstance(item, _Failure):
                    raise item.error
                yield item  # type: ignore[misc]
        finally:
            self.leave(subscriber)

    def _inline(self) -> Iterator[Pages]:
        """One consumer reads in its own thread while it only computes: a reading thread beside
        it cost the two threads taking the GIL in turn (planning 25,000 rows: 32 µs a row inline,
        40-48 µs with the thread). Once the consumer waits on something (its target's writes and
        pacing) for a page, the rest of the read goes to a reading thread, which then overlaps
        the next Notion request with that wait at little GIL cost."""
        read = iter(self._open_read())
        handed_over = False
        waits = 0
        try:
            while not self._stop.is_set():
                self._setup()  # each time: the consumer counts its own requests between pages
                try:
                    pages = next(read)
                except StopIteration:
                    return
                wall, cpu = time.monotonic(), time.thread_time()
                yield pages
                waited = (time.monotonic() - wall) - (time.thread_time() - cpu) > HAND_OVER_AFTER_WAITING
                # Two pages in a row: once may be the machine's scheduler, not the consumer.
                waits = waits + 1 if waited else 0
                if waits >= 2:
                    handed_over = True
                    break
        finally:
            close = getattr(read, "close", None)
            if not handed_over and close is not None:
                close()
        if handed_over:
            self._open_read = lambda: read  # the reading thread goes on with the same read
            yield from self._queued(0)

    def leave(self, subscriber: int) -> None:
        """Stop taking pages; the last to leave stops the read."""
        with self._lock:
            self._queues[subscriber] = None
            done = all(q is None for q in self._queues)
        if done:
            self._stop.set()
            if self._thread is not None and self._thread is not threading.current_thread():
                self._thread.join(timeout=5)
