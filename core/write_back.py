"""Helpers for connectors' write-back: turning a target's value into Notion property values.

Pure functions, exported through ``notion_sync.sdk``, shared by every connector that writes
back: the text of a template that is exactly one property, the Notion form of a date that keeps
the representation the row had (a date stays a date, a date-time keeps its offset), and the
checks that a property can be written at all.
"""

from __future__ import annotations

from datetime import date, datetime, tzinfo
from typing import Any

from notion_sync.core.adapter import WriteBackProblem
from notion_sync.core.rows import DateValue
from notion_sync.core.templates import PAGE_FIELDS, compile_template

__all__ = [
    "WRITABLE_DATE",
    "notion_date",
    "notion_text",
    "single_property",
    "text_write_back_problems",
    "writable_problem",
]

WRITABLE_DATE = ("date",)
"""Property types a date write-back can write: a formula, rollup or created time cannot be."""


def single_property(template: str) -> str | None:
    """The property a template is exactly one placeholder of (``"{Name}"`` → ``Name``), else None."""
    parts = compile_template(template).parts
    if len(parts) != 2 or parts[0][0] or parts[0][2] or parts[1] != ("", None, False):
        return None
    name = parts[0][1]
    return name if name is not None and name not in PAGE_FIELDS else None


def writable_problem(
    key: str, prop: str, schema: dict[str, Any] | None, types: tuple[str, ...]
) -> WriteBackProblem | None:
    """Why property ``prop`` (named by mapping key ``key``) cannot take a write-back (None: it can).
    Without a schema (at config load) nothing is known of its type yet."""
    if schema is None or prop not in schema:
        return None
    kind = str(schema[prop].get("type", ""))
    if kind in types:
        return None
    return WriteBackProblem(
        key,
        f"{prop!r} is a {kind} property, which Notion computes and nobody can write; write-back needs "
        f"a {' or '.join(types)} property there (or take this field out of write_back)",
    )


def text_write_back_problems(
    field: str, key: str, template: str, schema: dict[str, Any] | None
) -> list[WriteBackProblem]:
    """``name``/``summary`` write-back needs the template to be exactly one ``{Property}`` of a
    title or text type: only then does the target's text say what the property holds."""
    prop = single_property(template)
    if prop is None:
        return [
            WriteBackProblem(
                key,
                f'write_back {field!r} needs {key} to be exactly one property, like "{{Name}}" (it is '
                f"{template!r}): a text made of several parts cannot be split back into them",
            )
        ]
    problem = writable_problem(key, prop, schema, ("title", "rich_text"))
    return [problem] if problem else []


def notion_text(kind: str, text: str) -> dict[str, Any]:
    """A title or text property's value for ``PATCH /v1/pages``."""
    return {kind: [{"type": "text", "text": {"content": text}}]}


def _in(moment: datetime, like: date | datetime | None, zone: tzinfo, keep_offset: bool) -> str:
    """``moment`` as Notion takes it: in the offset of the value it replaces (``keep_offset``),
    else in its own offset, else in ``zone``."""
    if keep_offset and isinstance(like, datetime) and like.tzinfo is not None:
        moment = moment.astimezone(like.tzinfo)
    elif keep_offset or moment.tzinfo is None:
        moment = moment.astimezone(zone)
    return moment.isoformat(timespec="milliseconds")


def notion_date(
    start: date | datetime | None,
    end: date | datetime | None,
    like: DateValue | None,
    zone: tzinfo,
    *,
    keep_offset: bool = True,
) -> dict[str, Any]:
    """A date property's value for ``PATCH /v1/pages``: ``start`` (and ``end`` for a range), dates
    as dates; instants in the offset of the value they replace (``like``), else ``zone`` — or,
    with ``keep_offset=False``, in their own offset (a Google event's). The row's time zone, if
    it had one, is kept with its wall times."""
    if start is None:
        return {"date": None}

    def text(value: date | datetime, was: date | datetime | None) -> str:
        if not isinstance(value, datetime):
            return value.isoformat()
        if like is not None and like.time_zone:
            from zoneinfo import ZoneInfo

            return value.astimezone(ZoneInfo(like.time_zone)).replace(tzinfo=None).isoformat(timespec="milliseconds")
        return _in(value, was, zone, keep_offset)

    was_start = like.start if like is not None else None
    was_end = like.end if like is not None else None
    body: dict[str, Any] = {"start": text(start, was_start), "end": text(end, was_end or was_start) if end else None}
    if like is not None and like.time_zone and isinstance(start, datetime):
        body["time_zone"] = like.time_zone
    return {"date": body}
