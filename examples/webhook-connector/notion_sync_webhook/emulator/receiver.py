"""A local webhook receiver that speaks the connector's protocol, for tests and ``notion-sync demo``.

It imports nothing of the connector: it is the oracle the connector is tested against.

It is strict where a real receiver would be: a bearer token when one is set (401
otherwise), JSON bodies with their marker (422 otherwise), 404 for unknown ids,
paginated listings with an opaque cursor, and, through ``ServiceEmulator``'s fault
knobs (``emulator.faults``), 429 with ``Retry-After`` and 5xx replies in its own JSON error shape.
"""

from __future__ import annotations

import base64
import itertools
import json
import math
import threading
from typing import Any

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from notion_sync.sdk import ServiceEmulator

__all__ = ["PATH", "WebhookEmulator"]

PATH = "/hooks/notion"


def _error(status: int, code: str, message: str, headers: dict[str, str] | None = None) -> JSONResponse:
    return JSONResponse({"error": {"code": code, "message": message}}, status_code=status, headers=headers)


class WebhookEmulator(ServiceEmulator):
    """The receiver: ``POST/GET {PATH}``, ``PUT/DELETE {PATH}/{id}``. ``items`` is what it holds."""

    def __init__(self, token: str | None = "webhook-emulator-token", page_size: int = 100) -> None:
        self.token = token
        self.page_size = page_size
        self.items: dict[str, dict[str, Any]] = {}
        self._ids = itertools.count(1)
        self._lock = threading.Lock()
        app = Starlette(
            routes=[
                Route(PATH, self._create, methods=["POST"]),
                Route(PATH, self._list, methods=["GET"]),
                Route(PATH + "/{id}", self._replace, methods=["PUT"]),
                Route(PATH + "/{id}", self._delete, methods=["DELETE"]),
            ]
        )
        super().__init__(app)

    @property
    def url(self) -> str:
        """The collection URL to put in ``[webhook] url``."""
        return self.base_url + PATH

    def fault_response(self, status: int, request: Request) -> Response:
        """The receiver's JSON error for an injected status; 429 and 503 carry Retry-After."""
        retry = {"Retry-After": str(math.ceil(self.faults.retry_after))}
        if status == 429:
            return _error(429, "rate_limited", "too many requests", retry)
        if status == 503:
            return _error(503, "unavailable", "try again later", retry)
        return _error(status, "server_error" if status >= 500 else "bad_request", f"injected {status}")

    def _denied(self, request: Request) -> JSONResponse | None:
        if self.token is not None and request.headers.get("authorization") != f"Bearer {self.token}":
            return _error(401, "unauthorized", "missing or invalid bearer token")
        return None

    async def _body(self, request: Request) -> dict[str, Any] | JSONResponse:
        try:
            body = json.loads(await request.body())
        except ValueError:
            return _error(400, "invalid_json", "the body is not JSON")
        if not isinstance(body, dict):
            return _error(422, "invalid_document", "the body must be a JSON object")
        missing = [k for k in ("mapping", "page_id", "title") if not body.get(k)]
        if missing:
            return _error(422, "invalid_document", f"missing: {', '.join(missing)}")
        return body

    async def _create(self, request: Request) -> Response:
        if (denied := self._denied(request)) is not None:
            return denied
        body = await self._body(request)
        if isinstance(body, JSONResponse):
            return body
        with self._lock:
            item = {**body, "id": f"wh_{next(self._ids)}"}
            self.items[item["id"]] = item
        return JSONResponse(item, status_code=201, headers={"Location": f"{PATH}/{item['id']}"})

    async def _replace(self, request: Request) -> Response:
        if (denied := self._denied(request)) is not None:
            return denied
        item_id = request.path_params["id"]
        body = await self._body(request)
        if isinstance(body, JSONResponse):
            return body
        with self._lock:
            if item_id not in self.items:
                return _error(404, "not_found", f"no item {item_id}")
            self.items[item_id] = {**body, "id": item_id}
            return JSONResponse(self.items[item_id])

    async def _delete(self, request: Request) -> Response:
        if (denied := self._denied(request)) is not None:
            return denied
        with self._lock:
            if self.items.pop(request.path_params["id"], None) is None:
                return _error(404, "not_found", f"no item {request.path_params['id']}")
        return Response(status_code=204)

    async def _list(self, request: Request) -> Response:
        if (denied := self._denied(request)) is not None:
            return denied
        mapping = request.query_params.get("mapping")
        if not mapping:
            return _error(400, "bad_request", "the mapping parameter is required")
        try:
            limit = min(int(request.query_params.get("limit", self.page_size)), self.page_size)
            start = (
                int(base64.urlsafe_b64decode(request.query_params["cursor"]).decode())
                if "cursor" in request.query_params
                else 0
            )
        except ValueError:
            return _error(400, "bad_request", "invalid limit or cursor")
        if limit < 1:
            return _error(400, "bad_request", "limit must be at least 1")
        with self._lock:
            matching = [i for i in self.items.values() if i.get("mapping") == mapping]
        page = matching[start : start + limit]
        end = start + len(page)
        cursor = base64.urlsafe_b64encode(str(end).encode()).decode() if end < len(matching) else None
        return JSONResponse({"items": page, "next_cursor": cursor})
