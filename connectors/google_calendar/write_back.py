"""Google Calendar → Notion for the fields a mapping lists in ``write_back``: pure functions.

* ``time``: the event's start and end go to ``fields.start`` (and ``fields.end`` when set). An
  all-day event stays dates (Google's exclusive end day becomes Notion's inclusive last day), a
  timed one stays date-times, in the event's offset; a single date stays single while the
  event lasts ``duration_minutes`` (or one day), so no end appears that the row did not have;
* ``summary``: the title or text property the summary template is exactly one of.
"""

from __future__ import annotations

from datetime import date, datetime, timedelta
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

from .settings import GoogleCalendarMapping

__all__ = ["FIELDS", "KEYS", "notion_values", "problems"]

FIELDS = ("time", "summary")
KEYS: dict[str, tuple[str, ...]] = {"time": ("start", "end"), "summary": ("summary",)}


def problems(
    settings: GoogleCalendarMapping, fields: tuple[str, ...], schema: dict[str, Any] | None
) -> list[WriteBackProblem]:
    """Why these fields cannot flow back for this mapping (config load, then with the schema)."""
    found: list[WriteBackProblem] = []
    f = settings.fields
    if settings.calendar_from:
        # One sync token per mapping lists one calendar; routed mappings span several.
        found.append(
            WriteBackProblem(
                "write_back",
                "a mapping that routes rows to calendars (calendar_from) cannot write back yet; "
                "remove write_back or calendar_from",
            )
        )
    if "time" in fields:
        for key, prop in (("fields.start", f.start), ("fields.end", f.end)):
            problem = writable_problem(key, prop, schema, WRITABLE_DATE) if prop else None
            found += [problem] if problem else []
    if "summary" in fields:
        found += text_write_back_problems("summary", "fields.summary", f.summary, schema)
    return found


def _when(value: dict[str, Any], zone: ZoneInfo) -> date | datetime:
    if value.get("date"):
        return date.fromisoformat(str(value["date"]))
    moment = datetime.fromisoformat(str(value["dateTime"]).replace("Z", "+00:00"))
    return moment if moment.tzinfo else moment.replace(tzinfo=ZoneInfo(str(value.get("timeZone") or "UTC")))


def _date_of(row: Row, name: str | None) -> DateValue | None:
    prop = row.get(name) if name else None
    return prop.value if prop is not None and isinstance(prop.value, DateValue) else None


def notion_values(
    settings: GoogleCalendarMapping, schema: dict[str, Any], field: str, values: dict[str, Any], row: Row
) -> dict[str, Any]:
    """The Notion properties that make ``row`` render the event's ``values`` for ``field``."""
    f = settings.fields
    if field == "summary":
        name = single_property(f.summary)
        assert name
        kind = str((schema.get(name) or {}).get("type", "title"))
        return {name: notion_text(kind, str(values["summary"] or ""))}
    if field != "time":
        raise ItemError(f"Google Calendar cannot write back {field!r}")
    start_when, end_when = values.get("start") or {}, values.get("end") or {}
    if not start_when or not end_when:
        raise ItemError("the event has no start or end")
    zone = ZoneInfo(str(start_when.get("timeZone") or settings.time_zone or "UTC"))
    begin, finish = _when(start_when, zone), _when(end_when, zone)
    like = _date_of(row, f.start)
    like_end = _date_of(row, f.end)
    if isinstance(begin, datetime):
        assert isinstance(finish, datetime)
        single = finish - begin == timedelta(minutes=f.duration_minutes)
    else:
        assert not isinstance(finish, datetime)
        finish = finish - timedelta(days=1)  # Google's end day is exclusive, Notion's is the last day
        single = finish == begin
    if f.end:
        out = {f.start: notion_date(begin, None, like, zone, keep_offset=False)}
        if single and like_end is None:
            return out  # the row had no end and the event keeps its default length: none appears
        out[f.end] = notion_date(finish, None, like_end or like, zone, keep_offset=False)
        return out
    had_end = like is not None and like.end is not None
    return {f.start: notion_date(begin, None if single and not had_end else finish, like, zone, keep_offset=False)}
