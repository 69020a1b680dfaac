"""A row rendered as the card it should be: pure functions, no I/O.

The payload holds exactly what a write sends, by name (list and label *names*; the
connector resolves them to ids it read in ``prepare``)::

    {"name": "Fix login", "desc": "Notes...", "list": "Doing",
     "due": "2026-11-25T22:59:00.000Z", "start": None, "due_complete": False,
     "labels": ["Bug"], "label_colors": {"Bug": "red"}}

The marker that ties the card to its row is added on writing (``markers.card_desc``).
"""

from __future__ import annotations

from datetime import UTC, date, datetime, time
from typing import Any
from zoneinfo import ZoneInfo

from notion_sync.sdk import DateValue, ItemError, Row, render_template, todo_items

from . import markdown
from .settings import TrelloMapping

__all__ = [
    "MAX_TEXT",
    "NOTION_TO_TRELLO_COLOR",
    "format_trello_time",
    "render_card",
]

MAX_TEXT = 16384
"""Trello's limit on a card's name and description, in characters."""

NOTION_TO_TRELLO_COLOR: dict[str, str | None] = {
    "red": "red",
    "orange": "orange",
    "yellow": "yellow",
    "green": "green",
    "blue": "blue",
    "purple": "purple",
    "pink": "pink",
    # Trello's "black" label shows as dark grey: the nearest to Notion's grey.
    "gray": "black",
    "brown": None,
    "default": None,
}
"""Notion option colour -> Trello label colour (None: a label without colour)."""

BODY_ROOM = MAX_TEXT - 512
"""How long a description with a page body may get: the marker line that follows it needs room."""

_END_OF_DAY = time(23, 59)


def format_trello_time(moment: datetime) -> str:
    """Trello's time format: UTC with milliseconds and a Z."""
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.") + f"{moment.microsecond // 1000:03d}Z"


def _moment(value: date | datetime, zone: ZoneInfo, *, end_of_day: bool) -> datetime:
    if isinstance(value, datetime):
        return value
    return datetime.combine(value, _END_OF_DAY if end_of_day else time(0, 0), tzinfo=zone)


def render_dates(value: DateValue | None, time_zone: str) -> tuple[str | None, str | None]:
    """(start, due) of a card from a Notion date: a range sets both, a single date the due.

    A date without a time means the end of that day (a start: its beginning) in ``time_zone``.
    """
    if value is None:
        return None, None
    zone = ZoneInfo(time_zone)
    if value.end is None:
        return None, format_trello_time(_moment(value.start, zone, end_of_day=True))
    start = _moment(value.start, zone, end_of_day=False)
    due = _moment(value.end, zone, end_of_day=True)
    if due < start:
        raise ItemError(f"the date range ends ({value.end}) before it starts ({value.start})")
    return format_trello_time(start), format_trello_time(due)


def _list_for(row: Row, settings: TrelloMapping) -> str:
    if settings.list_from:
        prop = row.get(settings.list_from)
        option = prop.value if prop is not None else None
        if isinstance(option, str) and option in settings.lists:
            return settings.lists[option]
        if settings.default_list:
            return settings.default_list
        raise ItemError(f"{settings.list_from} is {option!r}, which has no list: add it to lists or set default_list")
    assert settings.default_list is not None  # the settings model guarantees one
    return settings.default_list


def complete_options(schema: dict[str, Any], name: str | None) -> frozenset[str]:
    """The options of a status property that sit in Notion's "Complete" group."""
    prop = schema.get(name or "") or {}
    status = prop.get("status") or {}
    ids = {
        i
        for g in status.get("groups") or []
        if str(g.get("name", "")).lower() in ("complete", "completed")
        for i in g.get("option_ids") or []
    }
    return frozenset(o.get("name", "") for o in status.get("options") or [] if o.get("id") in ids)


def _due_complete(row: Row, settings: TrelloMapping, complete: frozenset[str]) -> bool:
    name = settings.fields.due_complete
    if not name:
        return False
    prop = row.get(name)
    if prop is None or prop.value is None:
        return False
    if isinstance(prop.value, bool):
        return prop.value
    return str(prop.value) in settings.complete_statuses or str(prop.value) in complete


def _labels(row: Row, settings: TrelloMapping) -> tuple[list[str], dict[str, str | None]]:
    name = settings.fields.labels
    if not name:
        return [], {}
    prop = row.get(name)
    if prop is None:
        return [], {}
    raw = prop.raw.get(prop.type)
    options = raw if isinstance(raw, list) else [raw] if isinstance(raw, dict) else []
    colors: dict[str, str | None] = {}
    for option in options:
        label = str(option.get("name", "")).strip()
        if label:
            colors[label] = NOTION_TO_TRELLO_COLOR.get(str(option.get("color", "default")))
    return sorted(colors), colors


def _date_value(row: Row, name: str | None) -> DateValue | None:
    if not name:
        return None
    prop = row.get(name)
    value = prop.value if prop is not None else None
    if isinstance(value, list):  # a rollup: its first date
        value = next((v for v in value if isinstance(v, DateValue)), None)
    return value if isinstance(value, DateValue) else None


def render_card(row: Row, settings: TrelloMapping, schema: dict[str, Any] | None = None) -> dict[str, Any]:
    """The payload of the card for ``row``; ``schema`` (the data source's properties) tells which
    status options are in Notion's Complete group."""
    name = render_template(settings.fields.name, row).strip() or "(untitled)"
    if len(name) > MAX_TEXT:
        name = name[: MAX_TEXT - 1] + "…"
    desc = (
        render_template(settings.fields.desc, row, markup=markdown.MARKUP, limit=BODY_ROOM).strip()
        if settings.fields.desc
        else ""
    )
    start, due = render_dates(_date_value(row, settings.fields.due), settings.time_zone)
    labels, colors = _labels(row, settings)
    payload: dict[str, Any] = {
        "name": name,
        "desc": desc,
        "list": _list_for(row, settings),
        "due": due,
        "start": start,
        "due_complete": _due_complete(row, settings, complete_options(schema or {}, settings.fields.due_complete)),
        "labels": labels,
    }
    if settings.create_labels and labels:
        payload["label_colors"] = colors
    if settings.checklist:
        payload["checklist"] = [[text, ticked] for text, ticked in todo_items(row.body or ())]
    return payload
