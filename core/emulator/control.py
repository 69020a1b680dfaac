"""The control API every emulator serves under ``/_emulator/``: a test in any language acts
as a user (edit a row, move a card) and as a failing service (a 429, a dropped connection,
a slow reply), over plain HTTP. docs/emulators.md lists every endpoint.

The routes every emulator has (``/_emulator/requests``, ``/_emulator/faults``,
``/_emulator/clock``) are built here from its ``ServiceEmulator`` knobs; a service adds its
own (``PATCH /_emulator/pages/{id}``...) by overriding ``ServiceEmulator.control_routes``
with a list of :class:`ControlRoute`. The control API is never faulted, rate limited nor
counted in the request log: it is the test's channel, not the client's.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING, Any

from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.types import Receive, Scope, Send

from notion_sync.core.emulator.server import CONTROL_PREFIX, Faults

if TYPE_CHECKING:
    from notion_sync.core.emulator.base import ServiceEmulator

__all__ = ["ControlApp", "ControlError", "ControlRoute"]

ControlHandler = Callable[..., Any]
"""Called with the JSON body (a dict, empty without one) and the path's parameters, in order;
returns what to answer as JSON (None answers ``{"ok": true}``)."""


class ControlError(Exception):
    """Raised by a control handler: answered ``{"error": message}`` with ``status``."""

    def __init__(self, status: int, message: str) -> None:
        super().__init__(message)
        self.status = status
        self.message = message


@dataclass(frozen=True)
class ControlRoute:
    """One control endpoint: ``method`` and a path template below ``/_emulator/`` such as
    ``"pages/{page_id}/trash"``, answered by ``handler(body, page_id)``."""

    method: str
    path: str
    handler: ControlHandler
    summary: str = ""

    def match(self, method: str, path: str) -> tuple[str, ...] | None:
        """The path's parameters when this route answers the request, else None."""
        if method != self.method:
            return None
        found = re.fullmatch(re.sub(r"\{\w+\}", "([^/]+)", self.path), path)
        return found.groups() if found else None


def _number(body: dict[str, Any], key: str, default: float | None = None) -> float | None:
    value = body.get(key, default)
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int | float) or value < 0:
        raise ControlError(400, f"{key!r} must be a number of seconds ≥ 0, got {value!r}")
    return float(value)


def _when(value: Any) -> datetime | None:
    if value is None:
        return None
    try:
        return datetime.fromisoformat(str(value).replace("Z", "+00:00"))
    except ValueError:
        raise ControlError(400, f"'set' must be an ISO 8601 time such as 2026-01-01T09:00:00Z, got {value!r}") from None


