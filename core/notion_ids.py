"""Notion ids and URLs: accept what users paste, give the dashed id the API returns."""

from __future__ import annotations

import re

__all__ = ["parse_notion_id", "dashed"]

_HEX32 = re.compile(r"([0-9a-fA-F]{32})")
_DASHED = re.compile(r"([0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12})")


def dashed(hex32: str) -> str:
    """``8a1c...f9`` (32 hex) -> ``8a1c2b3d-4e5f-4071-8293-a4b5c6d7e8f9``."""
    h = hex32.replace("-", "").lower()
    return f"{h[:8]}-{h[8:12]}-{h[12:16]}-{h[16:20]}-{h[20:]}"


def parse_notion_id(text: str) -> str | None:
    """The dashed id in a Notion URL or id, or None.

    Takes ``https://www.notion.so/acme/Deadlines-8a1c...f9?v=...``,
    ``https://app.notion.com/p/8a1c...f9``, and dashed or undashed ids. In a URL the
    ``?v=`` view id is ignored: the id is the last one in the path.
    """
    text = text.strip()
    path = text.split("?", 1)[0].split("#", 1)[0]
    match = _DASHED.findall(path)
    if match:
        return str(match[-1]).lower()
    candidates = _HEX32.findall(path.replace("-", "") if not path.startswith("http") else path)
    if candidates:
        return dashed(str(candidates[-1]))
    return None
