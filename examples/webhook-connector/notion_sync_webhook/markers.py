"""How an item is tied to its Notion page: every document carries ``mapping`` and ``page_id``,
and listing a mapping's items (``GET <url>?mapping=<name>``) finds them again after a crash."""

from __future__ import annotations

from typing import Any

from notion_sync.sdk import DesiredItem

__all__ = ["MARKER_KEYS", "document", "found_payload", "marked_page"]

MARKER_KEYS = ("id", "mapping", "page_id", "page_url")
"""The keys a listed item has besides its payload: its id and the marker ``document`` adds."""


def document(item: DesiredItem, mapping: str) -> dict[str, Any]:
    """The JSON sent for ``item``: its payload plus the marker (and the page's URL)."""
    return {**item.payload, "mapping": mapping, "page_id": item.page_id, "page_url": item.page_url}


def marked_page(entry: dict[str, Any], mapping: str) -> str | None:
    """The page id a listed item belongs to, if it is this mapping's (a service may ignore the filter)."""
    if entry.get("mapping", mapping) != mapping or not entry.get("page_id"):
        return None
    return str(entry["page_id"])


def found_payload(entry: dict[str, Any]) -> dict[str, Any]:
    """A listed item's payload, in ``render_document``'s form: the document without its marker.
    When it equals the row's payload, the engine adopts the item without writing it."""
    return {k: v for k, v in entry.items() if k not in MARKER_KEYS}