class ControlApp:
    """The ASGI app answering ``/_emulator/…`` for one emulator."""

    def __init__(self, emulator: ServiceEmulator) -> None:
        self.emulator = emulator

    def routes(self) -> list[ControlRoute]:
        """Every control endpoint of this emulator: the shared ones, then the service's own."""
        shared = [
            ControlRoute("GET", "", self._index, "this list"),
            ControlRoute("GET", "requests", self._requests, "the request log and per-endpoint counts"),
            ControlRoute("DELETE", "requests", self._clear_requests, "count from zero"),
            ControlRoute("GET", "faults", self._faults, "the fault knobs and what was injected"),
            ControlRoute("POST", "faults", self._schedule, "fail (or delay) the next matching requests"),
            ControlRoute("PATCH", "faults", self._knobs, "latency, random faults, a rate limit, Retry-After"),
            ControlRoute("DELETE", "faults", self._clear_faults, "remove every fault"),
            ControlRoute("GET", "clock", self._clock, "the emulator's time"),
            ControlRoute("POST", "clock", self._set_clock, "freeze, move or release the clock"),
        ]
        return shared + list(self.emulator.control_routes())

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        request = Request(scope, receive)
        response = self._answer(request.method, scope["path"][len(CONTROL_PREFIX) :].strip("/"), await request.body())
        await response(scope, receive, send)

    def _answer(self, method: str, path: str, raw: bytes) -> Response:
        try:
            body = json.loads(raw) if raw.strip() else {}
        except ValueError:
            return JSONResponse({"error": "the body is not JSON"}, status_code=400)
        if not isinstance(body, dict):
            return JSONResponse({"error": "the body must be a JSON object"}, status_code=400)
        routes = self.routes()
        for route in routes:
            params = route.match(method, path)
            if params is None:
                continue
            try:
                result = route.handler(body, *params)
            except ControlError as exc:
                return JSONResponse({"error": exc.message}, status_code=exc.status)
            except KeyError as exc:
                return JSONResponse({"error": f"not found: {exc.args[0] if exc.args else path}"}, status_code=404)
            return JSONResponse({"ok": True} if result is None else result)
        known = sorted({f"{r.method} {CONTROL_PREFIX}{r.path}" for r in routes})
        return JSONResponse({"error": f"no control endpoint {method} {CONTROL_PREFIX}{path}", "endpoints": known}, 404)

    # -- shared endpoints ---------------------------------------------------------
    def _index(self, body: dict[str, Any]) -> dict[str, Any]:
        return {
            "service": self.emulator.service_name or type(self.emulator).__name__,
            "endpoints": [
                {"method": r.method, "path": f"{CONTROL_PREFIX}{r.path}", "summary": r.summary} for r in self.routes()
            ],
        }

    def _requests(self, body: dict[str, Any]) -> dict[str, Any]:
        server = self.emulator.server
        return {
            "service": self.emulator.service_name or type(self.emulator).__name__,
            "total": sum(server.requests.values()),
            "counts": dict(server.requests),
            "injected": dict(server.faults.injected),
            "log": list(server.log),
        }

    def _clear_requests(self, body: dict[str, Any]) -> None:
        self.emulator.server.requests.clear()
        self.emulator.server.log.clear()
        self.emulator.faults.injected.clear()

    def _faults(self, body: dict[str, Any]) -> dict[str, Any]:
        f = self.emulator.faults
        return {
            "scheduled": [
                {"status": s.status, "count": s.count, "path": s.path, "method": s.method} for s in f.scheduled
            ],
            "delayed": [{"seconds": s.delay, "count": s.count, "path": s.path, "method": s.method} for s in f.delayed],
            "latency": f.latency,
            "latency_jitter": f.latency_jitter,
            "rate_limit_prob": f.rate_limit_prob,
            "server_error_prob": f.server_error_prob,
            "drop_prob": f.drop_prob,
            "rate_limit": None if f.rate_limit is None else {"requests": f.rate_limit[0], "seconds": f.rate_limit[1]},
            "rate_limit_path": f.rate_limit_path,
            "retry_after": f.retry_after,
            "injected": dict(f.injected),
        }

    def _schedule(self, body: dict[str, Any]) -> dict[str, Any]:
        count = body.get("count", 1)
        if isinstance(count, bool) or not isinstance(count, int) or count < 1:
            raise ControlError(400, f"'count' must be a whole number ≥ 1, got {count!r}")
        path, method = body.get("path"), body.get("method")
        for key, value in (("path", path), ("method", method)):
            if value is not None and not isinstance(value, str):
                raise ControlError(400, f"{key!r} must be a string (path: a regex on the request path)")
        if path is not None:
            try:
                re.compile(path)
            except re.error as exc:
                raise ControlError(400, f"'path' is not a valid regex: {exc}") from None
        faults = self.emulator.faults
        if "retry_after" in body:
            faults.retry_after = _number(body, "retry_after")
        if "delay" in body:
            seconds = _number(body, "delay")
            faults.schedule_delay(seconds or 0.0, count, path, method)
            return self._faults({})
        status = 0 if body.get("drop") else body.get("status")
        if isinstance(status, bool) or not isinstance(status, int) or not (status == 0 or 400 <= status <= 599):
            raise ControlError(400, "give 'status' (an HTTP status 400-599), 'drop': true or 'delay': seconds")
        faults.schedule(status, count, path, method)
        return self._faults({})

    def _knobs(self, body: dict[str, Any]) -> dict[str, Any]:
        faults = self.emulator.faults
        for key in ("latency", "latency_jitter"):
            if key in body:
                setattr(faults, key, _number(body, key) or 0.0)
        for key in ("rate_limit_prob", "server_error_prob", "drop_prob"):
            if key in body:
                value = _number(body, key) or 0.0
                if value > 1:
                    raise ControlError(400, f"{key!r} is a probability between 0 and 1, got {value}")
                setattr(faults, key, value)
        if "retry_after" in body:
            faults.retry_after = _number(body, "retry_after")
        if "rate_limit" in body:
            limit = body["rate_limit"]
            if limit is None:
                faults.rate_limit, faults.rate_limit_path = None, None
            elif isinstance(limit, dict) and isinstance(limit.get("requests"), int) and limit["requests"] > 0:
                faults.rate_limit = (limit["requests"], _number(limit, "seconds", 1.0) or 1.0)
                faults.rate_limit_path = limit.get("path")
            else:
                raise ControlError(400, '\'rate_limit\' is null or {"requests": N, "seconds": S, "path": regex}')
        return self._faults({})

    def _clear_faults(self, body: dict[str, Any]) -> None:
        self.emulator.faults.clear()
        self.emulator.faults.retry_after = Faults.retry_after

    def _clock(self, body: dict[str, Any]) -> dict[str, Any]:
        clock = self.emulator.clock
        return {"now": clock.now().isoformat().replace("+00:00", "Z"), "frozen": clock.frozen}

    def _set_clock(self, body: dict[str, Any]) -> dict[str, Any]:
        if "set" in body:
            self.emulator.set_clock(_when(body["set"]))
        if "advance" in body:
            self.emulator.advance(seconds=_number(body, "advance") or 0.0)
        if "set" not in body and "advance" not in body:
            raise ControlError(400, "give 'set' (an ISO time, or null for real time) or 'advance' (seconds)")
        return self._clock({})
