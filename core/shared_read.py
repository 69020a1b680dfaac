"""One Notion read per data source per run, handed page by page to every mapping on it.

The engine runs the mappings of different connectors in different threads. Mappings on the
same data source subscribe to one :class:`SharedRead`: a background thread reads the pages once
(paced and retried by the ``NotionSource``) and hands each page to every subscriber. The read
goes as fast as the *fastest* subscriber takes pages, at most ``depth`` pages ahead of it. A
subscriber that falls further behind (Slack's one post a second beside Google's batches) gets
its later pages from a spill file, an unnamed temporary file that only this process can open
and that is gone when the read ends: memory stays flat (at most ``depth`` pages per
subscriber), Notion is read once, and no target waits for a slower one.

Which mappings share a read, and how (full or incremental, which filter goes to Notion), is the
planner's decision (``plan_shared_reads``). When the mappings' filters differ, Notion gets their
OR (or no filter) and each mapping applies its own here, with the same evaluator the Notion
emulator uses (``notion_sync.core.notion_filters``).
"""

from __future__ import annotations

import json
import tempfile
import threading
import time
from collections import deque
from collections.abc import Callable, Iterator, Mapping
from datetime import UTC, datetime
from typing import IO, Any

from notion_sync.core.errors import ConfigError, FatalError
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


def spill_file() -> IO[bytes]:
    """A subscriber's spill file: unnamed (O_TMPFILE where the system has it), mode 600, in the
    temporary folder (``TMPDIR``), and gone when closed."""
    return tempfile.TemporaryFile(prefix="notion-sync-read-")


class _Backlog:
    """One subscriber's pages not taken yet, oldest first: up to ``depth`` in memory, then (once
    that is full) every later one in a spill file until the subscriber has caught up, so the
    order holds. The read's end (or error) is kept in memory, last: a spill file that cannot be
    written still lets the subscriber learn why. Not thread-safe on its own: ``SharedRead`` holds
    its condition around every call."""

    def __init__(self, depth: int, spill: Callable[[], IO[bytes]]) -> None:
        self.depth = depth
        self.memory: deque[object] = deque()
        self.spilled = 0
        self.spilled_total = 0
        self.final: object | None = None
        self._spill = spill
        self._file: IO[bytes] | None = None
        self._read_at = 0

    @property
    def empty(self) -> bool:
        return not self.memory and not self.spilled and self.final is None

    @property
    def hungry(self) -> bool:
        """Room for the next page in memory: the read may go on for this subscriber."""
        return not self.spilled and len(self.memory) < self.depth

    def put(self, item: object, encoded: Callable[[], bytes]) -> None:
        if item is _END or isinstance(item, _Failure):
            self.final = item
            return
        if self.hungry:
            self.memory.append(item)
            return
        try:
            if self._file is None:
                self._file = self._spill()
            self._file.seek(0, 2)
            self._file.write(encoded())
            self._file.flush()
        except OSError as exc:
            raise FatalError(
                "the pages a slower mapping on this database has not taken yet could not be kept in a "
                f"temporary file in {tempfile.gettempdir()} ({exc.strerror or exc}); free some space there "
                "or set TMPDIR to a folder with room, and run again: nothing was lost, the next run reads "
                "these rows again"
            ) from exc
        self.spilled += 1
        self.spilled_total += 1

    def take(self) -> object:
        if self.memory:
            return self.memory.popleft()
        if not self.spilled:
            final, self.final = self.final, None
            return final
        assert self._file is not None  # something was spilled
        self._file.seek(self._read_at)
        line = self._file.readline()
        self._read_at = self._file.tell()
        self.spilled -= 1
        if not self.spilled:  # caught up: the file starts over
            self._file.seek(0)
            self._file.truncate()
            self._read_at = 0
        return json.loads(line)

    def close(self) -> None:
        self.memory.clear()
        if self._file is not None:
            self._file.close()
            self._file = None


class SharedRead:
    """One read of a data source, fanned out to ``subscribers`` consumers (one per thread).

    ``open_read`` makes the page iterator; ``setup`` runs first in the reading thread (to count
    its requests). The read starts when the first consumer asks for it; with one consumer it
    runs in that consumer's thread, with no reading thread. It stays at most ``depth`` pages
    ahead of its fastest consumer; a slower one's later pages wait in its spill file. A consumer
    that stops early unsubscribes, so the others go on; an error in the read is raised to every
    consumer.
    """

    def __init__(
        self,
        open_read: Callable[[], Iterator[Pages]],
        subscribers: int,
        *,
        setup: Callable[[], None] = lambda: None,
        depth: int = 1,
        spill: Callable[[], IO[bytes]] = spill_file,
    ) -> None:
        self._open_read = open_read
        self._setup = setup
        self._backlogs: list[_Backlog | None] = [_Backlog(depth, spill) for _ in range(subscribers)]
        self._lock = threading.Lock()
        self._changed = threading.Condition(self._lock)
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    @property
    def spilled(self) -> list[int]:
        """Per subscriber, how many pages went through its spill file so far (0: it kept up, or it
        has left)."""
        with self._lock:
            return [b.spilled_total if b is not None else 0 for b in self._backlogs]

    def _start(self) -> None:
        with self._lock:
            if self._thread is None:
                self._thread = threading.Thread(target=self._produce, name="notion-read", daemon=True)
                self._thread.start()

    def _put(self, item: object) -> bool:
        """Hand ``item`` to every subscriber still listening; False once none is."""
        encoded: list[bytes] = []

        def once() -> bytes:  # a page is encoded at most once, however many subscribers spill it
            if not encoded:
                encoded.append(json.dumps(item, separators=(",", ":")).encode() + b"\n")
            return encoded[0]

        with self._changed:
            live = [b for b in self._backlogs if b is not None]
            for backlog in live:
                backlog.put(item, once)
            self._changed.notify_all()
            return bool(live) and not self._stop.is_set()

    def _wait_for_room(self) -> bool:
        """Wait until a subscriber has room for the next page; False once none listens."""
        with self._changed:
            while not self._stop.is_set():
                live = [b for b in self._backlogs if b is not None]
                if not live:
                    return False
                if any(b.hungry for b in live):
                    return True
                self._changed.wait()
            return False

    def _produce(self) -> None:
        try:
            self._setup()
            for pages in self._open_read():
                # As a blocking put would: this page waits until the fastest subscriber has room.
                if not self._wait_for_room() or not self._put(pages):
                    return
        except BaseException as exc:  # noqa: BLE001 - handed to the consumers, who raise it
            self._put(_Failure(exc))
            return
        self._put(_END)

    def pages(self, subscriber: int) -> Iterator[Pages]:
        """The pages, in order, for consumer number ``subscriber``."""
        if len(self._backlogs) == 1:
            yield from self._inline()
            return
        yield from self._queued(subscriber)

    def _take(self, subscriber: int) -> object:
        with self._changed:
            backlog = self._backlogs[subscriber]
            assert backlog is not None
            while backlog.empty:
                self._changed.wait()
            item = backlog.take()
            self._changed.notify_all()
            return item

    def _queued(self, subscriber: int) -> Iterator[Pages]:
        self._start()
        try:
            while True:
                item = self._take(subscriber)
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
        with self._changed:
            backlog = self._backlogs[subscriber]
            if backlog is not None:
                backlog.close()
            self._backlogs[subscriber] = None
            done = all(b is None for b in self._backlogs)
            self._changed.notify_all()
        if done:
            self._stop.set()
            if self._thread is not None and self._thread is not threading.current_thread():
                self._thread.join(timeout=5)
