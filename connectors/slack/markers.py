"""How a message is tied to its Notion page: the metadata every message carries,
``{"event_type": "notion_sync_row", "event_payload": {"mapping": ..., "page_id": ...}}``,
which ``recover`` finds through ``conversations.history(include_all_metadata=true)``."""

from __future__ import annotations

import re
from typing import Any

__all__ = ["EVENT_TYPE", "marker", "normalize_page_id", "parse_marker"]

EVENT_TYPE = "notion_sync_row"


def marker(mapping: str, page_id: str, *, removed: bool = False) -> dict[str, Any]:
    """The metadata every message carries, so a lost link can be found again."""
    payload: dict[str, Any] = {"mapping": mapping, "page_id": page_id}
    if removed:
        payload["removed"] = True
    return {"event_type": EVENT_TYPE, "event_payload": payload}


def parse_marker(message: dict[str, Any]) -> tuple[str, str, bool] | None:
    """(mapping, page id, struck through) from a message as history returns it, or None if it has no marker."""
    meta = message.get("metadata") or {}
    if meta.get("event_type") != EVENT_TYPE:
        return None
    payload = meta.get("event_payload") or {}
    return (
        str(payload.get("mapping", "")),
        normalize_page_id(str(payload.get("page_id", ""))),
        bool(payload.get("removed")),
    )


def normalize_page_id(page_id: str) -> str:
    """Dashed lowercase, as ``DesiredItem.page_id``."""
    raw = page_id.replace("-", "").lower()
    if re.fullmatch(r"[0-9a-f]{32}", raw):
        return f"{raw[:8]}-{raw[8:12]}-{raw[12:16]}-{raw[16:20]}-{raw[20:]}"
    return page_id.lower()
