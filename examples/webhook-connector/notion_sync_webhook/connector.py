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
from typing import Any

import httpx

from notion_sync.sdk import (
    CheckResult,
    Connector,
    DesiredItem,
    EmulatedTarget,
    ExternalRef,
    FatalError,
    Link,
    MappingContext,
    Row,
    Starter,
    call_with_retry,
)

from . import checks, spec
from .client import build_client
from .errors import GoneError, classify
from .markers import document, found_payload, marked_page
from .render import render_document
from .settings import WebhookMapping, WebhookSettings
from .settings import starter as settings_starter

__all__ = ["WebhookConnector"]

PAGE_LIMIT = 100


class WebhookConnector(Connector[WebhookSettings, WebhookMapping]):
    """Sends each row as JSON to a webhook; updates and deletes it there."""

    name = spec.name
    summary = spec.summary
    Settings = spec.Settings
    MappingSettings = spec.MappingSettings
    on_delete_modes = spec.on_delete_modes

    def __init__(self, settings: WebhookSettings) -> None:
        super().__init__(settings)
        self._client: httpx.Client | None = None

    # -- plumbing -------------------------------------------------------------
    @property
    def client(self) -> httpx.Client:
        """The HTTP client, made on first use (the token is read only then)."""
        if self._client is None:
            self._client = build_client(self.settings)
        return self._client

    def url(self, mapping: MappingContext[WebhookMapping]) -> str:
        """The mapping's collection URL."""
        return mapping.settings.url or self.settings.url

    def call(self, method: str, url: str, what: str, **kwargs: Any) -> Any:
        """One request, retried as ``classify`` says; the reply's JSON (``{}`` when empty)."""

        def once() -> Any:
            response = self.client.request(method, url, **kwargs)
            response.raise_for_status()
            return response.json() if response.content else {}

        return call_with_retry(once, classify=classify, what=f"webhook: {what}", policy=self.retry_policy)

    # -- pure -----------------------------------------------------------------
    def render(self, row: Row, mapping: MappingContext[WebhookMapping]) -> dict[str, Any]:
        """The document's fields for ``row``."""
        return render_document(row, mapping.settings)

    # -- writes ---------------------------------------------------------------
    def create(self, item: DesiredItem, mapping: MappingContext[WebhookMapping]) -> ExternalRef:
        reply = self.call("POST", self.url(mapping), "create", json=document(item, mapping.name))
        item_id = reply.get("id") if isinstance(reply, dict) else None
        if item_id in (None, ""):
            # Without an id nothing can be updated or deleted later: stop rather than post blind.
            raise FatalError(
                f'the webhook at {self.url(mapping)} answered a POST without an "id" in its JSON '
                "reply; it must return the created item's id"
            )
        return ExternalRef(str(item_id))

    def update(self, link: Link, item: DesiredItem, mapping: MappingContext[WebhookMapping]) -> ExternalRef:
        try:
            self.call("PUT", f"{self.url(mapping)}/{link.ref.id}", "update", json=document(item, mapping.name))
        except GoneError:
            # Removed on the other side while the row still exists: put it back.
            return self.create(item, mapping)
        return link.ref

    def delete(self, link: Link, mode: str, mapping: MappingContext[WebhookMapping]) -> ExternalRef | None:
        """Remove the item (``mode`` is always ``delete``: for ``keep`` the engine does not call this)."""
        try:
            self.call("DELETE", f"{self.url(mapping)}/{link.ref.id}", "delete")
        except GoneError:
            pass
        return None

    def _listing(self, mapping: MappingContext[WebhookMapping]) -> dict[str, ExternalRef]:
        """page id -> the mapping's item (its id and what it holds), read once per run (kept in its run cache)."""
        if "listing" not in mapping.run_cache:
            found: dict[str, ExternalRef] = {}
            params: dict[str, Any] = {"mapping": mapping.name, "limit": PAGE_LIMIT}
            while True:
                reply = self.call("GET", self.url(mapping), "list items", params=params)
                for entry in reply.get("items") or []:
                    page_id = marked_page(entry, mapping.name)
                    if page_id is not None:
                        found.setdefault(page_id, ExternalRef(str(entry["id"]), found=found_payload(entry)))
                cursor = reply.get("next_cursor")
                if not cursor:
                    break
                params["cursor"] = cursor
            mapping.run_cache["listing"] = found
        listing: dict[str, ExternalRef] = mapping.run_cache["listing"]
        return listing

    def recover(self, items: Sequence[DesiredItem], mapping: MappingContext[WebhookMapping]) -> dict[str, ExternalRef]:
        listing = self._listing(mapping)
        return {i.page_id: listing[i.page_id] for i in items if i.page_id in listing}

    # -- optional -------------------------------------------------------------
    def list_marked(self, mapping: MappingContext[WebhookMapping]) -> dict[str, ExternalRef]:
        """Every item of the mapping (for the engine's sweep after a lost state file)."""
        return dict(self._listing(mapping))

    def check(self, mapping: MappingContext[WebhookMapping]) -> list[CheckResult]:
        """Read-only: the URL lists this mapping's items."""
        return checks.check(self, mapping)

    def close(self) -> None:
        if self._client is not None:
            self._client.close()
            self._client = None

    @classmethod
    def starter(cls, schema: dict[str, dict[str, Any]]) -> Starter:
        """For ``notion-sync init`` (see ``settings.starter``)."""
        return settings_starter(schema)

    @classmethod
    def emulated(cls) -> EmulatedTarget:
        from notion_sync_webhook.target import WebhookTarget

        return WebhookTarget()
