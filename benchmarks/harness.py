"""A scaled sandbox: the real engine, the four emulators, N rows, a simulated clock and counters.

``Bench`` wraps ``notion_sync.core.sandbox.Sandbox`` and changes only what a benchmark needs:

* every emulator gets the service's latency and rate limit (``limits.py``), divided by ``scale``;
  limits are token buckets on the emulator side (``BenchFaults``), answered with the service's own
  429, so a client that paces badly pays for it in retries that show in the counts;
* every client-side pacer is scaled the same way: ``[trello] rate_window`` and ``[slack]
  pacing_scale`` through their settings; Notion's and Google's pacers through a subclass
  (``scaled_notion_source``, ``scaled_google``), since neither has a setting that scales the
  window (``requests_per_second`` / ``max_requests_per_minute`` change the rate, not the window);
* rows are seeded with ``created_time``/``last_edited_time`` spread over the past, as in a real
  database, and the engine and Notion share a simulated clock moved forward between runs (a cron
  interval), so incremental reads see what they would see in production.
"""

from __future__ import annotations

import bisect
import contextvars
import re
import resource
import threading
import time
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

from benchmarks.limits import LATENCY, LIMITS, floor_seconds
from notion_sync.connectors.google_calendar.connector import GoogleCalendarConnector
from notion_sync.connectors.slack.connector import SlackConnector
from notion_sync.connectors.trello.connector import TrelloConnector
from notion_sync.core.adapter import Connector
from notion_sync.core.emulator.server import EmulatorServer, Faults
from notion_sync.core.engine import Engine, RunOptions, RunReport
from notion_sync.core.notion_source import PACING_MARGIN, NotionSource
from notion_sync.core.pacing import Pacer
from notion_sync.core.retry import RetryPolicy
from notion_sync.core.sandbox import Sandbox

__all__ = ["Bench", "BenchFaults", "Measure", "SERVICES", "TARGETS", "make_rows", "scaled_google"]

TARGETS = ("google_calendar", "trello", "slack")
SERVICES = ("notion", *TARGETS)
BURST_TOLERANCE = 0.8
"""Emulator windows are 20% shorter than documented: the services tolerate short bursts, and a client
pacing exactly at the limit must not be punished for a millisecond of scheduling jitter."""

WRITE_CALLS: dict[str, re.Pattern[str]] = {
    "google_calendar": re.compile(r"^(POST|PUT|PATCH|DELETE) /calendar/v3/calendars/[^/]+/events"),
    "trello": re.compile(r"^(POST /1/cards$|PUT /1/cards/|DELETE /1/cards/)"),
    "slack": re.compile(r"^POST /api/chat\.(postMessage|update|delete)$"),
}
"""Item writes as each emulator sees them ("METHOD /path"), batched calls included."""

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


def scaled_google(scale: float) -> type[GoogleCalendarConnector]:
    """The Google connector with its pacer's 60 s window divided by ``scale`` (it has no setting for it)."""

    class ScaledGoogleCalendarConnector(GoogleCalendarConnector):
        @property
        def _pacer(self) -> Any:
            return self.pacers.pacer("google-user", self.settings.max_requests_per_minute, 60.0, scale=scale)

    ScaledGoogleCalendarConnector.__name__ = ScaledGoogleCalendarConnector.__qualname__ = "GoogleCalendarConnector"
    return ScaledGoogleCalendarConnector


def scaled_notion_source(scale: float) -> type[NotionSource]:
    """``NotionSource`` with its pacer's window divided by ``scale``.

    ``[notion] requests_per_second`` alone cannot scale it: the pacer allows ``2 × rate`` requests per
    2 s of wall time, so a rate multiplied by the scale also multiplies the burst it allows."""

    class ScaledNotionSource(NotionSource):
        def __init__(self, *args: Any, **kwargs: Any) -> None:
            super().__init__(*args, **kwargs)
            limit = round(3.0 * 2)  # as NotionSource builds it for the default 3 requests/s
            self._pacer = Pacer(limit, PACING_MARGIN * limit / 3.0, scale=scale)

    ScaledNotionSource.__name__ = ScaledNotionSource.__qualname__ = "NotionSource"
    return ScaledNotionSource


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


def _servers(sandbox: Sandbox) -> dict[str, EmulatorServer]:
    servers = {"notion": sandbox.notion.server}
    for name, target in sandbox.targets.items():
        servers[name] = target.emulator.server
    return servers


