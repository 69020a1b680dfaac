"""How a message is tied to its Notion page: the metadata every message carries,
``{"event_type": "notion_sync_row", "event_payload": {"mapping": ..., "page_id": ...}}``,
which ``recover`` finds through ``conversations.history(include_all_metadata=true)``."""

from __future__ import annotations

import json
import re
from typing import Any

__all__ = ["EVENT_TYPE", "WATCH_MAX", "marker", "normalize_page_id", "parse_marker", "watched_values"]

EVENT_TYPE = "notion_sync_row"


WATCH_MAX = 4000
"""The most JSON characters of watched values a notification's metadata carries."""


def marker(mapping: str, page_id: str, *, removed: bool = False, watch: dict[str, str] | None = None) -> dict[str, Any]:
    """The metadata every message carries, so a lost link can be found again. A notification
    carries the watched values it was posted with (``watch``), so that it can be adopted as it is."""
    payload: dict[str, Any] = {"mapping": mapping, "page_id": page_id}
    if removed:
        payload["removed"] = True
    # Slack refuses metadata over 8 kB (metadata_too_large): long values are left out, which
    # only means the notification cannot be adopted without a write after a lost state file.
    if watch is not None and len(json.dumps(watch)) <= WATCH_MAX:
        payload["watch"] = watch
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


def watched_values(message: dict[str, Any]) -> dict[str, str] | None:
    """The watched values a notification was posted with (``marker(watch=...)``), if it says."""
    watch = ((message.get("metadata") or {}).get("event_payload") or {}).get("watch")
    return {str(k): str(v) for k, v in watch.items()} if isinstance(watch, dict) else None


def normalize_page_id(page_id: str) -> str:
    """Dashed lowercase, as ``DesiredItem.page_id``."""
    raw = page_id.replace("-", "").lower()
    if re.fullmatch(r"[0-9a-f]{32}", raw):
        return f"{raw[:8]}-{raw[8:12]}-{raw[12:16]}-{raw[16:20]}-{raw[20:]}"
    return page_id.lower()
