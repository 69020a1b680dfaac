"""Run an emulator (a Starlette app) on 127.0.0.1 in a background thread, with fault knobs.

Every emulator in the project is built on this, through ``base.ServiceEmulator``:

* ``EmulatorServer(app).start()`` serves on a random free port; ``.url`` is its base.
* ``server.faults`` injects what real APIs do: a scheduled reply (``schedule(429)``),
  a scheduled late reply (``schedule_delay(2.0)``: the request is carried out after the
  delay, as a slow server does, so a client that timed out may find its write done),
  random 429/5xx/dropped connections from a seeded generator, latency, and a
  token-bucket rate limit that answers the way the service does.
* ``server.requests`` counts requests by ``"METHOD /path"`` for tests and benchmarks.

The service's own error body for a fault comes from the ``fault_response`` callback
each emulator passes, so an injected 429 looks exactly like that service's 429.
"""

from __future__ import annotations

import asyncio
import random
import re
import threading
import time
from collections import Counter, deque
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import uvicorn
from starlette.requests import Request
from starlette.responses import Response
from starlette.types import ASGIApp, Receive, Scope, Send

__all__ = ["CONTROL_PREFIX", "LOG_SIZE", "EmulatorServer", "FaultResponse", "Faults", "ScheduledFault", "SlidingWindow"]

CONTROL_PREFIX = "/_emulator/"
"""Where each emulator serves its control API (no real API uses the prefix): see docs/emulators.md."""

LOG_SIZE = 1000
"""Requests kept in ``EmulatorServer.log``."""

FaultResponse = Callable[[int, Request], Response]
"""Builds the service's own reply for an injected status (429, 500, 503...)."""


class SlidingWindow:
    """A rate limit's memory: the arrival times of the requests it admitted in the last window.

    Real (monotonic) time, not an emulator's clock: a limit paces requests as they arrive.
    Not thread-safe on its own; callers hold their lock.
    """

    def __init__(self) -> None:
        self._calls: deque[float] = deque()

    def admit(self, count: int, window: float) -> bool:
        """Whether one more request fits (at most ``count`` per ``window`` seconds); counts it if so."""
        now = time.monotonic()
        while self._calls and now - self._calls[0] >= window:
            self._calls.popleft()
        if len(self._calls) >= count:
            return False
        self._calls.append(now)
        return True

    def remaining(self, count: int, window: float) -> int:
        """How many more requests the window admits now (for rate-limit headers)."""
        now = time.monotonic()
        return max(count - sum(1 for t in self._calls if now - t < window), 0)


@dataclass
class ScheduledFault:
    """Reply ``status`` (or drop the connection, status 0) to the next ``count`` matching requests."""

    status: int
    count: int = 1
    path: str | None = None
    method: str | None = None
    delay: float = 0.0
    """For ``schedule_delay``: answer (normally) only after this many seconds."""

    def matches(self, method: str, path: str) -> bool:
        """Whether this fault applies to a request."""
        if self.method and self.method.upper() != method:
            return False
        return not self.path or re.search(self.path, path) is not None


@dataclass
class Faults:
    """Fault and latency knobs of one emulator. Change them at any time from the test."""

    seed: int = 0
    rate_limit_prob: float = 0.0
    server_error_prob: float = 0.0
    drop_prob: float = 0.0
    latency: float = 0.0
    latency_jitter: float = 0.0
    rate_limit: tuple[int, float] | None = None
    """(requests, seconds): a token bucket; over it the service's 429 is returned."""
    rate_limit_path: str | None = None
    """Only requests whose ``"METHOD /path"`` matches this regex count against ``rate_limit``
    (Slack limits ``chat.postMessage`` per channel, not every method together)."""
    retry_after: float | None = 1.0
    """Seconds an injected 429 asks the client to wait, where the service sends Retry-After;
    None sends a 429 without the header (as overloaded services sometimes do)."""
    scheduled: list[ScheduledFault] = field(default_factory=list)
    delayed: list[ScheduledFault] = field(default_factory=list)
    injected: Counter[str] = field(default_factory=Counter)

    def __post_init__(self) -> None:
        self._rng = random.Random(self.seed)
        self._bucket = SlidingWindow()
        self._lock = threading.Lock()

    def schedule(self, status: int, count: int = 1, path: str | None = None, method: str | None = None) -> None:
        """Answer the next ``count`` requests matching ``path`` (a regex) with ``status``; 0 drops them."""
        with self._lock:
            self.scheduled.append(ScheduledFault(status, count, path, method))

    def schedule_delay(
        self, seconds: float, count: int = 1, path: str | None = None, method: str | None = None
    ) -> None:
        """Hold the next ``count`` requests matching ``path`` for ``seconds``, then serve them:
        a client whose timeout is shorter gives up while the server still does the work."""
        with self._lock:
            self.delayed.append(ScheduledFault(0, count, path, method, delay=seconds))

    def clear(self) -> None:
        """Remove every scheduled fault, random fault, latency and rate limit; keep the counters."""
        with self._lock:
            self.scheduled.clear()
            self.delayed.clear()
            self.rate_limit_prob = self.server_error_prob = self.drop_prob = 0.0
            self.latency = self.latency_jitter = 0.0
            self.rate_limit = None
            self.rate_limit_path = None

    def pick(self, method: str, path: str) -> int | None:
        """The fault to inject for this request: a status, 0 for a drop, or None."""
        with self._lock:
            fault = _take(self.scheduled, method, path)
            if fault is not None:
                return fault.status
            if self.rate_limit is not None and (
                self.rate_limit_path is None or re.search(self.rate_limit_path, f"{method} {path}")
            ):
                if not self._bucket.admit(*self.rate_limit):
                    return 429
            roll = self._rng.random()
            if roll < self.rate_limit_prob:
                return 429
            roll -= self.rate_limit_prob
            if roll < self.server_error_prob:
                return self._rng.choice((500, 502, 503))
            roll -= self.server_error_prob
            if roll < self.drop_prob:
                return 0
            return None

    def delay(self, method: str = "", path: str = "") -> float:
        """Seconds to hold this request: a scheduled delay if one matches, else latency and jitter."""
        with self._lock:
            fault = _take(self.delayed, method, path)
            if fault is not None:
                self.injected["delay"] += 1
                return fault.delay
            if not self.latency and not self.latency_jitter:
                return 0.0
            return self.latency + self._rng.random() * self.latency_jitter


