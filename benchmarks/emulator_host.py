"""Where a benchmark's emulators run: in the benchmark's own process, or in a process of their own.

In one process, the emulators' CPU (uvicorn, Starlette and the service's logic: about 1.5 ms
per Trello request) is taken from the engine's: the same interpreter lock, the same share of
the machine. The real services' CPU is not. ``EmulatorHost`` is the emulators' side of a
``Bench``: it starts them with the services' scaled limits and latency, seeds the rows, moves
Notion's clock, edits rows and reads the counters. ``RemoteEmulatorHost`` runs one in a spawned
process and forwards the same calls over a pipe, so the engine's process holds only the engine.
"""

from __future__ import annotations

import bisect
import contextvars
import re
import resource
import socket
import subprocess
import sys
import threading
import time
import traceback
from collections import Counter
from datetime import date, datetime, timedelta
from multiprocessing.connection import Connection
from pathlib import Path
from typing import Any

import tomli_w

from benchmarks.limits import LATENCY, LIMITS
from notion_sync.connectors.google_calendar.connector import GoogleCalendarConnector
from notion_sync.connectors.slack.connector import SlackConnector
from notion_sync.connectors.trello.connector import TrelloConnector
from notion_sync.core.adapter import Connector
from notion_sync.core.emulator.server import EmulatorServer, Faults
from notion_sync.core.sandbox import Sandbox

__all__ = ["BATCH_REQUEST", "BURST_TOLERANCE", "BenchFaults", "EmulatorHost", "RemoteEmulatorHost", "make_rows"]

CONNECTORS: dict[str, type[Connector[Any, Any]]] = {
    "google_calendar": GoogleCalendarConnector,
    "trello": TrelloConnector,
    "slack": SlackConnector,
}
"""The connectors whose emulators a benchmark starts (``Connector.emulated()``)."""

BURST_TOLERANCE = 0.8
"""Emulator windows are 20% shorter than documented: the services tolerate short bursts, and a client
pacing exactly at the limit must not be punished for a millisecond of scheduling jitter."""

BATCH_REQUEST = re.compile(r"^POST /batch/")
"""Google's batch request itself: not an API call. Google counts the n calls inside it, each as one
request against the quota, and the emulator logs each of them, so the envelope is left out of
the calls and of the rate limit."""


_ARRIVAL: contextvars.ContextVar[float | None] = contextvars.ContextVar("arrival", default=None)


class BenchFaults(Faults):
    """``Faults`` with per-path sliding-window limits, and a count of HTTP requests (a Google batch is one).

    A limit counts a request at its *arrival*, before the simulated latency: ``Faults.pick`` runs after
    the latency, whose jitter would reorder requests that a client spaced correctly.
    """

    def __init__(
        self, *, latency: float, jitter: float, retry_after: float, limits: list[tuple[str, int, float]]
    ) -> None:
        super().__init__(latency=latency, latency_jitter=jitter, retry_after=retry_after)
        self.http = 0
        self.limited: Counter[str] = Counter()
        self._rules: list[tuple[re.Pattern[str], int, float, list[float]]] = [
            (re.compile(p), n, w, []) for p, n, w in limits
        ]
        self._rule_lock = threading.Lock()

    def delay(self, method: str = "", path: str = "") -> float:
        # The middleware calls delay() once per HTTP request, and never for a call inside a batch.
        self.http += 1
        _ARRIVAL.set(time.monotonic())  # each request runs in its own asyncio task, with its own context
        return super().delay(method, path)

    def pick(self, method: str, path: str) -> int | None:
        key = f"{method} {path}"
        with self._rule_lock:
            arrival = _ARRIVAL.get()
            now = time.monotonic() if arrival is None else arrival
            for pattern, count, window, calls in self._rules:
                if not pattern.search(key):
                    continue
                if calls and calls[0] < now - 4 * window:
                    del calls[: bisect.bisect_left(calls, now - 2 * window)]
                if bisect.bisect_right(calls, now) - bisect.bisect_right(calls, now - window) >= count:
                    self.limited[key] += 1
                    return 429
                bisect.insort(calls, now)
        return super().pick(method, path)


