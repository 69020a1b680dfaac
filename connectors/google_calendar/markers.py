"""How an event is tied to its Notion page: deterministic event ids and the private
extended properties notion-sync leaves on every event.

Google lets a client choose an event's id (base32hex, 5 to 1,024 characters). The
id of a row's event is derived from (mapping, page id), so a create that is
replayed after a crash hits Google's 409 instead of making a duplicate. Deleted
ids stay reserved forever, so a ``generation`` suffix gives a fresh id when an old
one can no longer be brought back.
"""

from __future__ import annotations

import base64
import hashlib
import re
from typing import Any

__all__ = [
    "MAPPING_KEY",
    "PAGE_KEY",
    "EVENT_ID_PATTERN",
    "event_id",
    "event_markers",
    "markers",
    "normalize_page_id",
]

MAPPING_KEY = "notionSyncMapping"
"""Private extended property holding the mapping's name."""
PAGE_KEY = "notionSyncPage"
"""Private extended property holding the Notion page id (dashed, lowercase)."""

EVENT_ID_PATTERN = re.compile(r"^[0-9a-v]{5,1024}$")
"""What Google accepts as a client-chosen event id."""


def normalize_page_id(page_id: str) -> str:
    """A Notion page id as 32 lowercase hex digits, dashes or not in the input."""
    return page_id.replace("-", "").lower()


def event_id(mapping: str, page_id: str, generation: int = 0) -> str:
    """The id of the event for ``page_id`` in ``mapping``, at ``generation`` (0 first).

    32 base32hex characters (160 bits of SHA-256), then the generation in decimal
    when it is above 0; decimal digits are base32hex too, and the fixed-length head
    keeps generations from colliding.
    """
    if generation < 0:
        raise ValueError("generation must be >= 0")
    digest = hashlib.sha256(f"notion-sync\0{mapping}\0{normalize_page_id(page_id)}".encode()).digest()[:20]
    head = base64.b32hexencode(digest).decode("ascii").lower()
    return head if generation == 0 else f"{head}{generation}"


def markers(mapping: str, page_id: str) -> dict[str, str]:
    """The private extended properties that tie an event to its mapping and page."""
    return {MAPPING_KEY: mapping, PAGE_KEY: page_id}


def event_markers(event: dict[str, Any]) -> dict[str, str]:
    """The private extended properties of an event as Google returns it (empty if it has none)."""
    return dict((event.get("extendedProperties") or {}).get("private") or {})
