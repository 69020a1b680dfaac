"""A test-only connector, "memo", and its emulator: the smallest complete adapter.

It proves the core's contract with a third connector that nothing in core knows of:
found by being added to a Discovery, validated by its own settings models, run by the engine, and
put through the conformance suite.
"""

from __future__ import annotations

import itertools
from collections.abc import Sequence
from typing import Any

import httpx
from pydantic import BaseModel
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import Route

from notion_sync.core.adapter import (
    Connector,
    DesiredItem,
    EmulatedTarget,
    ExternalRef,
    Link,
    MappingContext,
    MappingSettings,
    ServiceSettings,
)
from notion_sync.core.emulator.base import ServiceEmulator
from notion_sync.core.errors import AccessError, ItemError, RetryableError
from notion_sync.core.fields import PropertyRef, Template
from notion_sync.core.plugins import Discovery, discover
from notion_sync.core.retry import call_with_retry
from notion_sync.core.rows import Row
from notion_sync.core.secrets import resolve_secret
from notion_sync.core.templates import render_template


class MemoEmulator(ServiceEmulator):
    """A stateful memo service: POST/PUT/DELETE/GET /memos, bearer-token auth."""

    def __init__(self, token: str = "memo-emulator-token") -> None:
        self.token = token
        self.memos: dict[str, dict[str, Any]] = {}
        self._ids = itertools.count(1)
        app = Starlette(
            routes=[
                Route("/memos", self._create, methods=["POST"]),
                Route("/memos", self._list, methods=["GET"]),
                Route("/memos/{id}", self._update, methods=["PUT"]),
                Route("/memos/{id}", self._delete, methods=["DELETE"]),
            ]
        )
        super().__init__(app)

    def fault_response(self, status: int, request: Request) -> JSONResponse:
        return JSONResponse({"error": "injected", "status": status}, status_code=status, headers={"Retry-After": "0"})

    def _auth(self, request: Request) -> JSONResponse | None:
        if request.headers.get("authorization") != f"Bearer {self.token}":
            return JSONResponse({"error": "invalid_token"}, status_code=401)
        return None

    async def _create(self, request: Request) -> JSONResponse:
        if (denied := self._auth(request)) is not None:
            return denied
        body = await request.json()
        if not body.get("text"):
            return JSONResponse({"error": "text is required"}, status_code=400)
        memo = {"id": f"m{next(self._ids)}", "archived": False, **body}
        self.memos[memo["id"]] = memo
        return JSONResponse(memo)

    async def _list(self, request: Request) -> JSONResponse:
        if (denied := self._auth(request)) is not None:
            return denied
        mapping = request.query_params.get("mapping")
        return JSONResponse({"memos": [m for m in self.memos.values() if m.get("mapping") == mapping]})

    async def _update(self, request: Request) -> JSONResponse:
        if (denied := self._auth(request)) is not None:
            return denied
        memo = self.memos.get(request.path_params["id"])
        if memo is None:
            return JSONResponse({"error": "not found"}, status_code=404)
        memo.update(await request.json())
        return JSONResponse(memo)

    async def _delete(self, request: Request) -> JSONResponse:
        if (denied := self._auth(request)) is not None:
            return denied
        if self.memos.pop(request.path_params["id"], None) is None:
            return JSONResponse({"error": "not found"}, status_code=404)
        return JSONResponse({"deleted": True})


class MemoSettings(ServiceSettings):
    """``[memo]``"""

    base_url: str
    token_env: str = "MEMO_TOKEN"


class MemoFields(BaseModel):
    model_config = {"extra": "forbid"}
    text: Template = "{Name}"
    tag: PropertyRef(("select", "status")) | None = None  # type: ignore[valid-type]


class MemoMapping(MappingSettings):
    fields: MemoFields = MemoFields()


def classify(exc: Exception) -> Exception:
    if isinstance(exc, httpx.HTTPStatusError):
        status = exc.response.status_code
        if status == 429 or status >= 500:
            return RetryableError(f"memo answered {status}", retry_after=0)
        if status == 401:
            return AccessError("the memo token is invalid")
        return ItemError(f"memo answered {status}: {exc.response.text}")
    if isinstance(exc, httpx.TransportError):
        return RetryableError(f"memo connection failed: {type(exc).__name__}", retry_after=0)
    return exc


