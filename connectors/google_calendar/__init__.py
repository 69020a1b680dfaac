"""Google Calendar connector: Notion rows as calendar events, exactly once.

``GoogleCalendarConnector`` is registered as ``google_calendar``;
``GoogleCalendarEmulator`` is its local emulator; ``authorize`` runs the one-time
OAuth flow behind ``notion-sync auth google``.
"""

from connectors.google_calendar.auth import authorize
from connectors.google_calendar.connector import GoogleCalendarConnector
from connectors.google_calendar.emulator import GoogleCalendarEmulator
from connectors.google_calendar.settings import GoogleCalendarMapping, GoogleCalendarSettings

__all__ = [
    "GoogleCalendarConnector",
    "GoogleCalendarEmulator",
    "GoogleCalendarMapping",
    "GoogleCalendarSettings",
    "authorize",
]
