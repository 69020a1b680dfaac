"""``notion-sync check`` for the webhook: one read-only listing of the mapping's items."""

from __future__ import annotations

from typing import TYPE_CHECKING

from notion_sync.sdk import CheckResult, FatalError, MappingContext, NotionSyncError

from .settings import WebhookMapping

if TYPE_CHECKING:
    from .connector import WebhookConnector

__all__ = ["check"]


def check(connector: WebhookConnector, mapping: MappingContext[WebhookMapping]) -> list[CheckResult]:
    """The URL answers a listing with the configured token."""
    url = connector.url(mapping)
    try:
        connector.call("GET", url, "check", params={"mapping": mapping.name, "limit": 1})
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
