"""Trello → Notion for the fields a mapping lists in ``write_back``: pure functions.

* ``list``: the card's list goes to the ``list_from`` option that ``lists`` maps to it (the
  inverse of ``lists``, so each list must come from exactly one option);
* ``due``: the card's start and due go to ``fields.due``, as a range when the card has a start;
  a date-only row stays date-only while the due is at the end of a day in ``time_zone``;
* ``due_complete``: the checkbox, or the status/select option chosen for completion;
* ``name``: the title or text property the name template is exactly one of.
"""

from __future__ import annotations

from datetime import datetime, time
from typing import Any
from zoneinfo import ZoneInfo

from notion_sync.sdk import (
    WRITABLE_DATE,
    DateValue,
    ItemError,
    Row,
    WriteBackProblem,
    notion_date,
    notion_text,
    single_property,
    text_write_back_problems,
    writable_problem,
)

from .render import complete_options
from .settings import TrelloMapping

__all__ = ["FIELDS", "KEYS", "notion_values", "problems"]

FIELDS = ("list", "due", "name", "due_complete")
KEYS: dict[str, tuple[str, ...]] = {"list": ("list",), "due": ("due", "start"), "name": ("name",)}
"""Payload keys per field (``due_complete`` is its own key)."""


def _inverse(settings: TrelloMapping) -> dict[str, list[str]]:
    options: dict[str, list[str]] = {}
    for option, list_name in settings.lists.items():
        options.setdefault(list_name, []).append(option)
    return options


def problems(
    settings: TrelloMapping, fields: list[str] | tuple[str, ...], schema: dict[str, Any] | None
) -> list[WriteBackProblem]:
    """Why these fields cannot flow back for this mapping (config load, then with the schema)."""
    found: list[WriteBackProblem] = []
    f = settings.fields
    if "list" in fields:
        if not settings.list_from:
            found.append(WriteBackProblem("list_from", "write_back 'list' needs list_from and lists"))
        else:
            for list_name, options in _inverse(settings).items():
                if len(options) > 1:
                    found.append(
                        WriteBackProblem(
                            "lists",
                            f"write_back 'list': list {list_name!r} comes from {', '.join(map(repr, options))}, so a "
                            "card moved there names no single option; map each list from one option",
                        )
                    )
            if settings.default_list and settings.default_list not in settings.lists.values():
                found.append(
                    WriteBackProblem(
                        "default_list",
                        f"write_back 'list': list {settings.default_list!r} has no entry in lists, so a card moved "
                        f"there has no {settings.list_from} option to go back to; add one to lists",
                    )
                )
            problem = writable_problem("list_from", settings.list_from, schema, ("status", "select"))
            found += [problem] if problem else []
    if "due" in fields:
        if not f.due:
            found.append(WriteBackProblem("fields.due", "write_back 'due' needs fields.due: the date property"))
        else:
            problem = writable_problem("fields.due", f.due, schema, WRITABLE_DATE)
            found += [problem] if problem else []
    if "due_complete" in fields:
        if not f.due_complete:
            found.append(WriteBackProblem("fields.due_complete", "write_back 'due_complete' needs fields.due_complete"))
        else:
            problem = writable_problem("fields.due_complete", f.due_complete, schema, ("checkbox", "status", "select"))
            found += [problem] if problem else []
    if "name" in fields:
        found += text_write_back_problems("name", "fields.name", f.name, schema)
    return found


def _due_value(start: str | None, due: str | None, like: DateValue | None, zone: ZoneInfo) -> dict[str, Any]:
    """The Notion date for a card's start and due: a date-only row stays date-only when the due is
    at the end of a day (and the start at the beginning of one) in the mapping's zone."""
    if due is None:
        return {"date": None}
    end = datetime.fromisoformat(due.replace("Z", "+00:00")).astimezone(zone)
    begin = datetime.fromisoformat(start.replace("Z", "+00:00")).astimezone(zone) if start else None
    day_only = (
        (like is None or like.all_day) and end.time() == time(23, 59) and (begin is None or begin.time() == time(0, 0))
    )
    if day_only:
        return notion_date(begin.date() if begin else end.date(), end.date() if begin else None, like, zone)
    return notion_date(begin or end, end if begin else None, like, zone)


def _completion_option(settings: TrelloMapping, schema: dict[str, Any], done: bool, current: str | None) -> str:
    prop = schema.get(settings.fields.due_complete or "") or {}
    kind = str(prop.get("type", ""))
    names = [str(o.get("name", "")) for o in (prop.get(kind) or {}).get("options") or []]
    complete = set(settings.complete_statuses) | complete_options(schema, settings.fields.due_complete)
    if done:
        if current in complete:
            return current or ""
        for name in [*settings.complete_statuses, *names]:
            if name in names and name in complete:
                return name
        raise ItemError(f"{settings.fields.due_complete} has no option that means complete ({', '.join(names)})")
    if current is not None and current not in complete:
        return current
    groups = (prop.get("status") or {}).get("groups") or []
    to_do = [g for g in groups if str(g.get("name", "")).lower() in ("to-do", "to do", "todo")]
    ids = {i for g in to_do for i in g.get("option_ids") or []}
    by_id = [str(o.get("name", "")) for o in (prop.get(kind) or {}).get("options") or [] if o.get("id") in ids]
    for name in [*by_id, *names]:
        if name not in complete:
            return name
    raise ItemError(f"{settings.fields.due_complete} has no option that means not complete")


def notion_values(
    settings: TrelloMapping, schema: dict[str, Any], field: str, values: dict[str, Any], row: Row
) -> dict[str, Any]:
    """The Notion properties that make ``row`` render the card's ``values`` for ``field``."""
    f = settings.fields
    if field == "list":
        assert settings.list_from
        options = _inverse(settings).get(str(values["list"]))
        if not options:
            raise ItemError(
                f"the card is in list {values['list']!r}, which no {settings.list_from} option maps to in lists; "
                "add it to lists, or move the card back"
            )
        kind = str((schema.get(settings.list_from) or {}).get("type", "status"))
        return {settings.list_from: {kind: {"name": options[0]}}}
    if field == "due":
        assert f.due
        prop = row.get(f.due)
        like = prop.value if prop is not None and isinstance(prop.value, DateValue) else None
        return {f.due: _due_value(values.get("start"), values.get("due"), like, ZoneInfo(settings.time_zone))}
    if field == "due_complete":
        assert f.due_complete
        kind = str((schema.get(f.due_complete) or {}).get("type", "checkbox"))
        done = bool(values["due_complete"])
        if kind == "checkbox":
            return {f.due_complete: {"checkbox": done}}
        prop = row.get(f.due_complete)
        current = prop.value if prop is not None and isinstance(prop.value, str) else None
        return {f.due_complete: {kind: {"name": _completion_option(settings, schema, done, current)}}}
    if field == "name":
        name = single_property(f.name)
        assert name
        kind = str((schema.get(name) or {}).get("type", "title"))
        return {name: notion_text(kind, str(values["name"]))}
    raise ItemError(f"Trello cannot write back {field!r}")
