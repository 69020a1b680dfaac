"""What the state records about items, as plain data: stored links, payload hashes, failures.

The planner decides from these alone, so it needs no state code; ``notion_sync.core.state``
reads and writes them.
"""

from __future__ import annotations

import hashlib
import json
import json.encoder
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from notion_sync.core.adapter import Link

__all__ = ["Failure", "StoredBody", "StoredLink", "WriteBackIntent", "payload_hash"]


_CANONICAL = json.JSONEncoder(sort_keys=True, separators=(",", ":"), ensure_ascii=False, default=str)
"""Built once: ``json.dumps`` with options builds an encoder per call. Its output must never
change, or every stored hash would differ and the next run would rewrite every item."""


_C_ENCODER: Any = getattr(json.encoder, "c_make_encoder", None)
_ITERENCODE: Callable[[Any, int], Any] | None = (
    _C_ENCODER(None, _CANONICAL.default, json.encoder.encode_basestring, None, ":", ",", True, False, True)
    if _C_ENCODER is not None
    else None
)
"""``_CANONICAL``'s own C encoder, made once: ``JSONEncoder.encode`` makes it anew on every call,
which was a third of hashing a payload. The same arguments (no circular check: a payload is a
tree), so the same text."""


def payload_hash(payload: dict[str, Any]) -> str:
    """A stable hash of what a connector writes: the same payload always gives the same hash."""
    text = "".join(_ITERENCODE(payload, 0)) if _ITERENCODE is not None else _CANONICAL.encode(payload)
    return hashlib.sha256(text.encode()).hexdigest()


@dataclass(frozen=True)
class Failure:
    """An item that failed: how often in a row, when last, and whether it is parked."""

    attempts: int
    last_at: datetime
    parked: bool
    error: str


@dataclass(frozen=True)
class StoredBody:
    """A page body as last read: the page's ``last_edited_time`` then, when it was read, and its
    blocks (``notion_sync.core.page_body.to_json``)."""

    last_edited: datetime
    read_at: datetime
    blocks: str


@dataclass(frozen=True)
class WriteBackIntent:
    """A Notion write about to be sent for one row: the ``properties`` of its PATCH, the target
    ``values`` (in the payload's form) that it carries back, and the change as history shows it."""

    page_id: str
    properties: dict[str, Any]
    values: dict[str, Any]
    detail: str = ""


class StoredLink:
    """A link as stored: the hash of its payload and its archived flag at once, the ``Link``
    (whose payload JSON is decoded) only when asked for, as planning rarely needs it.
    ``load(page_id)`` reads it."""

    __slots__ = ("page_id", "hash", "archived", "mark", "_load", "_link")

    def __init__(
        self, page_id: str, hash: str | None, archived: bool, load: Callable[[str], Link], mark: str | None = None
    ) -> None:
        self.page_id = page_id
        self.hash = hash
        self.archived = archived
        self.mark = mark
        """The render mark under which the item was last found current (``planner.render_mark``)."""
        self._load = load
        self._link: Link | None = None

    @classmethod
    def of(cls, link: Link) -> StoredLink:
        """The stored form of a link, as ``StateStore.save_link`` would record it."""
        digest = payload_hash(link.payload) if link.payload is not None else None
        return cls(link.page_id, digest, link.archived, lambda _page_id: link)

    @property
    def link(self) -> Link:
        """The link itself, decoded on first use."""
        if self._link is None:
            self._link = self._load(self.page_id)
        return self._link
