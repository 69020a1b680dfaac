"""How a card is tied to its Notion page: the marker on its description's last line,
``notion-sync: <mapping> <page id>``, which ``recover`` looks for in one read of the board."""

from __future__ import annotations

import re

from .render import MAX_TEXT

__all__ = ["card_desc", "marker", "parse_marker", "strip_marker"]

_MARKER_PREFIX = "notion-sync: "
_MARKER_RE = re.compile(
    r"^notion-sync: (?P<mapping>.+) (?P<page>[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12})$"
)


def marker(mapping: str, page_id: str) -> str:
    """The line that ties a card to its mapping and Notion page."""
    return f"{_MARKER_PREFIX}{mapping} {page_id}"


def parse_marker(desc: str) -> tuple[str, str] | None:
    """(mapping, page id) from a card description's last line, or None if it has no marker."""
    lines = desc.rstrip().splitlines()
    if not lines:
        return None
    match = _MARKER_RE.match(lines[-1].strip())
    return (match["mapping"], match["page"]) if match else None


def strip_marker(desc: str) -> str:
    """The description without its marker line."""
    if parse_marker(desc) is None:
        return desc
    return desc.rstrip().rsplit("\n", 1)[0].rstrip() if "\n" in desc.rstrip() else ""


def card_desc(body: str, mapping: str, page_id: str) -> str:
    """The description written to Trello: the rendered body, then the marker line."""
    line = marker(mapping, page_id)
    room = MAX_TEXT - len(line) - 2
    if len(body) > room:
        body = body[: room - 1] + "…"
    return f"{body}\n\n{line}" if body else line
