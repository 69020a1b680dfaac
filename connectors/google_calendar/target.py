"""The emulated Google Calendar used by ``notion-sync demo`` and the conformance suite."""

from __future__ import annotations

from datetime import date, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from pydantic import BaseModel, ConfigDict, Field

from notion_sync.connectors.google_calendar.emulator import GoogleCalendarEmulator
from notion_sync.connectors.google_calendar.markers import PAGE_KEY
from notion_sync.sdk import EmulatedTarget, OperationKind

__all__ = ["DEMO_CALENDAR", "EmulatedCalendar"]

DEMO_CALENDAR = "team-roadmap@group.calendar.google.com"
DEMO_TIME_ZONE = "Europe/Berlin"

# Google's event colours (colorId → name and a terminal colour close to it).
_COLORS = {
    "1": ("Lavender", "#7986cb"),
    "2": ("Sage", "#33b679"),
    "3": ("Grape", "#8e24aa"),
    "4": ("Flamingo", "#e67c73"),
    "5": ("Banana", "#f6bf26"),
    "6": ("Tangerine", "#f4511e"),
    "7": ("Peacock", "#039be5"),
    "8": ("Graphite", "#616161"),
    "9": ("Blueberry", "#3f51b5"),
    "10": ("Basil", "#0b8043"),
    "11": ("Tomato", "#d50000"),
}


class CalendarSeed(BaseModel):
    """A calendar in a seed fixture's ``[google_calendar]`` table."""

    model_config = ConfigDict(extra="forbid")
    id: str
    summary: str | None = None
    time_zone: str = "UTC"
    access_role: str = "owner"
    description: str = ""


class GoogleCalendarSeed(BaseModel):
    """``[google_calendar]`` in a seed fixture: ``calendars = [{ id, summary, time_zone }]``."""

    model_config = ConfigDict(extra="forbid")
    calendars: list[CalendarSeed] = Field(default_factory=list)


