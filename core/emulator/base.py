"""The base every emulator is built on: one server, one clock, one set of fault knobs.

A service emulator holds the service's state and a Starlette app; ``ServiceEmulator``
gives it the rest::

    class EchoEmulator(ServiceEmulator):
        def __init__(self) -> None:
            super().__init__(Starlette(routes=[...]))

        def fault_response(self, status: int, request: Request) -> Response:
            return JSONResponse({"error": "rate_limited"}, status_code=status)

    with EchoEmulator() as emu:          # start() ... stop()
        emu.faults.schedule(429)         # the next request gets the service's own 429
        emu.clock.set(datetime(2026, 1, 1, tzinfo=UTC))
        httpx.get(emu.base_url + "/echo")

Lifecycle (``start``/``stop``/context manager, ``base_url``, ``port``), the fault knobs
(``faults``, ``requests``, ``reset_server``) and the clock (``clock``, ``now``,
``set_clock``, ``advance``) are the same for every service; only the state, the routes
and the error bodies are the emulator's own.
"""

from __future__ import annotations

from collections import Counter
from datetime import datetime
from typing import TYPE_CHECKING, Self

from starlette.requests import Request
from starlette.responses import Response
from starlette.types import ASGIApp

from notion_sync.core.emulator.clock import EmulatorClock
from notion_sync.core.emulator.server import EmulatorServer, Faults

if TYPE_CHECKING:
    from notion_sync.core.emulator.control import ControlRoute

__all__ = ["ServiceEmulator"]


class ServiceEmulator:
    """An emulated service on 127.0.0.1:<random port>: its app served with fault knobs and a clock.

    Subclasses pass their app to ``__init__`` and override ``fault_response`` to answer an
    injected status with the service's own body and headers (Retry-After where the service
    sends one, read from ``faults.retry_after``).
    """

    def __init__(self, app: ASGIApp, *, faults: Faults | None = None, clock: EmulatorClock | None = None) -> None:
        self.clock = clock or EmulatorClock()
        """Where the emulator reads the time its resources carry."""
        self.server = EmulatorServer(app, fault_response=self.fault_response, faults=faults)
        """The HTTP server; its ``faults`` may be replaced (the benchmarks do)."""
        from notion_sync.core.emulator.control import ControlApp

        self.server.control = ControlApp(self)

    service_name: str = ""
    """The service's name in the control API and ``notion-sync emulate`` (default: the class name)."""

    def control_routes(self) -> list[ControlRoute]:
        """The service's own control endpoints under ``/_emulator/`` (acting as a user of the
        service: edit a row, move a card...); the shared ones (faults, clock, requests) are added
        to these. Override it; the default has none."""
        return []

    # -- lifecycle ----------------------------------------------------------------
    def start(self, host: str = "127.0.0.1", port: int = 0) -> Self:
        """Serve on ``host``:``port`` (default 127.0.0.1 and a random free port); returns self once
        it accepts requests."""
        self.server.start(host, port)
        return self

    def restart(self, host: str = "127.0.0.1", port: int = 0) -> Self:
        """Stop serving and serve again on ``host``:``port``, state kept (``notion-sync emulate --port-base``)."""
        self.server.stop()
        return self.start(host, port)

    def stop(self) -> None:
        """Stop serving."""
        self.server.stop()

    def __enter__(self) -> Self:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    @property
    def base_url(self) -> str:
        """The server's root, ``http://127.0.0.1:<port>`` (each service's API lives below it)."""
        return self.server.url

    @property
    def port(self) -> int:
        """The port it serves on (0 before ``start``)."""
        return self.server.port

    # -- faults -------------------------------------------------------------------
    @property
    def faults(self) -> Faults:
        """The fault and latency knobs: scheduled statuses, drops, delays, random faults, rate limits."""
        return self.server.faults

    @property
    def requests(self) -> Counter[str]:
        """Requests served, counted by ``"METHOD /path"``."""
        return self.server.requests

    def fault_response(self, status: int, request: Request) -> Response:
        """The service's reply to an injected ``status``; override it with the service's own body."""
        return Response(f"injected {status}", status_code=status)

    def reset_server(self) -> None:
        """Remove every fault, put Retry-After back to its default and count requests from zero."""
        self.faults.clear()
        self.faults.retry_after = Faults.retry_after
        self.faults.injected.clear()
        self.server.requests.clear()
        self.server.log.clear()

    # -- clock --------------------------------------------------------------------
    def now(self) -> datetime:
        """The emulator's current time (aware UTC): real time unless frozen by :meth:`set_clock`."""
        return self.clock.now()

    def set_clock(self, when: datetime | None) -> None:
        """Freeze the clock at ``when`` (naive means UTC), or go back to real time with None."""
        self.clock.set(when)

    def advance(self, **timedelta_kwargs: float) -> None:
        """Move the clock forward (``advance(minutes=2)``); freezes a running clock first."""
        self.clock.advance(**timedelta_kwargs)