class MemoConnector(Connector[MemoSettings, MemoMapping]):
    """Writes one memo per row."""

    name = "memo"
    Settings = MemoSettings
    MappingSettings = MemoMapping
    on_delete_modes = ("delete", "archive", "keep")
    summary = "test-only: one memo per row"

    def __init__(self, settings: MemoSettings) -> None:
        super().__init__(settings)
        self._client: httpx.Client | None = None
        self.writes = 0

    @property
    def client(self) -> httpx.Client:
        if self._client is None:
            token = resolve_secret("memo.token", env=self.settings.token_env)
            assert token is not None
            self._client = httpx.Client(
                base_url=self.settings.base_url, headers={"Authorization": f"Bearer {token.reveal()}"}
            )
        return self._client

    def _call(self, method: str, url: str, what: str, **kwargs: Any) -> Any:
        def once() -> Any:
            response = self.client.request(method, url, **kwargs)
            response.raise_for_status()
            return response.json()

        return call_with_retry(once, classify=classify, what=what)

    def render(self, row: Row, mapping: MappingContext[MemoMapping]) -> dict[str, Any]:
        fields = mapping.settings.fields
        payload: dict[str, Any] = {"text": render_template(fields.text, row)}
        if fields.tag:
            prop = row.get(fields.tag)
            payload["tag"] = prop.value if prop else None
        return payload

    def create(self, item: DesiredItem, mapping: MappingContext[MemoMapping]) -> ExternalRef:
        self.writes += 1
        memo = self._call(
            "POST", "/memos", "create memo", json={**item.payload, "mapping": mapping.name, "page_id": item.page_id}
        )
        return ExternalRef(memo["id"])

    def update(self, link: Link, item: DesiredItem, mapping: MappingContext[MemoMapping]) -> ExternalRef:
        self.writes += 1
        self._call("PUT", f"/memos/{link.ref.id}", "update memo", json={**item.payload, "archived": False})
        return link.ref

    def delete(self, link: Link, mode: str, mapping: MappingContext[MemoMapping]) -> ExternalRef | None:
        self.writes += 1
        if mode == "archive":
            self._call("PUT", f"/memos/{link.ref.id}", "archive memo", json={"archived": True})
            return link.ref
        try:
            self._call("DELETE", f"/memos/{link.ref.id}", "delete memo")
        except ItemError as exc:
            if "404" not in str(exc):
                raise
        return None

    def recover(self, items: Sequence[DesiredItem], mapping: MappingContext[MemoMapping]) -> dict[str, ExternalRef]:
        memos = self._call("GET", "/memos", "list memos", params={"mapping": mapping.name})["memos"]
        by_page = {m["page_id"]: m for m in memos}
        keys = ("text", "tag") if mapping.settings.fields.tag else ("text",)

        def found(memo: dict[str, Any]) -> dict[str, Any] | None:
            # What the memo holds, in render's form; an archived one must be restored.
            return None if memo.get("archived") else {k: memo.get(k) for k in keys}

        return {
            i.page_id: ExternalRef(by_page[i.page_id]["id"], found=found(by_page[i.page_id]))
            for i in items
            if i.page_id in by_page
        }

    def close(self) -> None:
        if self._client is not None:
            self._client.close()

    @classmethod
    def emulated(cls) -> EmulatedTarget:
        return MemoTarget()


class MemoTarget(EmulatedTarget):
    emulator: MemoEmulator

    def __init__(self) -> None:
        self.emulator = MemoEmulator().start()
        self.service_settings = {"base_url": self.emulator.base_url, "token_env": "MEMO_TEST_TOKEN"}
        self.mapping = {"fields": {"text": "{Name} ({Status})"}}
        self.env = {"MEMO_TEST_TOKEN": self.emulator.token}

    def items(self) -> dict[str, str]:
        return {m["page_id"]: m["text"] for m in self.emulator.memos.values() if not m["archived"]}

    def item_count(self) -> int:
        return sum(1 for m in self.emulator.memos.values() if not m["archived"])

    def close(self) -> None:
        self.emulator.stop()


def with_memo(connector: type[MemoConnector] = MemoConnector) -> Discovery:
    """The installed connectors plus memo (or a variant of it), to hand to the CLI
    (``runner.invoke(app, ..., obj=...)``, ``main(discovery=...)``) or to ``load_config``."""
    found = discover()
    found.add(connector)
    return found