def make_rows(n: int, today: date | None = None) -> list[dict[str, Any]]:
    """``n`` realistic rows of the demo schema: all-day, timed and ranged dates, tags, owners, notes."""
    d = today or date(2026, 11, 25)
    statuses = ("Not started", "In progress", "Done")
    tags = ((), ("Bug",), ("Feature",), ("Docs", "Feature"))
    owners = ([], [{"name": "Ada", "email": "ada@example.com"}], [{"name": "Grace", "email": "grace@example.com"}])
    rows = []
    for i in range(n):
        day = d + timedelta(days=i % 90)
        if i % 3 == 0:
            due: Any = day.isoformat()
        elif i % 3 == 1:
            due = f"{day.isoformat()}T{9 + i % 8:02d}:30:00.000+01:00"
        else:
            due = (f"{day.isoformat()}T14:00:00.000-05:00", f"{day.isoformat()}T15:30:00.000-05:00")
        rows.append(
            {
                "Name": f"Task {i:06d}",
                "Status": statuses[i % 3],
                "Due": due,
                "Tags": list(tags[i % 4]),
                "Notes": f"Notes for task {i}: check the spec & ask <team>.",
                "Owner": owners[i % 3],
                "Priority": ("High", "Medium", "Low")[i % 3],
                "Urgent": i % 5 == 0,
            }
        )
    return rows


class EmulatorHost:
    """Notion's and the targets' emulators for one benchmark, scaled, seeded with ``n`` rows."""

    def __init__(
        self, workdir: Path, n: int, scale: float, realistic: bool, targets: tuple[str, ...], start: datetime
    ) -> None:
        self.n = n
        self.scale = scale
        self.realistic = realistic
        self.first_run = start
        self.sandbox = Sandbox(workdir, connectors={name: CONNECTORS[name] for name in targets}, rows=[])
        self.servers: dict[str, EmulatorServer] = {}
        self.own_process = False
        """Whether this host is alone in its process (``cpu`` then counts the whole process)."""

    def start(self) -> dict[str, Any]:
        """Start and seed the emulators and write the benchmark's config (``[notion]
        requests_per_second``, ``[trello] rate_window``, ``[slack] pacing_scale`` scaled).

        Returns what the engine's side needs: ``env`` (the fake tokens' variables) and
        ``page_ids`` (the rows, oldest first)."""
        sb = self.sandbox
        sb.start()
        self.servers = {"notion": sb.notion.server}
        for name, target in sb.targets.items():
            self.servers[name] = target.emulator.server
        f = self.scale
        for service, server in self.servers.items():
            lo, hi = LATENCY[service]
            rules = []
            for name, limit in LIMITS[service].items():
                pattern = {"post": r"chat\.postMessage$", "update": r"chat\.update$", "delete": r"chat\.delete$"}.get(
                    name, f"^(?!{BATCH_REQUEST.pattern[1:]})"
                )
                rules.append((pattern, limit.count * limit.burst, limit.window * limit.burst * BURST_TOLERANCE / f))
            if not self.realistic:
                lo = hi = 0.0
                rules = []
            server.faults = BenchFaults(latency=lo / f, jitter=(hi - lo) / f, retry_after=1.0 / f, limits=rules)
        if "trello" in sb.targets:
            trello = sb.targets["trello"].emulator  # type: ignore[attr-defined]
            # Trello's own limiter (per token and per key) is the emulator's: scale it rather than add one.
            trello.server.faults._rules = []
            trello.token_limit = (100, 10.0 * BURST_TOLERANCE / f) if self.realistic else None
            trello.key_limit = (300, 10.0 * BURST_TOLERANCE / f) if self.realistic else None
        page_ids = self._seed(make_rows(self.n))
        data = sb.config_data()
        data["notion"]["requests_per_second"] = 3.0 * f
        for mapping in data["mappings"]:  # the cron scenario: incremental runs, an hourly full scan
            mapping.setdefault("full_scan_interval", "1h")
        if "trello" in data:
            data["trello"]["rate_window"] = 10.0 / f
        if "slack" in data:
            data["slack"]["pacing_scale"] = f
        sb.config_path.write_text(tomli_w.dumps(data))
        return {"env": sb.emulators.env(), "page_ids": page_ids}

    def _seed(self, rows: list[dict[str, Any]]) -> list[str]:
        """The rows created one every 2 minutes in the past, the newest 30 minutes before the first run."""
        notion = self.sandbox.notion
        assert self.sandbox.database is not None
        ds = self.sandbox.database.data_source_id
        notion.set_clock(self.first_run - timedelta(minutes=30 + 2 * len(rows)))
        ids = []
        for values in rows:
            ids.append(notion.add_page(ds, values))
            notion.advance(minutes=2)
        notion.set_clock(self.first_run)
        return ids

    def set_clock(self, now: datetime) -> None:
        """Notion's clock (the engine's moves with it, on the benchmark's side)."""
        self.sandbox.notion.set_clock(now)

    def update_pages(self, changes: list[tuple[str, dict[str, Any]]]) -> None:
        """Each (page id, property values) edited, as a user would."""
        for page_id, values in changes:
            self.sandbox.notion.update_page(page_id, values)

    def trash_pages(self, page_ids: list[str]) -> None:
        """The pages moved to Notion's trash."""
        for page_id in page_ids:
            self.sandbox.notion.trash_page(page_id)

    def snapshot(self) -> dict[str, Any]:
        """Per service: (requests by "METHOD /path", HTTP requests, 429s answered, 429s by request)."""
        snap: dict[str, Any] = {}
        for service, server in self.servers.items():
            faults = server.faults
            assert isinstance(faults, BenchFaults)
            limited = sum(faults.limited.values())
            if service == "trello" and "trello" in self.sandbox.targets:
                limited += sum(self.sandbox.targets["trello"].emulator.rate_limited.values())  # type: ignore[attr-defined]
            snap[service] = (Counter(server.requests), faults.http, limited, Counter(faults.limited))
        return snap

    def cpu(self) -> float:
        """CPU seconds the emulators have used: their process's, or their threads' in a shared one."""
        if self.own_process:
            usage = resource.getrusage(resource.RUSAGE_SELF)
            return usage.ru_utime + usage.ru_stime
        total = 0.0
        for thread in threading.enumerate():
            if thread.name == "emulator" and thread.ident is not None:
                try:
                    total += time.clock_gettime(time.pthread_getcpuclockid(thread.ident))
                except (OSError, ProcessLookupError):  # the thread ended meanwhile
                    continue
        return total

    def close(self) -> None:
        """Stop every emulator."""
        self.sandbox.close()


