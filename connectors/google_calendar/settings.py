"""Settings of the Google Calendar connector: the ``[google_calendar]`` table and a mapping's keys."""

from __future__ import annotations

from pathlib import Path
from typing import Any, Literal
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from notion_sync.sdk import (
    MappingSettings,
    PropertyRef,
    Question,
    Routing,
    ServiceSettings,
    Starter,
    Template,
    first_property,
    title_property,
)

__all__ = [
    "COLOR_NAMES",
    "DATE_TYPES",
    "EventFields",
    "GoogleCalendarMapping",
    "GoogleCalendarSettings",
    "GOOGLE_API_ENDPOINT",
    "starter",
]

GOOGLE_API_ENDPOINT = "https://www.googleapis.com/"

DATE_TYPES = ("date", "formula", "rollup", "created_time", "last_edited_time")
"""Property types that can hold a date (a formula or rollup must give a date)."""

COLOR_NAMES = {
    "lavender": "1",
    "sage": "2",
    "grape": "3",
    "flamingo": "4",
    "banana": "5",
    "tangerine": "6",
    "peacock": "7",
    "graphite": "8",
    "blueberry": "9",
    "basil": "10",
    "tomato": "11",
}
"""Google Calendar's event colours as its web UI names them, to their ``colorId``."""


class GoogleCalendarSettings(ServiceSettings):
    """The ``[google_calendar]`` table."""

    credentials_file: Path | None = None
    """A service-account key (JSON) or an authorized-user file from ``notion-sync auth google``."""
    subject: str | None = None
    """With a service account: the user to act as (domain-wide delegation)."""
    api_endpoint: str | None = None
    """Another base URL for the API, e.g. a local emulator; default Google's."""
    max_requests_per_minute: int = Field(540, ge=1)
    """Client-side pacing; Google allows about 600 per minute per user."""

    @model_validator(mode="after")
    def _credentials_needed(self) -> GoogleCalendarSettings:
        if self.credentials_file is None and self.api_endpoint is None:
            raise ValueError(
                "credentials_file is required: point it at a service-account key (JSON) "
                "or run `notion-sync auth google --client-secrets FILE` and use the file it writes"
            )
        return self

    @field_validator("api_endpoint")
    @classmethod
    def _http_url(cls, value: str | None) -> str | None:
        if value is not None and not value.startswith(("http://", "https://")):
            raise ValueError(f"api_endpoint must be an http(s) URL, not {value!r}")
        return value


def _color_id(value: Any) -> str:
    text = str(value).strip().lower()
    if text in COLOR_NAMES:
        return COLOR_NAMES[text]
    if text.isdigit() and 1 <= int(text) <= 11:
        return str(int(text))
    names = ", ".join(COLOR_NAMES)
    raise ValueError(f"{value!r} is not a Google event colour: use 1 to 11 or one of {names}")


class EventFields(BaseModel):
    """What each event is made of (``[mappings.fields]``)."""

    model_config = ConfigDict(extra="forbid")

    summary: Template = "{Name}"
    """The event's title."""
    description: Template | None = None
    """The event's description (None: notion-sync does not own it)."""
    location: Template | None = None
    """The event's location (None: notion-sync does not own it)."""
    start: PropertyRef(DATE_TYPES)  # type: ignore[valid-type]
    """The date property; a row without a date is skipped."""
    end: PropertyRef(DATE_TYPES) | None = None  # type: ignore[valid-type]
    """An optional second date property for the end."""
    duration_minutes: int = Field(60, ge=1, le=60 * 24 * 14)
    """Length of a timed event that has no end."""
    color: PropertyRef(("select", "status")) | None = None  # type: ignore[valid-type]
    """A select or status property whose option picks the event's colour through ``colors``."""
    colors: dict[str, str] = Field(default_factory=dict)
    """Option name → Google colour id (1-11) or name (tomato, banana, sage...)."""
    reminders_minutes: list[int] | None = None
    """Popup reminders, minutes before the start (at most 5). None: the calendar's defaults."""
    attendees: PropertyRef(("people", "email", "rich_text", "formula")) | None = None  # type: ignore[valid-type]
    """Guests: a people property (their emails: the integration needs the "Read user information
    including email addresses" capability) or an email/text property (emails, comma-separated).
    Guests a person added in Google are kept."""
    recurrence: PropertyRef(("select", "status", "rich_text", "formula")) | None = None  # type: ignore[valid-type]
    """A property holding the repeat rule: an RRULE (``FREQ=WEEKLY;BYDAY=MO,WE``) or daily, weekly,
    monthly, yearly. Empty: the event does not repeat."""

    @field_validator("colors", mode="before")
    @classmethod
    def _colors(cls, value: Any) -> Any:
        if isinstance(value, dict):
            return {str(k): _color_id(v) for k, v in value.items()}
        return value

    @field_validator("reminders_minutes")
    @classmethod
    def _reminders(cls, value: list[int] | None) -> list[int] | None:
        if value is None:
            return value
        if len(value) > 5:
            raise ValueError("Google allows at most 5 reminders")
        for minutes in value:
            if not 0 <= minutes <= 40320:
                raise ValueError(f"{minutes} is out of range: a reminder is 0 to 40320 minutes (4 weeks) before")
        return value

    @model_validator(mode="after")
    def _color_needs_map(self) -> EventFields:
        if self.color is not None and not self.colors:
            raise ValueError(
                f"color = {self.color!r} needs a colors table mapping its options to Google colours, "
                'e.g. colors = { High = "tomato", Low = "sage" }'
            )
        return self


