"""render() payloads and the settings' validation messages."""

from __future__ import annotations

import pytest
from pydantic import ValidationError

from notion_sync.connectors.google_calendar.connector import GoogleCalendarConnector
from notion_sync.connectors.google_calendar.settings import GoogleCalendarMapping, GoogleCalendarSettings
from notion_sync.core.errors import FatalError, ItemError, SkipItem
from notion_sync.core.fields import property_uses

from .conftest import MakeMapping, date_prop, make_row, select_prop, text_prop


@pytest.fixture
def offline() -> GoogleCalendarConnector:
    """A connector whose mapping zone is known without prepare()."""
    return GoogleCalendarConnector(GoogleCalendarSettings(api_endpoint="http://127.0.0.1:9/"))


def test_row_without_date_is_skipped(offline: GoogleCalendarConnector, make_mapping: MakeMapping) -> None:
    with pytest.raises(SkipItem):
        offline.render(make_row(due=date_prop(None)), make_mapping(time_zone="UTC"))


def test_all_day_payload_has_only_owned_fields(offline: GoogleCalendarConnector, make_mapping: MakeMapping) -> None:
    row = make_row("Ship it", due=date_prop("2026-03-10"))
    payload = offline.render(row, make_mapping(time_zone="UTC"))
    assert payload == {
        "summary": "Ship it",
        "start": {"date": "2026-03-10"},
        "end": {"date": "2026-03-11"},
        "source": {"title": "Notion", "url": row.url},
    }


def test_full_payload(offline: GoogleCalendarConnector, make_mapping: MakeMapping) -> None:
    mapping = make_mapping(
        time_zone="Europe/Paris",
        summary="[{Priority}] {Name}",
        description="{Notes}\n{url}",
        location="Room {Notes}",
        color="Priority",
        colors={"High": "tomato", "Low": "2"},
        reminders_minutes=[10, 60],
        duration_minutes=30,
    )
    row = make_row(
        "Review", due=date_prop("2026-05-04T14:00:00.000+02:00"), Priority=select_prop("High"), Notes=text_prop("B12")
    )
    payload = offline.render(row, mapping)
    assert payload["summary"] == "[High] Review"
    assert payload["description"] == f"B12\n{row.url}"
    assert payload["location"] == "Room B12"
    assert payload["colorId"] == "11"
    assert payload["reminders"] == {
        "useDefault": False,
        "overrides": [{"method": "popup", "minutes": 10}, {"method": "popup", "minutes": 60}],
    }
    assert payload["end"] == {"dateTime": "2026-05-04T14:30:00+02:00", "timeZone": "Europe/Paris"}


def test_unmapped_or_empty_color_clears_it(offline: GoogleCalendarConnector, make_mapping: MakeMapping) -> None:
    mapping = make_mapping(time_zone="UTC", color="Priority", colors={"High": "tomato"})
    assert offline.render(make_row(Priority=select_prop("Medium")), mapping)["colorId"] is None
    assert offline.render(make_row(Priority=select_prop(None)), mapping)["colorId"] is None


def test_end_before_start_fails_the_row(offline: GoogleCalendarConnector, make_mapping: MakeMapping) -> None:
    with pytest.raises(ItemError):
        offline.render(make_row(due=date_prop("2026-03-10", "2026-03-01")), make_mapping(time_zone="UTC"))


def test_timed_row_needs_a_zone_before_prepare(offline: GoogleCalendarConnector, make_mapping: MakeMapping) -> None:
    row = make_row(due=date_prop("2026-03-10T10:00:00.000+01:00"))
    with pytest.raises(FatalError, match="time_zone"):
        offline.render(row, make_mapping())
    # An all-day row needs no zone at all.
    offline.render(make_row(due=date_prop("2026-03-10")), make_mapping())


def test_render_is_stable(offline: GoogleCalendarConnector, make_mapping: MakeMapping) -> None:
    row = make_row(due=date_prop("2026-03-10T10:00:00.000+01:00"))
    mapping = make_mapping(time_zone="UTC")
    assert offline.render(row, mapping) == offline.render(row, mapping)


def test_fields_name_their_properties_for_the_core() -> None:
    mapping = GoogleCalendarMapping.model_validate(
        {
            "calendar_id": "c",
            "fields": {
                "start": "Due",
                "end": "Until",
                "summary": "{Name} {Status}",
                "color": "Priority",
                "colors": {"High": "1"},
            },
        }
    )
    uses = {(u.path, u.property) for u in property_uses(mapping.fields, "fields")}
    assert {
        ("fields.start", "Due"),
        ("fields.end", "Until"),
        ("fields.summary", "Name"),
        ("fields.summary", "Status"),
        ("fields.color", "Priority"),
    } <= uses
    start = next(u for u in property_uses(mapping.fields, "fields") if u.path == "fields.start")
    assert "date" in start.types


@pytest.mark.parametrize(
    ("data", "message"),
    [
        ({"calendar_id": "c", "fields": {}}, "start"),
        ({"calendar_id": "c", "time_zone": "Mars/Olympus", "fields": {"start": "Due"}}, "not an IANA time zone"),
        ({"calendar_id": "c", "fields": {"start": "Due", "color": "Priority"}}, "needs a colors table"),
        (
            {"calendar_id": "c", "fields": {"start": "Due", "color": "P", "colors": {"High": "red"}}},
            "not a Google event colour",
        ),
        ({"calendar_id": "c", "fields": {"start": "Due", "reminders_minutes": [1, 2, 3, 4, 5, 6]}}, "at most 5"),
        ({"calendar_id": "c", "fields": {"start": "Due", "reminders_minutes": [50000]}}, "out of range"),
        ({"calendar_id": "c", "fields": {"start": "Due", "duration_minutes": 0}}, "duration_minutes"),
        ({"calendar_id": "c", "fields": {"start": "Due", "titel": "{Name}"}}, "titel"),
        ({"calendar_id": "", "fields": {"start": "Due"}}, "calendar_id"),
    ],
)
def test_bad_mapping_settings_say_what_and_how(data: dict, message: str) -> None:
    with pytest.raises(ValidationError, match=message):
        GoogleCalendarMapping.model_validate(data)


def test_service_settings_need_credentials_unless_emulated() -> None:
    with pytest.raises(ValidationError, match="credentials_file is required.*notion-sync auth google"):
        GoogleCalendarSettings.model_validate({})
    with pytest.raises(ValidationError, match="api_endpoint must be an http"):
        GoogleCalendarSettings.model_validate({"api_endpoint": "localhost:8080"})
    with pytest.raises(ValidationError, match="credentails_file"):
        GoogleCalendarSettings.model_validate({"credentails_file": "x.json", "api_endpoint": "http://x"})
    assert GoogleCalendarSettings.model_validate({"credentials_file": "sa.json"}).api_endpoint is None


def test_color_names_and_ids_normalise() -> None:
    mapping = GoogleCalendarMapping.model_validate(
        {"calendar_id": "c", "fields": {"start": "Due", "color": "P", "colors": {"a": "Tomato", "b": 3, "c": "07"}}}
    )
    assert mapping.fields.colors == {"a": "11", "b": "3", "c": "7"}
