"""Google Calendar connector: Notion rows as calendar events, exactly once.

The entry point ``google_calendar`` names ``spec``, a declaration; the implementation
(``connector.GoogleCalendarConnector``, with google-api-python-client) is imported only when
a command uses it. ``emulator.GoogleCalendarEmulator`` is its local emulator and
``auth.authorize`` the one-time OAuth flow behind ``notion-sync auth google``.
"""

from notion_sync.connectors.google_calendar.settings import GoogleCalendarMapping, GoogleCalendarSettings
from notion_sync.sdk import ConnectorSpec

__all__ = ["spec"]

spec = ConnectorSpec(
    name="google_calendar",
    summary="Notion rows as Google Calendar events (all-day or timed), through Google's batch endpoint",
    Settings=GoogleCalendarSettings,
    MappingSettings=GoogleCalendarMapping,
    on_delete_modes=("delete", "keep"),
    implementation="notion_sync.connectors.google_calendar.connector:GoogleCalendarConnector",
)
