"""Fixtures for the Google Calendar connector's tests: the emulator, a connector pointed at it, rows."""

from __future__ import annotations

import uuid
from collections.abc import Callable, Iterator
from typing import Any

import pytest

from notion_sync.connectors.google_calendar.connector import GoogleCalendarConnector
from notion_sync.connectors.google_calendar.emulator import GoogleCalendarEmulator
from notion_sync.connectors.google_calendar.settings import GoogleCalendarMapping, GoogleCalendarSettings
from notion_sync.core.adapter import DesiredItem, MappingContext
from notion_sync.core.rows import Row

CALENDAR = "team@group.calendar.google.com"


@pytest.fixture(scope="session")
def emulator_server() -> Iterator[GoogleCalendarEmulator]:
    """One emulator process-wide (starting and stopping uvicorn per test is slow)."""
    emu = GoogleCalendarEmulator().start()
    yield emu
    emu.stop()


@pytest.fixture
def emulator(emulator_server: GoogleCalendarEmulator) -> GoogleCalendarEmulator:
    """The emulator, emptied, with one calendar in Europe/Berlin."""
    emulator_server.reset()
    emulator_server.add_calendar(CALENDAR, summary="Team", time_zone="Europe/Berlin")
    return emulator_server


@pytest.fixture
def connector(emulator: GoogleCalendarEmulator) -> Iterator[GoogleCalendarConnector]:
    """A connector talking to the emulator through the real client library."""
    conn = GoogleCalendarConnector(GoogleCalendarSettings(api_endpoint=emulator.api_endpoint))
    yield conn
    conn.close()


MakeMapping = Callable[..., MappingContext[GoogleCalendarMapping]]


@pytest.fixture
def make_mapping() -> MakeMapping:
    """Build a mapping context: ``make_mapping(fields={...}, time_zone=..., name=...)``."""

    def make(
        *,
        name: str = "events",
        calendar_id: str = CALENDAR,
        time_zone: str | None = None,
        on_delete: str = "delete",
        **fields: Any,
    ) -> MappingContext[GoogleCalendarMapping]:
        settings = GoogleCalendarMapping.model_validate(
            {"calendar_id": calendar_id, "time_zone": time_zone, "fields": {"start": "Due", **fields}}
        )
        return MappingContext(name=name, settings=settings, on_delete=on_delete)

    return make


def date_prop(start: str | None, end: str | None = None, time_zone: str | None = None) -> dict[str, Any]:
    """A Notion date property value."""
    if start is None:
        return {"type": "date", "date": None}
    return {"type": "date", "date": {"start": start, "end": end, "time_zone": time_zone}}


def make_row(
    name: str = "Launch", *, due: dict[str, Any] | None = None, page_id: str | None = None, **extra: dict[str, Any]
) -> Row:
    """A row as the Notion API would send it (title ``Name``, date ``Due``, and any ``extra`` properties)."""
    page_id = page_id or str(uuid.uuid4())
    properties: dict[str, Any] = {
        "Name": {"type": "title", "title": [{"plain_text": name}]},
        "Due": due if due is not None else date_prop("2026-03-10"),
        **extra,
    }
    return Row.from_page(
        {
            "id": page_id,
            "url": f"https://www.notion.so/{name.replace(' ', '-')}-{page_id.replace('-', '')}",
            "created_time": "2026-01-01T00:00:00.000Z",
            "last_edited_time": "2026-01-02T00:00:00.000Z",
            "in_trash": False,
            "properties": properties,
        }
    )


def select_prop(name: str | None) -> dict[str, Any]:
    """A Notion select property value."""
    return {"type": "select", "select": {"name": name} if name else None}


def text_prop(text: str) -> dict[str, Any]:
    """A Notion rich_text property value."""
    return {"type": "rich_text", "rich_text": [{"plain_text": text}] if text else []}


def desired(
    connector: GoogleCalendarConnector, row: Row, mapping: MappingContext[GoogleCalendarMapping]
) -> DesiredItem:
    """The item the engine would plan for this row."""
    return DesiredItem(mapping.name, row.id, row.url, row.title, connector.render(row, mapping))