def _serve(conn: Connection, args: tuple[Any, ...]) -> None:
    """The emulators' process: build the host, then answer (method name, arguments) until ``close``."""
    host = EmulatorHost(*args)
    host.own_process = True
    while True:
        name, call_args = conn.recv()
        try:
            conn.send((True, getattr(host, name)(*call_args)))
        except Exception:  # noqa: BLE001 - reported to the benchmark's side, which raises it
            conn.send((False, traceback.format_exc()))
        if name == "close":
            return


class RemoteEmulatorHost:
    """An ``EmulatorHost`` in a process of its own (``python -m benchmarks.emulator_host FD``), with
    the same methods (but no ``servers``), called over a socket pair."""

    def __init__(
        self, workdir: Path, n: int, scale: float, realistic: bool, targets: tuple[str, ...], start: datetime
    ) -> None:
        ours, theirs = socket.socketpair()
        self._process = subprocess.Popen(
            [sys.executable, "-m", "benchmarks.emulator_host", str(theirs.fileno())],
            pass_fds=(theirs.fileno(),),
            cwd=Path(__file__).resolve().parent.parent,
        )
        theirs.close()
        self._conn = Connection(ours.detach())
        self._conn.send((workdir, n, scale, realistic, targets, start))

    def _call(self, name: str, *args: Any) -> Any:
        self._conn.send((name, args))
        ok, value = self._conn.recv()
        if not ok:
            raise RuntimeError(f"the emulators' process failed in {name}():\n{value}")
        return value

    def start(self) -> dict[str, Any]:
        """See ``EmulatorHost.start``."""
        return self._call("start")  # type: ignore[no-any-return]

    def set_clock(self, now: datetime) -> None:
        """See ``EmulatorHost.set_clock``."""
        self._call("set_clock", now)

    def update_pages(self, changes: list[tuple[str, dict[str, Any]]]) -> None:
        """See ``EmulatorHost.update_pages``."""
        self._call("update_pages", changes)

    def trash_pages(self, page_ids: list[str]) -> None:
        """See ``EmulatorHost.trash_pages``."""
        self._call("trash_pages", page_ids)

    def snapshot(self) -> dict[str, Any]:
        """See ``EmulatorHost.snapshot``."""
        return self._call("snapshot")  # type: ignore[no-any-return]

    def cpu(self) -> float:
        """The emulators' process's CPU seconds so far."""
        return float(self._call("cpu"))

    def close(self) -> None:
        """Stop the emulators and their process."""
        try:
            if self._process.poll() is None:
                self._call("close")
        except (EOFError, OSError, RuntimeError):
            pass
        finally:
            self._conn.close()
            try:
                self._process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self._process.terminate()
                self._process.wait(timeout=5)


if __name__ == "__main__":  # python -m benchmarks.emulator_host FD: RemoteEmulatorHost's other end
    channel = Connection(int(sys.argv[1]))
    _serve(channel, channel.recv())
