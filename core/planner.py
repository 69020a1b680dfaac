"""Planning: every decision of a run, as pure functions of plain data.

No I/O, no clock, no state code: the engine reads the rows, the links, the failures and the
intents, passes them (and ``now``) in, and carries out what comes back. Per page of rows:

* ``plan_rows``: desired items against recorded links give create / update / delete /
  unchanged / skip / fail, and a linked row with a pending intent becomes a restore;
* ``gate_retries``: items that failed wait for their retry (deferred) or are parked;
* ``to_recover`` and ``plan_writes``: which creates to look for first, a recovered create
  becoming an update, ``keep`` leaving an item alone, and the on_delete mode of each removal;
* ``intents_for`` and ``clears_intent``: what to record before a write and forget after it.

Write-back (two-way for chosen fields), per mapping before the read: ``changed_in_target``
picks the items whose write-back fields differ from what was last written, and
``plan_write_back`` compares each such field three ways (the target now, the payload last
written, the row's payload now) and decides: write it back to Notion, adopt it (Notion already
agrees), or a conflict that ``conflict`` settles.

Per mapping: ``full_scan_due`` and ``next_watermark``; after a full scan ``plan_departures``,
``plan_sweep`` (after a state loss, or when asked) and the ``mass_delete_refusal`` guard; at
the end ``unfinished_creates`` and ``plan_unrecorded_removals`` for creates left in flight for
rows that now want no item.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable, Collection, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any, Literal

from notion_sync.core.adapter import (
    CreateOperation,
    DeleteOperation,
    DesiredItem,
    ExternalRef,
    Link,
    Operation,
    OperationResult,
    UpdateOperation,
)
from notion_sync.core.errors import RetryableError
from notion_sync.core.frozen import made
from notion_sync.core.links import Failure, StoredBody, StoredLink, payload_hash

__all__ = [
    "Action",
    "bodies_to_read",
    "Gated",
    "Rendered",
    "Unfinished",
    "ReadWant",
    "SharedReadPlan",
    "WritePlan",
    "Conflict",
    "WriteBack",
    "changed_fields",
    "changed_in_target",
    "plan_write_back",
    "clears_intent",
    "evaluable_here",
    "filter_depth",
    "full_scan_due",
    "gate_retries",
    "intents_for",
    "Marks",
    "marks_to_record",
    "mass_delete_refusal",
    "memo_blockers",
    "memo_key",
    "next_watermark",
    "plan_departures",
    "plan_rows",
    "plan_sweep",
    "plan_shared_reads",
    "plan_unrecorded_removals",
    "plan_writes",
    "removal_mode",
    "render_mark",
    "retry_delay",
    "scan_interval",
    "settled_mark",
    "split_targeted",
    "to_recover",
    "unfinished_creates",
    "unrendered",
]

ActionKind = Literal["create", "update", "delete", "unchanged", "skip", "fail"]
WRITES = ("create", "update", "delete")
QUIET = ("unchanged", "skip")
"""Kinds that write nothing, so a recorded failure does not hold them back."""


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


# -- rows against links -----------------------------------------------------------------
def plan_rows(
    rendered: Iterable[Rendered], links: Mapping[str, StoredLink], pending: Collection[str] = frozenset()
) -> list[Action]:
    """Plan the rows a query returned, given the links recorded for them and the page ids
    with a pending intent (a write that was sent and never recorded)."""
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
        elif r.page_id in pending:
            actions.append(_unsure_removal(r.item, r.title, stored))
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
            # Most rows of most runs: made without the dataclass's __init__ (core/frozen.py).
            actions.append(
                made(
                    Action,
                    kind="unchanged",
                    page_id=r.page_id,
                    title=r.title,
                    item=r.item,
                    link=None,
                    reason="",
                    changed=(),
                    left=False,
                )
            )
    return actions


def _unsure_removal(item: DesiredItem, title: str, stored: StoredLink) -> Action:
    """A linked row with a pending intent: a removal of its item was sent and never recorded, so
    the item may be live, archived or gone. Write it again as a restore: every connector's
    ``update`` restores an archived item and re-creates a deleted one."""
    link = stored.link
    return Action(
        "update",
        item.page_id,
        title,
        item=item,
        link=Link(link.page_id, link.ref, link.payload, archived=True),
        reason="restore after an unfinished removal",
        changed=changed_fields(link.payload, item.payload)
        if stored.archived or stored.hash != payload_hash(item.payload)
        else (),
    )


def plan_departures(links: Iterable[StoredLink], seen: Collection[str]) -> list[Action]:
    """After a full scan: every live link whose row was not seen has left (trashed, deleted, filtered out)."""
    return [
        Action("delete", s.page_id, link=s.link, reason="row left the database or the filter", left=True)
        for s in links
        if s.page_id not in seen and not s.archived
    ]


def plan_sweep(marked: Mapping[str, ExternalRef], seen: Collection[str], linked: Collection[str]) -> list[Action]:
    """After a full scan: every marked item (``list_marked``) whose row was not seen (trashed,
    deleted, filtered out) and that no link remembers (``plan_departures`` has those) has left:
    the items of rows that left while the state file was missing."""
    return [
        Action(
            "delete",
            page_id,
            link=Link(page_id, ref, None),
            reason="the sweep found an item whose row left the database or the filter",
            left=True,
        )
        for page_id, ref in sorted(marked.items())
        if page_id not in seen and page_id not in linked
    ]


# -- the render memo --------------------------------------------------------------------
MEMO_TYPES = frozenset(
    {
        "title",
        "rich_text",
        "number",
        "select",
        "multi_select",
        "status",
        "date",
        "checkbox",
        "url",
        "email",
        "phone_number",
        "created_time",
        "last_edited_time",
        "unique_id",
    }
)
"""Property types whose value in a page changes only when the page is edited (or, for option
names, when the schema changes, which changes the memo's key). Left out: formulas and rollups
(computed), people, relation, created_by and last_edited_by (names and titles of other objects),
files (Notion-hosted URLs expire) and any type not listed."""

MARK_SETTLE = timedelta(minutes=2)
"""How long after a row's ``last_edited_time`` a read must start for its render mark to be
recorded. Notion rounds that time down to the minute, so a page read in the minute of its last
edit may be edited again under the same time; the second minute covers clock skew."""


def memo_blockers(used: Iterable[str], types: Mapping[str, str]) -> list[str]:
    """The used properties (by name) whose type the render memo cannot trust, as ``name (type)``:
    with any, every row the mapping reads is rendered."""
    return [f"{name} ({types.get(name, 'unknown')})" for name in used if types.get(name) not in MEMO_TYPES]


def memo_key(config_hash: str, schema: Mapping[str, Any], connector: str, inputs: str, version: str) -> str:
    """What a mapping's rendering depends on besides the row: its settings, the data source's
    schema, the connector, what the connector's ``render_inputs`` names, and notion-sync's version.
    A change to any of them changes the key, so every row is rendered again."""
    text = json.dumps([config_hash, schema, connector, inputs, version], sort_keys=True, default=str)
    return hashlib.sha256(text.encode()).hexdigest()[:16]


def render_mark(key: str, stamp: str) -> str:
    """The mark a link carries when its item is what the row version whose ``last_edited_time``
    reads ``stamp`` (as the API gives it) renders to under ``key``."""
    return key + "@" + stamp


def settled_mark(key: str | None, stamp: str, last_edited: datetime, read_at: datetime) -> str | None:
    """The mark to record for a row read from ``read_at`` on, or None when it must not be trusted
    (no memo, or the read began within ``MARK_SETTLE`` of the row's last edit)."""
    if key is None or last_edited + MARK_SETTLE > read_at:
        return None
    return render_mark(key, stamp)


def unrendered(
    stamps: Mapping[str, str], links: Mapping[str, StoredLink], key: str | None, pending: Collection[str]
) -> set[str]:
    """The rows (page id -> ``last_edited_time`` as the API gives it) that need no rendering: their
    link is live, has no unfinished write, and carries the mark of this very row version."""
    if key is None:
        return set()
    found = set()
    for page_id, stamp in stamps.items():
        stored = links.get(page_id)
        if (
            stored is not None
            and stored.mark is not None
            and stored.mark == render_mark(key, stamp)
            and not stored.archived
            and page_id not in pending
        ):
            found.add(page_id)
    return found


@dataclass(frozen=True)
class Marks:
    """The render marks a page of planned rows leaves (page id -> mark): ``now`` for rendered rows
    found unchanged whose link lacks it, ``written`` to record with each create or update."""

    now: dict[str, str] = field(default_factory=dict)
    written: dict[str, str] = field(default_factory=dict)


def marks_to_record(
    actions: Iterable[Action],
    stamps: Mapping[str, str],
    edited: Mapping[str, datetime],
    links: Mapping[str, StoredLink],
    key: str | None,
    read_at: datetime,
) -> Marks:
    """The render marks to record after planning: only settled ones (``settled_mark``), and for
    an unchanged row only when its link does not carry the mark yet."""
    marks = Marks()
    if key is None:
        return marks
    for a in actions:
        if a.item is None or a.kind not in ("unchanged", "create", "update"):
            continue
        mark = settled_mark(key, stamps[a.page_id], edited[a.page_id], read_at)
        if mark is None:
            continue
        if a.kind != "unchanged":
            marks.written[a.page_id] = mark
        elif (stored := links.get(a.page_id)) is not None and stored.mark != mark:
            marks.now[a.page_id] = mark
    return marks


# -- page bodies ------------------------------------------------------------------------
def bodies_to_read(edited: Mapping[str, datetime], stored: Mapping[str, StoredBody]) -> list[str]:
    """The pages (of ``edited``: page id -> ``last_edited_time``) whose body must be read: none
    stored, or the page was edited since it was read. ``last_edited_time`` is rounded down to the
    minute, so an edit in the minute of the read counts as later (it may not have been seen)."""
    need = []
    for page_id, at in edited.items():
        body = stored.get(page_id)
        if body is None or at != body.last_edited or at >= _minute(body.read_at):
            need.append(page_id)
    return need


# -- retries ----------------------------------------------------------------------------
def retry_delay(attempts: int) -> timedelta:
    """How long a failed item waits before the next try: 1, 2, 4... minutes, at most an hour."""
    return timedelta(minutes=min(2 ** max(attempts - 1, 0), 60))


def attempted(actions: Iterable[Action]) -> list[str]:
    """The page ids whose recorded failures matter to ``gate_retries``."""
    return [a.page_id for a in actions if a.kind not in QUIET]


@dataclass(frozen=True)
class Gated:
    """Actions split by their earlier failures: to do now, waiting for their retry, or parked."""

    ready: list[Action]
    deferred: list[Action] = field(default_factory=list)
    parked: list[Action] = field(default_factory=list)


def gate_retries(
    actions: Sequence[Action], failures: Mapping[str, Failure], edited: Mapping[str, datetime], now: datetime
) -> Gated:
    """Hold back the actions of items that failed before, unless their row was edited since:
    a parked item waits for ``notion-sync retry``, another one for its ``retry_delay``."""
    ready: list[Action] = []
    deferred: list[Action] = []
    parked: list[Action] = []
    for a in actions:
        f = failures.get(a.page_id)
        # last_edited_time is rounded down to the minute: an edit in the failure's minute counts as newer.
        if f is None or a.kind in QUIET or (a.page_id in edited and edited[a.page_id] >= _minute(f.last_at)):
            ready.append(a)
        elif f.parked:
            parked.append(a)
        elif now < f.last_at + retry_delay(f.attempts):
            deferred.append(a)
        else:
            ready.append(a)
    return Gated(ready, deferred, parked)


def _minute(at: datetime) -> datetime:
    return at.replace(second=0, microsecond=0)


# -- writes -----------------------------------------------------------------------------
def to_recover(actions: Iterable[Action], *, everything: bool, pending: Collection[str]) -> list[DesiredItem]:
    """The creates whose item may exist already: all of them when the mapping had no link at
    the start of the run (a first run, a lost state file), else those with a pending intent."""
    return [
        a.item for a in actions if a.kind == "create" and a.item is not None and (everything or a.page_id in pending)
    ]


def removal_mode(action: Action, on_delete: str, modes: Sequence[str]) -> str:
    """A row that left follows on_delete; a row that is now skipped (lost its date, say) has its
    item removed even under "keep", since keeping it would leave a stale item."""
    if action.left or on_delete != "keep":
        return on_delete
    return next((m for m in ("delete", "archive") if m in modes), on_delete)


@dataclass(frozen=True)
class WritePlan:
    """The operations to send, the removals that ``keep`` leaves alone (recorded as kept), and
    the recovered items that are already right (recorded as adopted, with no write)."""

    operations: list[Operation]
    kept: list[Action] = field(default_factory=list)
    adopted: list[Link] = field(default_factory=list)


def plan_writes(
    actions: Iterable[Action],
    recovered: Mapping[str, ExternalRef],
    on_delete: str,
    modes: Sequence[str],
    comparable: Callable[[dict[str, Any]], dict[str, Any]] = lambda payload: payload,
) -> WritePlan:
    """Turn the write actions into operations: a create whose item was recovered updates it,
    unless what was found equals the payload (it is adopted as it is; ``comparable`` is the
    connector's form for that comparison), and a removal under ``keep`` is never sent (no
    connector is asked to keep an item)."""
    ops: list[Operation] = []
    kept: list[Action] = []
    adopted: list[Link] = []
    for a in actions:
        if a.kind == "create" and a.page_id in recovered:
            assert a.item is not None
            ref = recovered[a.page_id]
            if ref.found is not None and payload_hash(comparable(ref.found)) == payload_hash(
                comparable(a.item.payload)
            ):
                adopted.append(Link(a.page_id, ExternalRef(ref.id, ref.extra), a.item.payload))
            else:
                ops.append(UpdateOperation(a.page_id, a.item, Link(a.page_id, ExternalRef(ref.id, ref.extra), None)))
        elif a.kind == "create":
            assert a.item is not None
            ops.append(CreateOperation(a.page_id, a.item))
        elif a.kind == "update":
            assert a.item is not None and a.link is not None
            ops.append(UpdateOperation(a.page_id, a.item, a.link))
        elif a.kind == "delete":
            assert a.link is not None
            mode = removal_mode(a, on_delete, modes)
            if mode == "keep":
                kept.append(a)
            else:
                ops.append(DeleteOperation(a.page_id, a.link, mode))
    return WritePlan(ops, kept, adopted)


def intents_for(
    operations: Iterable[Operation], route: Callable[[dict[str, Any]], str | None] = lambda payload: None
) -> list[str]:
    """The page ids to record an intent for before sending: creates, and deletes too. A run that
    dies after the target removed an item but before the state says so would keep a live link
    to it, and a row coming back would then look unchanged and never get its item back.

    Moves too: an update whose ``route`` (the connector's ``route_of``: a routed calendar or
    channel) differs from the link's creates the new item before it removes the old one, and a
    run killed in between leaves the intent, so the next run writes it again as a restore, which
    finds the new item by its marker and removes the old one."""
    return [
        op.page_id
        for op in operations
        if op.kind in ("create", "delete")
        or (
            isinstance(op, UpdateOperation)
            and op.link.payload is not None
            and route(op.link.payload) != route(op.item.payload)
        )
    ]


def clears_intent(result: OperationResult) -> bool:
    """A create or delete that was plainly rejected wrote nothing: no need to look for it next run.
    (A success clears its intent as it is recorded.)"""
    return (
        result.error is not None
        and result.operation.kind in ("create", "delete")
        and not isinstance(result.error, RetryableError)
    )


# -- write-back -------------------------------------------------------------------------
def _part(payload: dict[str, Any], keys: Sequence[str]) -> dict[str, Any]:
    return {k: payload.get(k) for k in keys}


def changed_in_target(
    target: Mapping[str, dict[str, Any]],
    written: Mapping[str, dict[str, Any] | None],
    keys: Mapping[str, Sequence[str]],
    comparable: Callable[[dict[str, Any]], dict[str, Any]] = lambda payload: payload,
) -> list[str]:
    """The page ids whose item, as the target holds it (``target``: the write-back keys' values),
    differs from the payload last written (``written``) in a write-back field (``keys``: field
    -> payload keys). notion-sync's own writes never look like a change: they are what was
    written. A link whose payload is unknown (recovered) is left out."""
    changed = []
    for page_id, values in target.items():
        last = written.get(page_id)
        if last is None:
            continue
        if any(comparable(_part(values, k)) != comparable(_part(last, k)) for k in keys.values()):
            changed.append(page_id)
    return sorted(changed)


@dataclass(frozen=True)
class Conflict:
    """One field changed on both sides since the last sync, and who won it."""

    field: str
    notion: dict[str, Any]
    target: dict[str, Any]
    winner: Literal["notion", "target"]


@dataclass(frozen=True)
class WriteBack:
    """What to do for one row whose item changed in the target.

    ``write``: the fields to write to Notion (their target values in ``values``); ``adopt``: the
    fields Notion already agrees on (a killed run's write-back, or the same edit made on both
    sides): only recorded. ``conflicts``: fields changed on both sides, each with its winner; a
    field Notion wins is written to the target by the sync that follows. ``payload`` is what the
    link records once the writes are done: the last written payload with the target's values of
    the written and adopted fields."""

    page_id: str
    write: tuple[str, ...]
    adopt: tuple[str, ...]
    conflicts: tuple[Conflict, ...]
    values: dict[str, Any]
    payload: dict[str, Any]


def plan_write_back(
    page_id: str,
    *,
    target: dict[str, Any],
    written: dict[str, Any],
    notion: dict[str, Any],
    keys: Mapping[str, Sequence[str]],
    policy: str,
    notion_edited: datetime | None,
    target_modified: datetime | None,
    comparable: Callable[[dict[str, Any]], dict[str, Any]] = lambda payload: payload,
) -> WriteBack:
    """Decide each write-back field of one row from three values in the payload's form: the
    target's now (``target``), the last written (``written``), and the row's payload now
    (``notion``), compared through ``comparable`` so that the same instant in another offset is
    no change.

    Unchanged in the target: nothing. Changed in the target only: write it back. Notion already
    holds the target's value: adopt. Changed on both sides: a conflict, won by ``policy``:
    ``notion``, ``target``, or ``newest`` (the target wins only when its own timestamp is later
    than Notion's ``last_edited_time``, which Notion rounds down to the minute; a tie is Notion's)."""
    write: list[str] = []
    adopt: list[str] = []
    conflicts: list[Conflict] = []
    values: dict[str, Any] = {}
    for name, k in keys.items():
        t, w, n = (comparable(_part(p, k)) for p in (target, written, notion))
        if t == w:
            continue
        if t == n:
            adopt.append(name)
            values.update(_part(target, k))
            continue
        if n == w:
            write.append(name)
            values.update(_part(target, k))
            continue
        winner: Literal["notion", "target"] = "notion"
        if policy == "target":
            winner = "target"
        elif policy == "newest" and notion_edited is not None and target_modified is not None:
            # Notion's time is rounded down to the minute: the target wins only past that minute.
            winner = "target" if target_modified >= notion_edited + timedelta(minutes=1) else "notion"
        conflicts.append(Conflict(name, _part(notion, k), _part(target, k), winner))
        if winner == "target":
            write.append(name)
            values.update(_part(target, k))
    return WriteBack(page_id, tuple(write), tuple(adopt), tuple(conflicts), values, {**written, **values})


# -- per mapping ------------------------------------------------------------------------
def full_scan_due(
    *,
    forced: bool,
    watermark: datetime | None,
    last_full_scan: datetime | None,
    config_changed: bool,
    now: datetime,
    interval_seconds: float,
) -> bool:
    """Read every row (not only those edited since the watermark): when asked, on the first run,
    after a config change, or when ``full_scan_interval`` has passed."""
    return (
        forced
        or watermark is None
        or config_changed
        or last_full_scan is None
        or (now - last_full_scan).total_seconds() >= interval_seconds
    )


AUTO_FULL_SCAN_PAGES = 10
"""``full_scan_interval = "auto"`` scans in full on every run a data source whose last full scan
read at most this many query pages (of up to 100 rows each)."""
AUTO_FULL_SCAN_SECONDS = 3600.0
"""... and larger ones (or ones whose size is not known yet) hourly."""


def scan_interval(interval_seconds: float | None, last_full_scan_pages: int | None) -> float:
    """``full_scan_interval`` in seconds; ``None`` is ``"auto"``: 0 (every run) when the last full
    scan read at most ``AUTO_FULL_SCAN_PAGES`` query pages, else hourly."""
    if interval_seconds is not None:
        return interval_seconds
    if last_full_scan_pages is not None and last_full_scan_pages <= AUTO_FULL_SCAN_PAGES:
        return 0.0
    return AUTO_FULL_SCAN_SECONDS


def split_targeted(
    page_ids: Sequence[str], found: Mapping[str, Mapping[str, Any] | None], kept: Collection[str]
) -> tuple[list[str], list[str], list[str]]:
    """The pages a targeted sync was asked for (``serve``), read one by one (``found``: None when
    Notion answered 404) and filtered (``kept``: those in the mapping's filter): those to render
    and plan like any row, those that left (trashed, or out of the filter) and get ``on_delete``,
    and those Notion no longer shows (404: deleted for good, or unshared), left to the full scan."""
    live, left, unknown = [], [], []
    for page_id in page_ids:
        page = found.get(page_id)
        if page is None:
            unknown.append(page_id)
        elif page.get("in_trash") or page.get("archived") or page_id not in kept:
            left.append(page_id)
        else:
            live.append(page_id)
    return live, left, unknown


def next_watermark(started: datetime, oldest_failed: datetime | None) -> datetime:
    """The next run reads rows edited since this one started, held back to the oldest failed row
    so that it is read again."""
    return started if oldest_failed is None else min(oldest_failed, started)


def mass_delete_refusal(departing: int, live: int, *, max_fraction: float, allowed: bool, minimum: int) -> str | None:
    """Why this full scan's removals must not happen (None when they may): more than
    ``max_fraction`` of at least ``minimum`` live items would go, without ``--allow-mass-delete``."""
    if not departing or allowed or live < minimum or departing <= max_fraction * live:
        return None
    return (
        f"this run would remove {departing} of {live} items "
        f"(more than max_delete_fraction = {max_fraction:g}); nothing was removed. If the rows really "
        "left, run again with --allow-mass-delete"
    )


@dataclass(frozen=True)
class Unfinished:
    """A create left in flight (its intent is pending) for a row that now wants no item."""

    page_id: str
    title: str
    left: bool
    """The row left (trashed or filtered out), as opposed to being skipped now."""


def unfinished_creates(
    pending: Collection[str], skipped: Mapping[str, str], seen: Collection[str], *, full: bool
) -> list[Unfinished]:
    """A create left in flight by a killed run (or lost in a timeout) whose row now wants no item:
    now skipped (``skipped``: page id -> title), or, seen only by a full scan, trashed or
    filtered out. Nothing would ever recover its item, so it would outlive its row."""
    found = {pid: Unfinished(pid, title, False) for pid, title in skipped.items() if pid in pending}
    if full:
        found.update({pid: Unfinished(pid, "", True) for pid in pending if pid not in seen})
    return [found[pid] for pid in sorted(found)]


def unrecorded_lookups(mapping: str, unfinished: Iterable[Unfinished], linked: Collection[str]) -> list[DesiredItem]:
    """What to ask ``recover`` about: the unfinished creates that have no link."""
    return [DesiredItem(mapping, u.page_id, "", u.title, {}) for u in unfinished if u.page_id not in linked]


def plan_unrecorded_removals(
    unfinished: Iterable[Unfinished], linked: Collection[str], found: Mapping[str, ExternalRef]
) -> tuple[list[Action], list[str]]:
    """Remove the items unfinished creates turned out to have written, like any departing item;
    returns those removals and the page ids whose intent to forget (nothing was written)."""
    removals: list[Action] = []
    forget: list[str] = []
    for u in unfinished:
        if u.page_id in linked:
            continue
        ref = found.get(u.page_id)
        if ref is None:
            forget.append(u.page_id)
            continue
        removals.append(
            Action(
                "delete",
                u.page_id,
                u.title,
                link=Link(u.page_id, ref, None),
                reason="an unfinished create for a row that " + ("left" if u.left else "is now skipped"),
                left=u.left,
            )
        )
    return removals, forget


SERVER_ONLY_FILTER_KEYS = frozenset(
    {"rollup", "people", "relation", "past_week", "past_month", "past_year", "next_week", "next_month", "next_year"}
    | {"this_week"}
)
"""Filter conditions a shared read leaves to Notion: rollups and people/relation values (a page
shows at most 25 of their items), and dates relative to Notion's "now" and its time zone."""


def filter_depth(filter_: Any) -> int:
    """How deeply ``and``/``or`` are nested in a filter (a single condition is 0)."""
    if not isinstance(filter_, Mapping):
        return 0
    parts = [p for key in ("and", "or") for p in filter_.get(key, [])]
    if not any(key in filter_ for key in ("and", "or")):
        return 0
    return 1 + max((filter_depth(p) for p in parts), default=0)


def evaluable_here(filter_: Any) -> bool:
    """Whether a shared read can apply ``filter_`` itself, exactly as Notion would."""
    if isinstance(filter_, Mapping):
        return not (SERVER_ONLY_FILTER_KEYS & set(filter_)) and all(evaluable_here(v) for v in filter_.values())
    if isinstance(filter_, list):
        return all(evaluable_here(v) for v in filter_)
    return True


@dataclass(frozen=True)
class ReadWant:
    """What one mapping needs to read this run."""

    mapping: str
    data_source_id: str
    full: bool
    watermark: datetime | None
    filter: dict[str, Any] | None


@dataclass
class SharedReadPlan:
    """One read of a data source and the mappings that take its pages."""

    data_source_id: str
    mappings: list[str]
    full: bool
    since: datetime | None
    server_filter: dict[str, Any] | None
    client_filters: dict[str, dict[str, Any]] = field(default_factory=dict)
    """Per mapping, the filter it applies itself to the shared pages."""


MAX_FILTER_DEPTH = 2
"""Notion nests compound filters at most two levels deep. A filter at that depth cannot go to
Notion with the read's own conditions (``last_edited_time`` since the watermark, ``created_time``
past the 10,000-row cap) joined to it, so it is applied here."""


def plan_shared_reads(wants: Sequence[ReadWant]) -> list[SharedReadPlan]:
    """One read per data source, whatever the mappings' connectors.

    If any mapping on it needs a full scan, the read is full and every mapping on it takes a
    full scan (one full read costs ceil(N/100) requests, an extra incremental one would add at
    least one more); otherwise it reads since the oldest watermark and a mapping with a newer one
    plans a few more unchanged rows. Equal filters go to Notion; different ones go to Notion
    OR-ed together when that stays within Notion's nesting limit, and each mapping applies its own
    here (as it does a filter already at that limit). A mapping whose filter cannot be applied
    here (``evaluable_here``) reads alone."""
    plans: list[SharedReadPlan] = []
    groups: dict[str, list[ReadWant]] = {}
    for w in wants:
        if w.filter is not None and not evaluable_here(w.filter):
            plans.append(
                SharedReadPlan(w.data_source_id, [w.mapping], w.full, None if w.full else w.watermark, w.filter)
            )
        else:
            groups.setdefault(w.data_source_id, []).append(w)
    for ds, members in groups.items():
        full = any(w.full for w in members)
        marks = [w.watermark for w in members if w.watermark is not None]
        since = None if full or not marks else min(marks)
        filters = [w.filter for w in members]
        if all(f == filters[0] for f in filters) and filter_depth(filters[0]) < MAX_FILTER_DEPTH:
            plans.append(SharedReadPlan(ds, [w.mapping for w in members], full, since, filters[0]))
            continue
        server: dict[str, Any] | None = None
        if all(f is not None and filter_depth(f) == 0 for f in filters):
            unique = [f for i, f in enumerate(filters) if f not in filters[:i]]
            server = {"or": unique}
        client = {w.mapping: w.filter for w in members if w.filter is not None}
        plans.append(SharedReadPlan(ds, [w.mapping for w in members], full, since, server, client))
    return plans