@dataclass
class Measure:
    """What one run cost."""

    wall: float = 0.0
    cpu_engine: float = 0.0
    """CPU time of the calling thread only (the engine's mapping and read-ahead threads are not in it)."""
    cpu_process: float = 0.0
    """CPU time of the whole process: the engine and the emulators serving it."""
    peak_rss_mb: float = 0.0
    http: dict[str, int] = field(default_factory=dict)
    """HTTP requests per service (a Google batch is one)."""
    calls: dict[str, int] = field(default_factory=dict)
    """API calls per service (each call inside a Google batch counts)."""
    writes: dict[str, int] = field(default_factory=dict)
    """Item writes per target, as the emulator saw them."""
    engine_writes: dict[str, int] = field(default_factory=dict)
    """Writes per target, as the engine reported them (created + updated + deleted)."""
    notion_per_mapping: dict[str, int] = field(default_factory=dict)
    limited: dict[str, int] = field(default_factory=dict)
    """429s the emulators' rate limits answered, per service."""
    floor: float = 0.0
    floor_by: str = ""
    per_limit: dict[str, dict[str, int]] = field(default_factory=dict)
    """Calls counted by each rate limit: service -> limit name -> calls."""
    spans: dict[str, float] = field(default_factory=dict)
    """Wall time per mapping within a run of several (from the engine's progress calls)."""
    full_scan: dict[str, bool] = field(default_factory=dict)
    status: dict[str, str] = field(default_factory=dict)

    def as_json(self) -> dict[str, Any]:
        return {k: (round(v, 4) if isinstance(v, float) else v) for k, v in self.__dict__.items()}


