"""The project's conformance suite against the Google Calendar emulator."""

from notion_sync.connectors.google_calendar.connector import GoogleCalendarConnector
from notion_sync.core.testing.conformance import ConformanceSuite


class TestGoogleCalendarConformance(ConformanceSuite):
    connector = GoogleCalendarConnector
