"""The webhook connector: each row becomes a JSON document at a URL that speaks a small REST protocol.

The protocol (what the receiving service implements; see the package README):

* ``POST <url>`` with the row's JSON creates an item; the reply's ``id`` links it to the row.
* ``PUT <url>/<id>`` replaces it; ``DELETE <url>/<id>`` removes it (404/410: already gone).
* ``GET <url>?mapping=<name>[&cursor=...]`` lists the items of a mapping, as
  ``{"items": [{"id", "page_id", ...}], "next_cursor": ...}``: that is how a run finds
  items whose link was lost (a crash, a lost state file) instead of posting them twice.

Every document carries its marker: ``mapping`` (the mapping's name) and ``page_id``.
With ``token_env`` or ``token_file``, requests carry ``Authorization: Bearer <token>``.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date, datetime
from typing import Any

import httpx

from notion_sync.core.adapter import (
    CheckResult,
    Connector,
    DesiredItem,
    EmulatedTarget,
    ExternalRef,
    Link,
    MappingContext,
)
from notion_sync.core.errors import FatalError, NotionSyncError
from notion_sync.core.retry import call_with_retry
from notion_sync.core.rows import DateValue, Row
from notion_sync.core.secrets import resolve_secret
from notion_sync.core.templates import render_template
from notion_sync_webhook.errors import GoneError, classify
from notion_sync_webhook.settings import WebhookMapping, WebhookSettings

__all__ = ["WebhookConnector"]

PAGE_LIMIT = 100


def _iso(value: date | datetime | None) -> str | None:
    return value.isoformat() if value is not None else None


class WebhookConnector(Connector[WebhookSettings, WebhookMapping]):
    """Sends each row as JSON to a webhook; updates and deletes it there."""

    name = "webhook"
    Settings = WebhookSettings
    MappingSettings = WebhookMapping
    on_delete_modes = ("delete", "keep")
    summary = "example plugin: each row as JSON at a webhook URL (POST, PUT, DELETE)"

    def __init__(self, settings: WebhookSettings) -> None:
        super().__init__(settings)
        self._client: httpx.Client | None = None
        self._listings: dict[str, dict[str, str]] = {}

    # -- plumbing -------------------------------------------------------------
    @property
    def client(self) -> httpx.Client:
        """The HTTP client, made on first use (the token is read only then)."""
        if self._client is None:
            token = resolve_secret(
                "webhook.token", env=self.settings.token_env, file=self.settings.token_file, required=False
            )
            headers = {"Accept": "application/json", "User-Agent": "notion-sync-webhook/0.1"}
            if token is not None:
                headers["Authorization"] = f"Bearer {token.reveal()}"
            self._client = httpx.Client(headers=headers, timeout=self.settings.timeout)
        return self._client

    def _url(self, mapping: MappingContext[WebhookMapping]) -> str:
        return mapping.settings.url or self.settings.url

    def _call(self, method: str, url: str, what: str, **kwargs: Any) -> Any:
        def once() -> Any:
            response = self.client.request(method, url, **kwargs)
            response.raise_for_status()
            return response.json() if response.content else {}

        return call_with_retry(once, classify=classify, what=f"webhook: {what}")

    # -- pure -----------------------------------------------------------------
    def render(self, row: Row, mapping: MappingContext[WebhookMapping]) -> dict[str, Any]:
        fields = mapping.settings.fields
        payload: dict[str, Any] = {"title": render_template(fields.title, row)}
        if fields.body is not None:
            payload["body"] = render_template(fields.body, row)
        if fields.date is not None:
            prop = row.get(fields.date)
            value = prop.value if prop is not None else None
            payload["date"] = (
                {"start": _iso(value.start), "end": _iso(value.end), "all_day": value.all_day}
                if isinstance(value, DateValue)
                else None
            )
        if fields.properties:
            payload["properties"] = {
                name: (p.text if (p := row.get(name)) is not None else "") for name in fields.properties
            }
        return payload

    @staticmethod
    def _document(item: DesiredItem, mapping: MappingContext[WebhookMapping]) -> dict[str, Any]:
        return {**item.payload, "mapping": mapping.name, "page_id": item.page_id, "page_url": item.page_url}

    # -- writes ---------------------------------------------------------------
    def create(self, item: DesiredItem, mapping: MappingContext[WebhookMapping]) -> ExternalRef:
        reply = self._call("POST", self._url(mapping), "create", json=self._document(item, mapping))
        item_id = reply.get("id") if isinstance(reply, dict) else None
        if item_id in (None, ""):
            # Without an id nothing can be updated or deleted later: stop rather than post blind.
            raise FatalError(
                f'the webhook at {self._url(mapping)} answered a POST without an "id" in its JSON '
                "reply; it must return the created item's id"
            )
        return ExternalRef(str(item_id))

    def update(self, link: Link, item: DesiredItem, mapping: MappingContext[WebhookMapping]) -> ExternalRef:
        try:
            self._call("PUT", f"{self._url(mapping)}/{link.ref.id}", "update", json=self._document(item, mapping))
        except GoneError:
            # Removed on the other side while the row still exists: put it back.
            return self.create(item, mapping)
        return link.ref

    def delete(self, link: Link, mode: str, mapping: MappingContext[WebhookMapping]) -> ExternalRef | None:
        if mode == "keep":
            return link.ref
        try:
            self._call("DELETE", f"{self._url(mapping)}/{link.ref.id}", "delete")
        except GoneError:
            pass
        return None

    def _listing(self, mapping: MappingContext[WebhookMapping]) -> dict[str, str]:
        """page id -> item id of the mapping's items, read once per run."""
        if mapping.name not in self._listings:
            found: dict[str, str] = {}
            params: dict[str, Any] = {"mapping": mapping.name, "limit": PAGE_LIMIT}
            while True:
                reply = self._call("GET", self._url(mapping), "list items", params=params)
                for entry in reply.get("items") or []:
                    if entry.get("mapping", mapping.name) == mapping.name and entry.get("page_id"):
                        found.setdefault(str(entry["page_id"]), str(entry["id"]))
                cursor = reply.get("next_cursor")
                if not cursor:
                    break
                params["cursor"] = cursor
            self._listings[mapping.name] = found
        return self._listings[mapping.name]

    def recover(self, items: Sequence[DesiredItem], mapping: MappingContext[WebhookMapping]) -> dict[str, ExternalRef]:
        listing = self._listing(mapping)
        return {i.page_id: ExternalRef(listing[i.page_id]) for i in items if i.page_id in listing}

    # -- optional -------------------------------------------------------------
    def check(self, mapping: MappingContext[WebhookMapping]) -> list[CheckResult]:
        url = self._url(mapping)
        try:
            self._call("GET", url, "check", params={"mapping": mapping.name, "limit": 1})
        except NotionSyncError as exc:
            return [
                CheckResult(
                    "webhook",
                    False,
                    f"{url}: {exc}",
                    fix="check [webhook] url and the token",
                    access=isinstance(exc, FatalError),
                )
            ]
        return [CheckResult("webhook", True, f"{url} lists this mapping's items")]

    def close(self) -> None:
        if self._client is not None:
            self._client.close()
            self._client = None

    @classmethod
    def starter_mapping(cls, schema: dict[str, dict[str, Any]]) -> dict[str, Any]:
        """For ``notion-sync init``: the title, the first date and the first text property."""
        title = next((n for n, p in schema.items() if p.get("type") == "title"), "Name")
        fields: dict[str, Any] = {"title": "{" + title + "}"}
        date_prop = next((n for n, p in schema.items() if p.get("type") == "date"), None)
        text = next((n for n, p in schema.items() if p.get("type") == "rich_text"), None)
        if text:
            fields["body"] = "{" + text + "}"
        if date_prop:
            fields["date"] = date_prop
        return {"fields": fields}

    @classmethod
    def emulated(cls) -> EmulatedTarget:
        from notion_sync_webhook.target import WebhookTarget

        return WebhookTarget()
