"""The project's conformance suite against the Google Calendar emulator."""

from connectors.google_calendar import GoogleCalendarConnector
from core.testing.conformance import ConformanceSuite


class TestGoogleCalendarConformance(ConformanceSuite):
    connector = GoogleCalendarConnector
