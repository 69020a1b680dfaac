"""Notion dates → Google start/end: all-day exclusive ends, offsets, zones, ranges, DST."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

import pytest

from notion_sync.connectors.google_calendar.dates import event_times
from notion_sync.core.errors import ItemError
from notion_sync.core.rows import DateValue, parse_notion_time


def dv(start: str, end: str | None = None, tz: str | None = None) -> DateValue:
    return DateValue(parse_notion_time(start), parse_notion_time(end) if end else None, tz)


def times(value: DateValue, end: DateValue | None = None, zone: str = "Europe/Berlin", minutes: int = 60):
    return event_times(value, end, time_zone=zone, duration_minutes=minutes)


def test_one_day_ends_the_next_day() -> None:
    assert times(dv("2026-03-10")) == ({"date": "2026-03-10"}, {"date": "2026-03-11"})


def test_range_end_is_exclusive_plus_one() -> None:
    assert times(dv("2026-01-03", "2026-01-05")) == ({"date": "2026-01-03"}, {"date": "2026-01-06"})


def test_all_day_across_month_and_year_end() -> None:
    assert times(dv("2026-12-31")) == ({"date": "2026-12-31"}, {"date": "2027-01-01"})
    assert times(dv("2028-02-28", "2028-02-29")) == ({"date": "2028-02-28"}, {"date": "2028-03-01"})


def test_all_day_over_a_dst_change_is_whole_days() -> None:
    # Berlin moves clocks on 2026-03-29: an all-day event must not care.
    assert times(dv("2026-03-28", "2026-03-29")) == ({"date": "2026-03-28"}, {"date": "2026-03-30"})


def test_timed_keeps_notions_offset_and_sets_the_zone() -> None:
    start, end = times(dv("2026-03-10T09:30:00.000-05:00"), zone="America/New_York")
    assert start == {"dateTime": "2026-03-10T09:30:00-05:00", "timeZone": "America/New_York"}
    assert end == {"dateTime": "2026-03-10T10:30:00-05:00", "timeZone": "America/New_York"}


def test_timed_offset_differs_from_zone_keeps_the_instant() -> None:
    start, end = times(dv("2026-06-01T12:00:00.000+00:00"), zone="Asia/Tokyo")
    assert datetime.fromisoformat(start["dateTime"]) == datetime(2026, 6, 1, 12, tzinfo=UTC)
    assert start["timeZone"] == "Asia/Tokyo"


def test_timed_range_uses_its_end() -> None:
    start, end = times(dv("2026-03-10T09:00:00.000+01:00", "2026-03-10T17:15:00.000+01:00"))
    assert end["dateTime"] == "2026-03-10T17:15:00+01:00"


def test_duration_when_no_end() -> None:
    _, end = times(dv("2026-03-10T23:30:00.000+01:00"), minutes=45)
    assert end["dateTime"] == "2026-03-11T00:15:00+01:00"


def test_notions_own_zone_wins_over_the_calendars() -> None:
    start, _ = times(dv("2026-03-10T09:00:00.000+09:00", tz="Asia/Tokyo"), zone="Europe/Berlin")
    assert start["timeZone"] == "Asia/Tokyo"


def test_naive_datetime_with_zone_is_placed_in_that_zone() -> None:
    start, _ = times(dv("2026-07-01T09:00:00.000", tz="America/New_York"))
    assert start["dateTime"] == "2026-07-01T09:00:00-04:00"


def test_dst_spring_forward_duration_is_elapsed_time() -> None:
    # 01:30 EST + 60 minutes is 03:30 EDT: 02:30 does not exist that night.
    start, end = times(dv("2026-03-08T01:30:00.000", tz="America/New_York"), zone="America/New_York")
    assert start["dateTime"] == "2026-03-08T01:30:00-05:00"
    assert end["dateTime"] == "2026-03-08T03:30:00-04:00"
    assert datetime.fromisoformat(end["dateTime"]) - datetime.fromisoformat(start["dateTime"]) == timedelta(hours=1)


def test_dst_fall_back_ambiguous_time_takes_the_first() -> None:
    start, end = times(dv("2026-11-01T01:30:00.000", tz="America/New_York"), zone="America/New_York")
    assert start["dateTime"] == "2026-11-01T01:30:00-04:00"
    assert end["dateTime"] == "2026-11-01T01:30:00-05:00"  # one real hour later, same wall time


def test_dst_with_offsets_from_notion_across_the_change() -> None:
    start, end = times(dv("2026-03-28T22:00:00.000+01:00", "2026-03-29T10:00:00.000+02:00"))
    elapsed = datetime.fromisoformat(end["dateTime"]) - datetime.fromisoformat(start["dateTime"])
    assert elapsed == timedelta(hours=11)
    assert start["timeZone"] == end["timeZone"] == "Europe/Berlin"


def test_end_before_start_is_the_rows_error() -> None:
    with pytest.raises(ItemError, match="ends .* before it starts"):
        times(dv("2026-03-10", "2026-03-08"))
    with pytest.raises(ItemError, match="before it starts"):
        times(dv("2026-03-10T10:00:00.000+01:00", "2026-03-10T09:00:00.000+01:00"))


def test_zero_length_range_gets_the_duration() -> None:
    _, end = times(dv("2026-03-10T10:00:00.000+01:00", "2026-03-10T10:00:00.000+01:00"), minutes=30)
    assert end["dateTime"] == "2026-03-10T10:30:00+01:00"


def test_separate_end_property() -> None:
    assert times(dv("2026-03-10"), dv("2026-03-12")) == ({"date": "2026-03-10"}, {"date": "2026-03-13"})
    _, end = times(dv("2026-03-10T10:00:00.000+01:00"), dv("2026-03-10T12:00:00.000+01:00"))
    assert end["dateTime"] == "2026-03-10T12:00:00+01:00"
    with pytest.raises(ItemError, match="before it starts"):
        times(dv("2026-03-10"), dv("2026-03-09"))


def test_mixed_date_and_datetime_is_an_error() -> None:
    with pytest.raises(ItemError, match="both have a time or both be dates"):
        times(dv("2026-03-10"), dv("2026-03-10T12:00:00.000+01:00"))


def test_created_time_datetime_values_work() -> None:
    start, _ = event_times(DateValue(date(2026, 1, 2)), None, time_zone="UTC", duration_minutes=60)
    assert start == {"date": "2026-01-02"}
