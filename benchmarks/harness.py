"""A scaled sandbox: the real engine, the four emulators, N rows, a simulated clock and counters.

``Bench`` runs the real engine against a ``notion_sync.core.sandbox.Sandbox`` (hosted by
``emulator_host.EmulatorHost``, in this process or, with ``apart=True``, in a process of its
own) and changes only what a benchmark needs:

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

import re
import resource
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from benchmarks.emulator_host import BATCH_REQUEST, CONNECTORS, BenchFaults, EmulatorHost, RemoteEmulatorHost, make_rows
from benchmarks.limits import floor_seconds
from notion_sync.connectors.google_calendar.connector import GoogleCalendarConnector
from notion_sync.core.adapter import Connector
from notion_sync.core.config import Config, load_config
from notion_sync.core.emulator.server import EmulatorServer
from notion_sync.core.emulator_set import mapping_name
from notion_sync.core.engine import Engine, RunOptions, RunReport
from notion_sync.core.notion_source import PACING_MARGIN, NotionSource
from notion_sync.core.pacing import Pacer
from notion_sync.core.plugins import Discovery
from notion_sync.core.retry import RetryPolicy
from notion_sync.core.sandbox import CONFIG_FILE, STATE_FILE, EnvironmentOverlay

__all__ = ["Bench", "BenchFaults", "Measure", "SERVICES", "TARGETS", "make_rows", "scaled_google"]

TARGETS = ("google_calendar", "trello", "slack")
SERVICES = ("notion", *TARGETS)
WRITE_CALLS: dict[str, re.Pattern[str]] = {
    "google_calendar": re.compile(r"^(POST|PUT|PATCH|DELETE) /calendar/v3/calendars/[^/]+/events"),
    "trello": re.compile(r"^(POST /1/cards$|PUT /1/cards/|DELETE /1/cards/)"),
    "slack": re.compile(r"^POST /api/chat\.(postMessage|update|delete)$"),
}
"""Item writes as each emulator sees them ("METHOD /path"), batched calls included."""


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


@dataclass
class Measure:
    """What one run cost."""

    wall: float = 0.0
    cpu_engine: float = 0.0
    """CPU time of the calling thread only (the engine's mapping and read-ahead threads are not in it)."""
    cpu_process: float = 0.0
    """CPU time of the benchmark's process: the engine, and the emulators unless they run apart."""
    cpu_emulators: float = 0.0
    """CPU time of the emulators serving the run (their threads, or their own process)."""
    emulators_apart: bool = False
    """Whether the emulators ran in a process of their own (``Bench(apart=True)``)."""
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
        self,
        workdir: Path,
        n: int,
        scale: float,
        *,
        realistic: bool = True,
        targets: tuple[str, ...] = TARGETS,
        apart: bool = False,
    ) -> None:
        """``realistic=False``: no latency and no emulator-side limits (counting tests); the clients
        still pace, scaled. ``apart``: the emulators run in a process of their own, so this
        process's CPU (and interpreter lock) is the engine's alone; ``servers`` is then unavailable."""
        self.n = n
        self.scale = scale
        self.realistic = realistic
        self.targets = targets
        self.apart = apart
        self.workdir = Path(workdir)
        connectors: dict[str, type[Connector[Any, Any]]] = {name: CONNECTORS[name] for name in targets}
        if "google_calendar" in connectors:
            connectors["google_calendar"] = scaled_google(scale)
        self.discovery = Discovery.of(connectors.values())
        host_type = RemoteEmulatorHost if apart else EmulatorHost
        self.host: EmulatorHost | RemoteEmulatorHost = host_type(self.workdir, n, scale, realistic, targets, self.START)
        self.now = self.START
        self.page_ids: list[str] = []
        self.notion_source = scaled_notion_source(scale)
        self.retry = RetryPolicy(attempts=8, initial=0.5 / scale, max_wait=30.0 / scale, max_retry_after=2.0 / scale)
        self._env = EnvironmentOverlay()
        self.config_path, self.state_path = self.workdir / CONFIG_FILE, self.workdir / STATE_FILE
        """Where the emulators' side writes the config; where the engine keeps its state."""

    @property
    def servers(self) -> dict[str, EmulatorServer]:
        """Each service's emulator server (counters, faults), when the emulators run in this process."""
        if isinstance(self.host, RemoteEmulatorHost):
            raise AttributeError("Bench(apart=True): the emulators' servers are in their own process")
        return self.host.servers

    def config(self) -> Config:
        """The config the emulators' side wrote, with the benchmark's (scaled) connectors."""
        return load_config(self.config_path, discovery=self.discovery)

    # -- setup -----------------------------------------------------------------------
    def start(self) -> Bench:
        started = self.host.start()
        self.page_ids = started["page_ids"]
        if self.apart:  # in this process, the sandbox has set them already
            self._env.set(started["env"])
        return self

    def close(self) -> None:
        self.host.close()
        self._env.restore()

    def __enter__(self) -> Bench:
        try:
            return self.start()
        except BaseException:
            self.close()
            raise

    def __exit__(self, *exc: Any) -> None:
        self.close()

    # -- the clock and the data --------------------------------------------------------
    def tick(self, delta: timedelta | None = None) -> None:
        """Time passes (one cron interval by default), for Notion and the engine alike."""
        self.now += delta or self.CRON
        self.host.set_clock(self.now)

    def edit(self, k: int, values: Callable[[int], dict[str, Any]], *, offset: int = 0) -> list[str]:
        """Edit ``k`` rows spread over the database (a minute before the next run)."""
        step = max(1, self.n // k)
        chosen = [self.page_ids[(offset + i * step) % self.n] for i in range(k)]
        self.host.update_pages([(pid, values(i)) for i, pid in enumerate(chosen)])
        return chosen

    def trash(self, d: int, *, offset: int = 7) -> list[str]:
        step = max(1, self.n // d)
        chosen = [self.page_ids[(offset + i * step) % self.n] for i in range(d)]
        self.host.trash_pages(chosen)
        return chosen

    def lose_state(self) -> None:
        """Delete the state file (and its -wal, -shm): the next run finds, compares and adopts."""
        for suffix in ("", "-wal", "-shm"):
            Path(f"{self.state_path}{suffix}").unlink(missing_ok=True)

    def mapping(self, target: str) -> str:
        return mapping_name(target)

    # -- counting ---------------------------------------------------------------------
    def snapshot(self) -> dict[str, Any]:
        return self.host.snapshot()

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
        targets = targets or self.targets
        marks: list[tuple[str, float]] = []

        def progress(name: str, _rows: int, _writes: int) -> None:
            marks.append((name, time.perf_counter()))

        names = [self.mapping(t) for t in targets]
        engine = Engine(
            self.config(),
            now=lambda: self.now,
            progress=progress,
            notion=self.notion_source,
            retry=self.retry,
        )
        t0 = time.perf_counter()
        m, report = measured(self, lambda: engine.run(RunOptions(mappings=names, **options)), ("notion", *targets))
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
    m = Measure(emulators_apart=bench.apart)
    before = bench.snapshot()
    e0 = bench.host.cpu()
    r0 = resource.getrusage(resource.RUSAGE_SELF)
    c0 = time.thread_time()
    t0 = time.perf_counter()
    result = fn()
    m.wall = time.perf_counter() - t0
    m.cpu_engine = time.thread_time() - c0
    r1 = resource.getrusage(resource.RUSAGE_SELF)
    m.cpu_emulators = bench.host.cpu() - e0
    m.cpu_process = (r1.ru_utime + r1.ru_stime) - (r0.ru_utime + r0.ru_stime)
    m.peak_rss_mb = r1.ru_maxrss / 1024
    bench.diff(before, m, services)
    return m, result
