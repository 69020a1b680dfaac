"""Notion's integration webhooks, the protocol side: signatures, the handshake, the event shape,
and which event asks for what. Pure functions of plain data; ``notion_sync.core.serve`` receives
the requests and runs the syncs.

Notion POSTs ``{"verification_token": "secret_…"}`` once when a subscription is created (the
handshake), then signs every event with ``X-Notion-Signature: sha256=<hex HMAC-SHA256 of the
raw body keyed with that token>``. An event carries ``id`` (dedupe on it), ``type``,
``authors``, ``entity`` ``{id, type}`` and ``data`` (``data.parent`` with ``data_source_id``
for rows; ``updated_properties`` for property and schema updates); never the page itself.
"""

from __future__ import annotations

import hashlib
import hmac
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any, Literal

from notion_sync.core.notion_ids import dashed

__all__ = [
    "PAGE_EVENTS",
    "SCHEMA_EVENTS",
    "SIGNATURE_HEADER",
    "Event",
    "MappingSource",
    "Routed",
    "handshake_token",
    "only_own_bot",
    "parse_event",
    "route_event",
    "sign",
    "signature_ok",
]

PAGE_EVENTS = frozenset(
    {"page.created", "page.properties_updated", "page.content_updated", "page.moved", "page.deleted", "page.undeleted"}
)
"""Events that schedule a sync of exactly their page for every mapping on its data source."""
SCHEMA_EVENTS = frozenset({"data_source.schema_updated"})
"""Events that refresh the cached schema of the mappings on the data source and re-check them."""
SIGNATURE_HEADER = "X-Notion-Signature"


def sign(token: str, body: bytes) -> str:
    """The ``X-Notion-Signature`` value of ``body`` under ``token``: ``sha256=<hex>``."""
    return "sha256=" + hmac.new(token.encode(), body, hashlib.sha256).hexdigest()


def signature_ok(token: str | None, body: bytes, header: str | None) -> bool:
    """Whether ``header`` signs the raw ``body`` with ``token``, compared in constant time."""
    if not token or not header:
        return False
    return hmac.compare_digest(sign(token, body).encode(), header.strip().encode())


def handshake_token(body: Any) -> str | None:
    """The verification token when ``body`` (parsed JSON) is Notion's handshake, else None."""
    if isinstance(body, dict) and "type" not in body and isinstance(body.get("verification_token"), str):
        token: str = body["verification_token"]
        return token
    return None


@dataclass(frozen=True)
class Event:
    """The parts of a webhook event that decide what to do."""

    id: str
    type: str
    entity_id: str
    entity_type: str
    parent_id: str | None = None
    parent_type: str | None = None
    data_source_id: str | None = None
    authors: tuple[tuple[str, str], ...] = ()
    """(id, type) of each author: person, bot or agent."""


def _dashed(value: Any) -> str | None:
    """A Notion id in its dashed form (events and the API may spell it either way)."""
    if not isinstance(value, str):
        return None
    return dashed(value) if len(value.replace("-", "")) == 32 else value


def _table(value: Any) -> dict[str, Any]:
    return value if isinstance(value, dict) else {}


def parse_event(body: Any) -> Event | None:
    """The event in a signed body, or None when it is not shaped like one (no id or type)."""
    if not isinstance(body, dict) or not isinstance(body.get("id"), str) or not isinstance(body.get("type"), str):
        return None
    entity = _table(body.get("entity"))
    data = _table(body.get("data"))
    parent = _table(data.get("parent"))
    authors = tuple(
        (str(a.get("id", "")), str(a.get("type", ""))) for a in body.get("authors") or [] if isinstance(a, dict)
    )
    return Event(
        id=body["id"],
        type=body["type"],
        entity_id=_dashed(entity.get("id")) or "",
        entity_type=str(entity.get("type", "")),
        parent_id=_dashed(parent.get("id")),
        parent_type=parent.get("type") if isinstance(parent.get("type"), str) else None,
        data_source_id=_dashed(parent.get("data_source_id")),
        authors=authors,
    )


def only_own_bot(event: Event, bot_id: str | None) -> bool:
    """Whether every author of the event is this integration's own bot (its own writes)."""
    own = _dashed(bot_id)
    return bool(event.authors) and own is not None and all(_dashed(i) == own for i, _kind in event.authors)


@dataclass(frozen=True)
class MappingSource:
    """Where a mapping reads: its database and data source (dashed ids)."""

    mapping: str
    database_id: str
    data_source_id: str


@dataclass(frozen=True)
class Routed:
    """What an event asks for: a sync of ``page_id`` for ``mappings``, a schema refresh of
    ``mappings``, or nothing (``why`` says why, for the debug log)."""

    kind: Literal["pages", "schema", "ignore"]
    mappings: tuple[str, ...] = ()
    page_id: str | None = None
    why: str = ""
    extra: dict[str, Any] = field(default_factory=dict)


def route_event(
    event: Event, sources: Iterable[MappingSource], *, linked: Mapping[str, Iterable[str]] | None = None
) -> Routed:
    """Route an event to the mappings it concerns: a row event by ``data.parent.data_source_id``
    (or a database id that resolves to one), plus every mapping that has an item for the page
    (``linked``: page id -> mappings; a row moved away still has one); a schema event by its
    data source."""
    sources = list(sources)
    if event.type in PAGE_EVENTS:
        if event.data_source_id:
            chosen = [s.mapping for s in sources if s.data_source_id == event.data_source_id]
        elif event.parent_type == "database" and event.parent_id:
            chosen = [s.mapping for s in sources if s.database_id == event.parent_id]
        else:
            chosen = []
        chosen += [m for m in (linked or {}).get(event.entity_id, ()) if m not in chosen]
        if not chosen:
            return Routed("ignore", why=f"{event.type} of a page no mapping reads")
        return Routed("pages", tuple(chosen), event.entity_id)
    if event.type in SCHEMA_EVENTS:
        chosen = [s.mapping for s in sources if s.data_source_id == event.entity_id]
        if not chosen:
            return Routed("ignore", why=f"{event.type} of a data source no mapping reads")
        return Routed("schema", tuple(chosen))
    return Routed("ignore", why=f"{event.type}: not an event serve acts on")