def _take(faults: list[ScheduledFault], method: str, path: str) -> ScheduledFault | None:
    """The first fault of ``faults`` matching the request, used up by one (removed at zero)."""
    for fault in faults:
        if fault.count > 0 and fault.matches(method, path):
            fault.count -= 1
            if fault.count == 0:
                faults.remove(fault)
            return fault
    return None


class _FaultMiddleware:
    def __init__(self, app: ASGIApp, server: EmulatorServer) -> None:
        self.app = app
        self.server = server

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        method, path = scope["method"], scope["path"]
        if path.startswith(CONTROL_PREFIX) and self.server.control is not None:
            # The control API is the test's own channel: never faulted, counted or rate limited.
            await self.server.control(scope, receive, send)
            return
        wait = self.server.faults.delay(method, path)
        if wait:
            await asyncio.sleep(wait)
        status = self.server.inject(method, path)
        if status is None:
            await self.app(scope, receive, send)
            return
        if status == 0:
            # A dropped connection: headers promise a body that never comes.
            await send(
                {
                    "type": "http.response.start",
                    "status": 200,
                    "headers": [(b"content-length", b"100"), (b"content-type", b"application/json")],
                }
            )
            await send({"type": "http.response.body", "body": b"{", "more_body": False})
            return
        response = self.server.fault_response(status, Request(scope, receive))
        await response(scope, receive, send)


def _default_fault_response(status: int, request: Request) -> Response:
    return Response(f"injected {status}", status_code=status)


class EmulatorServer:
    """Serve an ASGI app on 127.0.0.1:<random port> in a daemon thread."""

    def __init__(
        self, app: ASGIApp, *, fault_response: FaultResponse | None = None, faults: Faults | None = None
    ) -> None:
        self.faults = faults or Faults()
        self.requests: Counter[str] = Counter()
        self.log: deque[dict[str, Any]] = deque(maxlen=LOG_SIZE)
        """The last requests served, oldest first: method, path and the fault injected (if any)."""
        self.fault_response = fault_response or _default_fault_response
        self._app = _FaultMiddleware(app, self)
        self._server: uvicorn.Server | None = None
        self._thread: threading.Thread | None = None
        self.port = 0
        self.host = "127.0.0.1"
        self.control: ASGIApp | None = None
        """The app serving ``/_emulator/…`` (set by ``ServiceEmulator``), ahead of faults and counts."""

    @property
    def url(self) -> str:
        """The base URL, ``http://<host>:<port>`` (host 127.0.0.1 unless started on another)."""
        return f"http://{self.host}:{self.port}"

    def inject(self, method: str, path: str) -> int | None:
        """Count one request and pick its fault, recorded in ``faults.injected``: a status, 0 for a
        drop, or None to serve it. The middleware calls it per request; an emulator serving several
        calls in one request (Google's batch) calls it per inner call."""
        self.requests[f"{method} {path}"] += 1
        status = self.faults.pick(method, path)
        if status is not None:
            self.faults.injected[str(status) if status else "drop"] += 1
        self.log.append({"method": method, "path": path, "injected": status})
        return status

    def request_count(self, pattern: str = "") -> int:
        """How many requests matched ``pattern`` (a regex on ``"METHOD /path"``)."""
        return sum(n for key, n in self.requests.items() if re.search(pattern, key))

    def start(self, host: str = "127.0.0.1", port: int = 0) -> EmulatorServer:
        """Start serving in a daemon thread on ``host``:``port`` (0: a free port); returns once it
        accepts requests. Raises ``OSError`` when the port is taken."""
        self.host = host
        config = uvicorn.Config(self._app, host=host, port=port, log_level="error", lifespan="off", access_log=False)
        self._server = uvicorn.Server(config)
        self._thread = threading.Thread(target=self._server.run, name="emulator", daemon=True)
        self._thread.start()
        deadline = time.monotonic() + 10
        while not self._server.started:
            if not self._thread.is_alive():
                raise OSError(f"the emulator could not listen on {host}:{port} (is the port taken?)")
            if time.monotonic() > deadline:
                raise RuntimeError("the emulator did not start")
            time.sleep(0.01)
        self.port = self._server.servers[0].sockets[0].getsockname()[1]
        return self

    def stop(self) -> None:
        """Stop serving and wait for the thread."""
        if self._server is not None:
            self._server.should_exit = True
        if self._thread is not None:
            self._thread.join(timeout=5)

    def __enter__(self) -> EmulatorServer:
        return self.start()

    def __exit__(self, *exc: Any) -> None:
        self.stop()
