"""Notion dates to Google event times.

* A date-only value is an all-day event. Google's end date is exclusive, so a
  one-day row runs D → D+1 and a range D1..D2 runs D1 → D2+1.
* A datetime is a timed event at the same instant: the offset Notion sent is kept
  and the IANA ``timeZone`` is set (Notion's own zone if it sent one, else the
  mapping's ``time_zone``, else the calendar's).
* A range uses its end; without one the event lasts ``duration_minutes``.
* An end before the start is the row's error.
"""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from notion_sync.sdk import DateValue, ItemError

__all__ = ["EventTime", "event_times", "as_date_value"]

EventTime = dict[str, str]
"""An ``EventDateTime``: ``{"date": ...}`` or ``{"dateTime": ..., "timeZone": ...}``."""


def as_date_value(value: Any) -> DateValue | None:
    """A property's value as a ``DateValue``: dates, date formulas and rollups, created/edited times."""
    if isinstance(value, DateValue):
        return value
    if isinstance(value, datetime | date):
        return DateValue(value)
    return None


def _aware(moment: datetime, zone: ZoneInfo) -> datetime:
    # Notion sends an offset; a naive datetime only comes with an explicit zone.
    # fold=0 picks the first of an ambiguous wall time (the earlier offset).
    return moment if moment.tzinfo is not None else moment.replace(tzinfo=zone)


def _stamp(moment: datetime) -> str:
    return moment.isoformat(timespec="seconds")


def event_times(
    start_value: DateValue,
    end_value: DateValue | None,
    *,
    time_zone: str,
    duration_minutes: int,
    start_name: str = "start",
    end_name: str = "end",
) -> tuple[EventTime, EventTime]:
    """Google ``start`` and ``end`` for a row.

    ``start_value`` is the start property's value (its range end, if any, is the
    event's end); ``end_value`` is the optional separate end property's value.
    Raises ``ItemError`` when the end is before the start, or when one of them has
    a time and the other has not.
    """
    start = start_value.start
    end = start_value.end
    if end is None and end_value is not None:
        end = end_value.end if end_value.end is not None else end_value.start
    if end is not None and isinstance(start, datetime) != isinstance(end, datetime):
        raise ItemError(
            f"{start_name} and {end_name} must both have a time or both be dates only "
            f"(start {start.isoformat()}, end {end.isoformat()})"
        )
    if not isinstance(start, datetime):
        last = end if end is not None else start
        assert isinstance(last, date)
        if last < start:
            raise ItemError(f"the event ends ({last.isoformat()}) before it starts ({start.isoformat()})")
        return {"date": start.isoformat()}, {"date": (last + timedelta(days=1)).isoformat()}

    zone_name = start_value.time_zone or time_zone
    zone = ZoneInfo(zone_name)
    begin = _aware(start, zone)
    finish: datetime | None = None
    if end is not None:
        assert isinstance(end, datetime)
        end_zone = end_value.time_zone if start_value.end is None and end_value is not None else None
        finish = _aware(end, ZoneInfo(end_zone) if end_zone else zone)
        if finish < begin:
            raise ItemError(f"the event ends ({_stamp(finish)}) before it starts ({_stamp(begin)})")
        if finish == begin:
            finish = None  # a zero-length range is a point in time: give it the default duration
    if finish is None:
        # Add in UTC so a duration across a DST change is real elapsed time.
        finish = (begin.astimezone(UTC) + timedelta(minutes=duration_minutes)).astimezone(begin.tzinfo)
    return (
        {"dateTime": _stamp(begin), "timeZone": zone_name},
        {"dateTime": _stamp(finish), "timeZone": zone_name},
    )
