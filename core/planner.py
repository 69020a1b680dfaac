"""Planning: desired items against recorded links gives create / update / delete / unchanged.

Pure functions: no I/O, no clock. The engine feeds them one page of rows at a time,
and the links recorded for those rows, then (after a full scan) the links of rows
that were not seen.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any, Literal

from notion_sync.core.adapter import DesiredItem, Link
from notion_sync.core.state import StoredLink, payload_hash

__all__ = ["Action", "Rendered", "changed_fields", "plan_rows", "plan_departures"]

ActionKind = Literal["create", "update", "delete", "unchanged", "skip", "fail"]


@dataclass(frozen=True)
class Rendered:
    """One row after the connector rendered it: an item, or why it was skipped or failed."""

    page_id: str
    title: str
    item: DesiredItem | None = None
    skip_reason: str | None = None
    error: str | None = None
    last_edited: Any = None


@dataclass(frozen=True)
class Action:
    """One step of a plan."""

    kind: ActionKind
    page_id: str
    title: str = ""
    item: DesiredItem | None = None
    link: Link | None = None
    reason: str = ""
    changed: tuple[str, ...] = field(default_factory=tuple)
    left: bool = False
    """For a delete: the row left (trashed, deleted, filtered out), as opposed to being skipped."""


def changed_fields(old: dict[str, Any] | None, new: dict[str, Any]) -> tuple[str, ...]:
    """The top-level payload keys whose value differs (all keys when the old payload is unknown)."""
    if old is None:
        return tuple(sorted(new))
    keys = set(old) | set(new)
    return tuple(sorted(k for k in keys if old.get(k) != new.get(k)))


def plan_rows(rendered: Iterable[Rendered], links: Mapping[str, StoredLink]) -> list[Action]:
    """Plan the rows a query returned, given the links recorded for them."""
    actions: list[Action] = []
    for r in rendered:
        stored = links.get(r.page_id)
        if r.error is not None:
            actions.append(Action("fail", r.page_id, r.title, reason=r.error))
        elif r.item is None:
            if stored is not None and not stored.archived:
                actions.append(
                    Action("delete", r.page_id, r.title, link=stored.link, reason=r.skip_reason or "skipped")
                )
            else:
                actions.append(Action("skip", r.page_id, r.title, reason=r.skip_reason or ""))
        elif stored is None:
            actions.append(
                Action("create", r.page_id, r.title, item=r.item, changed=changed_fields(None, r.item.payload))
            )
        elif stored.archived or stored.hash != payload_hash(r.item.payload):
            reason = "restore" if stored.archived else ""
            actions.append(
                Action(
                    "update",
                    r.page_id,
                    r.title,
                    item=r.item,
                    link=stored.link,
                    reason=reason,
                    changed=changed_fields(stored.link.payload, r.item.payload),
                )
            )
        else:
            actions.append(Action("unchanged", r.page_id, r.title, item=r.item))
    return actions


def plan_departures(links: Iterable[StoredLink], seen: set[str]) -> list[Action]:
    """After a full scan: every live link whose row was not seen has left (trashed, deleted, filtered out)."""
    return [
        Action("delete", s.page_id, link=s.link, reason="row left the database or the filter", left=True)
        for s in links
        if s.page_id not in seen and not s.archived
    ]
