"""Google Calendar's rules for event resources: the id rule, the fields a resource keeps, patch semantics.

Written from Google's documentation (the discovery document's ``Event.id``), not from the
connector: an oracle may not share the code it checks.
"""

from __future__ import annotations

import copy
import json
import re
from datetime import datetime
from functools import cache
from importlib import resources
from typing import Any

from .errors import bad

__all__ = ["SERVER_FIELDS", "event_schema_fields", "merge", "parse_instant", "strip_nulls", "valid_event_id"]

_EVENT_ID = re.compile(r"[0-9a-v]{5,1024}")
"""Google: "characters allowed in the ID are those used in base32hex encoding, i.e. lowercase
letters a-v and digits 0-9 ... the length of the ID must be between 5 and 1024 characters"."""


def valid_event_id(value: object) -> bool:
    """Whether Google accepts ``value`` as a client-chosen event id."""
    return isinstance(value, str) and _EVENT_ID.fullmatch(value) is not None


@cache
def _discovery() -> dict[str, Any]:
    text = (
        resources.files("googleapiclient")
        .joinpath("discovery_cache/documents/calendar.v3.json")
        .read_text(encoding="utf-8")
    )
    return dict(json.loads(text))


def event_schema_fields() -> frozenset[str]:
    """The properties of the ``Event`` schema in the client library's discovery document."""
    return frozenset(_discovery()["schemas"]["Event"]["properties"])


def merge(target: dict[str, Any], patch: dict[str, Any]) -> None:
    """Google's patch semantics: objects merge, arrays and scalars replace, null removes."""
    for key, value in patch.items():
        if value is None:
            target.pop(key, None)
        elif isinstance(value, dict) and isinstance(target.get(key), dict):
            merge(target[key], value)
        else:
            target[key] = copy.deepcopy(value)


def strip_nulls(value: Any) -> Any:
    """``value`` without its null fields, at any depth (Google ignores them on insert)."""
    if isinstance(value, dict):
        return {k: strip_nulls(v) for k, v in value.items() if v is not None}
    if isinstance(value, list):
        return [strip_nulls(v) for v in value]
    return value


def parse_instant(text: str, where: str) -> datetime:
    """An RFC 3339 instant, or Google's 400 naming ``where``."""
    try:
        moment = datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError:
        raise bad(f"Invalid value for: {where}") from None
    return moment


SERVER_FIELDS = frozenset(
    {
        "kind",
        "etag",
        "id",
        "htmlLink",
        "created",
        "updated",
        "creator",
        "organizer",
        "iCalUID",
        "sequence",
        "eventType",
        "status",
    }
)
"""Fields Google sets itself; a request cannot change them (status excepted, on writes)."""