class GoogleCalendarMapping(MappingSettings):
    """The Google Calendar keys of a ``[[mappings]]`` entry."""

    calendar_id: str | None = Field(None, min_length=1)
    """The calendar's id (Settings → Integrate calendar → Calendar ID), or ``primary``. With
    ``calendar_from``: the calendar of rows whose value has none in ``calendars``."""
    calendar_from: PropertyRef(("select", "status", "rich_text", "formula")) | None = None  # type: ignore[valid-type]
    """A property whose value picks each row's calendar through ``calendars`` (routing)."""
    calendars: dict[str, str] = Field(default_factory=dict)
    """Value of ``calendar_from`` → calendar id, e.g. ``{ Design = "design@group.calendar.google.com" }``."""
    time_zone: str | None = None
    """IANA zone for timed events whose row gives none; default: the calendar's own."""
    send_updates: Literal["none", "all", "externalOnly"] = "none"
    """Whether Google emails guests about their invitations and changes (``sendUpdates``)."""
    conference: bool = False
    """Give each event a Google Meet link (kept across later updates)."""
    fields: EventFields

    @model_validator(mode="after")
    def _a_calendar(self) -> GoogleCalendarMapping:
        problem = self.routing.problem()
        if problem:
            raise ValueError(problem)
        return self

    @property
    def routing(self) -> Routing:
        """Which calendar each row goes to (``calendar_from``, ``calendars``, ``calendar_id``)."""
        return Routing(
            self.calendar_from,
            self.calendars,
            self.calendar_id,
            ("calendar_from", "calendars", "calendar_id"),
            '{ Design = "design@group.calendar.google.com" }',
        )

    @property
    def routed_calendars(self) -> list[str]:
        """Every calendar this mapping may write to: the routed ones, then the fallback."""
        return self.routing.places

    @property
    def home_calendar(self) -> str:
        """The calendar messages name when no row's is known: the fallback, else the first routed one."""
        return self.routing.home

    @field_validator("time_zone")
    @classmethod
    def _zone(cls, value: str | None) -> str | None:
        if value is None:
            return value
        try:
            ZoneInfo(value)
        except (ZoneInfoNotFoundError, ValueError):
            raise ValueError(f"{value!r} is not an IANA time zone (e.g. Europe/Berlin, America/New_York)") from None
        return value


def starter(schema: dict[str, dict[str, Any]]) -> Starter:
    """``notion-sync init``'s guesses: the primary calendar; the title as the summary, the first
    date property as the start, the first text property and the page's URL as the description."""
    date = first_property(schema, "date")
    notes = {
        "calendar_id": '"primary" is the calendar of the account; or a calendar id '
        "(Google Calendar → Settings → Integrate calendar)"
    }
    if date:
        notes["fields.start"] = "guessed: the first date property; a row without a date is skipped"
    else:
        notes["fields.start"] = "the data source has no date property: add one in Notion and name it here"
    text = first_property(schema, "rich_text")
    return Starter(
        mapping={
            "calendar_id": "primary",
            "fields": {
                "summary": "{" + title_property(schema) + "}",
                "start": date or "<a date property>",
                "description": "{" + text + "}\n\n{url}" if text else "{url}",
            },
        },
        notes=notes,
        service={"credentials_file": "~/.config/notion-sync/google-authorized-user.json"},
        service_notes={
            "credentials_file": "the file `notion-sync auth google --client-secrets FILE` writes (your own "
            "account), or a service-account key (JSON); mode 600"
        },
        questions=[Question("calendar_id", "Google Calendar id (or primary)", "primary")],
    )