class EmulatedCalendar(EmulatedTarget):
    """A running emulator with one calendar (Europe/Berlin) and a mapping of the demo database."""

    emulator: GoogleCalendarEmulator

    def __init__(self) -> None:
        self.emulator = GoogleCalendarEmulator().start()
        self.emulator.add_calendar(DEMO_CALENDAR, summary="Team roadmap", time_zone=DEMO_TIME_ZONE)
        self.calendar_id = DEMO_CALENDAR
        self.service_settings: dict[str, Any] = {"api_endpoint": self.emulator.api_endpoint}
        self.mapping: dict[str, Any] = {
            "calendar_id": DEMO_CALENDAR,
            "fields": {
                "summary": "{Name}",
                "description": "{Notes}\n\nStatus: {Status} · Owner: {Owner} · Tags: {Tags}\n{url}",
                "start": "Due",
                "color": "Priority",
                "colors": {"High": "tomato", "Medium": "banana", "Low": "sage"},
            },
        }
        self.env: dict[str, str] = {}

    seed_model = GoogleCalendarSeed

    def seed(self, section: Any) -> None:
        """Add the fixture's calendars (each with its time zone)."""
        for i, calendar in enumerate(section.calendars):
            try:
                self.emulator.add_calendar(
                    calendar.id,
                    summary=calendar.summary,
                    time_zone=calendar.time_zone,
                    access_role=calendar.access_role,
                    description=calendar.description,
                )
            except (KeyError, ValueError) as exc:  # ZoneInfoNotFoundError is a KeyError
                raise ValueError(
                    f"calendars[{i}].time_zone: {calendar.time_zone!r} is not an IANA time zone ({exc}); "
                    "use a name such as Europe/Berlin"
                ) from None

    def credentials(self) -> dict[str, str]:
        """The emulator takes any OAuth token (or none), as the connector's ``api_endpoint`` mode sends."""
        return {"oauth": "any token, or anonymous credentials"}

    def write_request(self, kind: OperationKind) -> tuple[str | None, str] | None:
        """Creates go in one batch request; a single update may go alone (a PATCH) or in a batch."""
        if kind == "create":
            return "POST", r"^/batch/calendar/v3$|/events$"
        return None, r"^/batch/calendar/v3$|/events/[^/]+$"

    def _live(self) -> list[dict[str, Any]]:
        return [
            e
            for e in self.emulator.events(self.calendar_id)
            if ((e.get("extendedProperties") or {}).get("private") or {}).get(PAGE_KEY)
        ]

    def items(self) -> dict[str, str]:
        """Page id (from the event's marker) → summary, for events that are not cancelled."""
        return {e["extendedProperties"]["private"][PAGE_KEY]: str(e.get("summary", "")) for e in self._live()}

    def edit_as_user(self, page_id: str, field: str) -> None:
        """As a calendar user would: drag the event to the next day, or rename it."""
        event = next(e for e in self._live() if e["extendedProperties"]["private"][PAGE_KEY] == page_id)
        if field == "summary":
            self.emulator.edit_event(
                self.calendar_id, event["id"], {"summary": event["summary"] + " (edited in Google)"}
            )
            return
        if field != "time":
            raise ValueError(f"Google Calendar has no write-back field {field!r}")
        moved = []
        for key in ("start", "end"):
            when = dict(event[key])
            if "date" in when:
                when["date"] = (date.fromisoformat(when["date"]) + timedelta(days=1)).isoformat()
            else:
                moment = datetime.fromisoformat(str(when["dateTime"]).replace("Z", "+00:00")) + timedelta(days=1)
                when["dateTime"] = moment.isoformat()
            moved.append(when)
        self.emulator.move_event(self.calendar_id, event["id"], moved[0], moved[1])

    def item_count(self) -> int:
        """Live events carrying a page marker, duplicates included."""
        return len(self._live())

    def render(self) -> Any:
        """The calendar as an agenda: when (in the calendar's zone), what, colour."""
        from rich.table import Table
        from rich.text import Text

        zone = ZoneInfo(DEMO_TIME_ZONE)
        table = Table(title=f"Google Calendar · Team roadmap ({DEMO_TIME_ZONE})", title_justify="left")
        table.add_column("when", no_wrap=True)
        table.add_column("event")
        table.add_column("colour")

        def sort_key(event: dict[str, Any]) -> datetime:
            start = event["start"]
            if "date" in start:
                return datetime.combine(date.fromisoformat(start["date"]), datetime.min.time(), zone)
            return datetime.fromisoformat(start["dateTime"]).astimezone(zone)

        for event in sorted(self._live(), key=sort_key):
            table.add_row(_when(event, zone), str(event.get("summary", "")), _color(event.get("colorId")))
        if not table.rows:
            table.add_row(Text("(no events)", style="dim"), "", "")
        return table

    def close(self) -> None:
        """Stop the emulator."""
        self.emulator.stop()


def _when(event: dict[str, Any], zone: ZoneInfo) -> str:
    start, end = event["start"], event["end"]
    if "date" in start:
        first = date.fromisoformat(start["date"])
        last = date.fromordinal(date.fromisoformat(end["date"]).toordinal() - 1)  # Google's end is exclusive
        text = first.strftime("%a %d %b %Y")
        return f"{text} – {last.strftime('%a %d %b')}, all day" if last != first else f"{text}, all day"
    begin = datetime.fromisoformat(start["dateTime"]).astimezone(zone)
    finish = datetime.fromisoformat(end["dateTime"]).astimezone(zone)
    tail = finish.strftime("%H:%M") if finish.date() == begin.date() else finish.strftime("%a %d %b %H:%M")
    return f"{begin.strftime('%a %d %b %Y %H:%M')}–{tail}"


def _color(color_id: Any) -> Any:
    from rich.text import Text

    if color_id is None or str(color_id) not in _COLORS:
        return Text("calendar default", style="dim")
    name, hex_color = _COLORS[str(color_id)]
    return Text(f"● {name}", style=hex_color)