class Bench:
    """A running scaled sandbox with ``n`` rows. Use as a context manager."""

    START = datetime(2026, 11, 25, 9, 0, tzinfo=UTC)
    CRON = timedelta(minutes=10)

    def __init__(
        self, workdir: Path, n: int, scale: float, *, realistic: bool = True, targets: tuple[str, ...] = TARGETS
    ) -> None:
        """``realistic=False``: no latency and no emulator-side limits (counting tests); the clients
        still pace, scaled."""
        self.n = n
        self.scale = scale
        self.realistic = realistic
        available: dict[str, type[Connector[Any, Any]]] = {
            "google_calendar": scaled_google(scale),
            "trello": TrelloConnector,
            "slack": SlackConnector,
        }
        connectors = {name: available[name] for name in targets}
        self.sandbox = Sandbox(workdir, connectors=connectors, rows=[])
        self.now = self.START
        self.page_ids: list[str] = []
        self.servers: dict[str, EmulatorServer] = {}
        self.notion_source = scaled_notion_source(scale)
        self.retry = RetryPolicy(attempts=8, initial=0.5 / scale, max_wait=30.0 / scale, max_retry_after=2.0 / scale)

    # -- setup -----------------------------------------------------------------------
    def start(self) -> Bench:
        sb = self.sandbox
        sb.start()
        self.servers = _servers(sb)
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
        self._seed()
        data = sb.config_data()
        data["notion"]["requests_per_second"] = 3.0 * f
        for mapping in data["mappings"]:  # the cron scenario: incremental runs, an hourly full scan
            mapping.setdefault("full_scan_interval", "1h")
        if "trello" in data:
            data["trello"]["rate_window"] = 10.0 / f
        if "slack" in data:
            data["slack"]["pacing_scale"] = f
        sb.write_config(data)
        return self

    def _seed(self) -> None:
        """N rows created one every 2 minutes in the past, the newest 30 minutes before the first run."""
        notion = self.sandbox.notion
        assert self.sandbox.database is not None
        ds = self.sandbox.database.data_source_id
        notion.set_clock(self.START - timedelta(minutes=30 + 2 * self.n))
        for values in make_rows(self.n):
            self.page_ids.append(notion.add_page(ds, values))
            notion.advance(minutes=2)
        notion.set_clock(self.now)

    def close(self) -> None:
        self.sandbox.close()

    def __enter__(self) -> Bench:
        return self.start()

    def __exit__(self, *exc: Any) -> None:
        self.close()

    # -- the clock and the data --------------------------------------------------------
    def tick(self, delta: timedelta | None = None) -> None:
        """Time passes (one cron interval by default), for Notion and the engine alike."""
        self.now += delta or self.CRON
        self.sandbox.notion.set_clock(self.now)

    def edit(self, k: int, values: Callable[[int], dict[str, Any]], *, offset: int = 0) -> list[str]:
        """Edit ``k`` rows spread over the database (a minute before the next run)."""
        step = max(1, self.n // k)
        chosen = [self.page_ids[(offset + i * step) % self.n] for i in range(k)]
        for i, pid in enumerate(chosen):
            self.sandbox.notion.update_page(pid, values(i))
        return chosen

    def trash(self, d: int, *, offset: int = 7) -> list[str]:
        step = max(1, self.n // d)
        chosen = [self.page_ids[(offset + i * step) % self.n] for i in range(d)]
        for pid in chosen:
            self.sandbox.notion.trash_page(pid)
        return chosen

    def lose_state(self) -> None:
        """Delete the state file (and its -wal, -shm): the next run finds, compares and adopts."""
        for suffix in ("", "-wal", "-shm"):
            Path(f"{self.sandbox.state_path}{suffix}").unlink(missing_ok=True)

    def mapping(self, target: str) -> str:
        return self.sandbox.mapping_name(target)

    # -- counting ---------------------------------------------------------------------
    def snapshot(self) -> dict[str, Any]:
        snap: dict[str, Any] = {}
        for service, server in self.servers.items():
            faults = server.faults
            assert isinstance(faults, BenchFaults)
            limited = sum(faults.limited.values())
            if service == "trello" and "trello" in self.sandbox.targets:
                limited += sum(self.sandbox.targets["trello"].emulator.rate_limited.values())  # type: ignore[attr-defined]
            snap[service] = (Counter(server.requests), faults.http, limited, Counter(faults.limited))
        return snap

    def diff(self, before: dict[str, Any], m: Measure, services: tuple[str, ...] = SERVICES) -> None:
        """Fill ``m``'s counts and floor from the emulators' counters since ``before``."""
        after = self.snapshot()
        per_limit: dict[str, dict[str, int]] = {}
        for service in services:
            req = after[service][0] - before[service][0]
            http = after[service][1] - before[service][1]
            m.http[service] = http
            m.calls[service] = sum(v for k, v in req.items() if not BATCH_REQUEST.search(k))
            m.limited[service] = after[service][2] - before[service][2]
            if service in WRITE_CALLS:
                # A write the rate limit refused wrote nothing: count only the ones that got through.
                refused = after[service][3] - before[service][3]
                m.writes[service] = sum(v for k, v in (req - refused).items() if WRITE_CALLS[service].search(k))
            if service == "slack":
                per_limit[service] = {
                    name: sum(v for k, v in req.items() if k.endswith(f"chat.{method}"))
                    for name, method in (("post", "postMessage"), ("update", "update"), ("delete", "delete"))
                }
            else:
                per_limit[service] = {"all": m.calls[service]}
        m.per_limit = per_limit
        m.floor, m.floor_by = floor_seconds(per_limit, self.scale)

    # -- running ------------------------------------------------------------------------
    def run(self, targets: tuple[str, ...] | None = None, **options: Any) -> tuple[Measure, RunReport]:
        """One ``notion-sync run`` of the given targets' mappings (all by default), measured."""
        targets = targets or tuple(self.sandbox.targets)
        m = Measure()
        marks: list[tuple[str, float]] = []

        def progress(name: str, _rows: int, _writes: int) -> None:
            marks.append((name, time.perf_counter()))

        names = [self.mapping(t) for t in targets]
        engine = Engine(
            self.sandbox.config(),
            now=lambda: self.now,
            progress=progress,
            notion=self.notion_source,
            retry=self.retry,
        )
        before = self.snapshot()
        r0 = resource.getrusage(resource.RUSAGE_SELF)
        c0 = time.thread_time()
        t0 = time.perf_counter()
        report = engine.run(RunOptions(mappings=names, **options))
        m.wall = time.perf_counter() - t0
        m.cpu_engine = time.thread_time() - c0
        r1 = resource.getrusage(resource.RUSAGE_SELF)
        m.cpu_process = (r1.ru_utime + r1.ru_stime) - (r0.ru_utime + r0.ru_stime)
        m.peak_rss_mb = r1.ru_maxrss / 1024
        self.diff(before, m, ("notion", *targets))
        by_name = {self.mapping(t): t for t in targets}
        for rep in report.mappings:
            target = by_name[rep.name]
            m.engine_writes[target] = rep.writes
            m.notion_per_mapping[target] = rep.notion_requests
            m.full_scan[target] = rep.full_scan
            m.status[target] = rep.status if rep.status == "ok" else f"{rep.status}: {rep.error}"
        # Per-mapping wall time. Mappings of different connectors run side by side, those of one
        # connector one after the other: from the start (or the previous mapping of the same
        # connector's last page) to this mapping's last page.
        starts: dict[str, float] = {}
        for name in names:
            ends = [t for n, t in marks if n == name]
            group = by_name[name]
            if ends:
                m.spans[group] = ends[-1] - starts.get(group, t0)
                starts[group] = ends[-1]
        return m, report


def measured(bench: Bench, fn: Callable[[], Any], services: tuple[str, ...]) -> tuple[Measure, Any]:
    """Run ``fn`` (something other than an engine run) and measure it like ``Bench.run`` does."""
    m = Measure()
    before = bench.snapshot()
    r0 = resource.getrusage(resource.RUSAGE_SELF)
    c0 = time.thread_time()
    t0 = time.perf_counter()
    result = fn()
    m.wall = time.perf_counter() - t0
    m.cpu_engine = time.thread_time() - c0
    r1 = resource.getrusage(resource.RUSAGE_SELF)
    m.cpu_process = (r1.ru_utime + r1.ru_stime) - (r0.ru_utime + r0.ru_stime)
    m.peak_rss_mb = r1.ru_maxrss / 1024
    bench.diff(before, m, services)
    return m, result
