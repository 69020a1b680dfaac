"""Google Calendar connector: Notion rows as calendar events, exactly once.

The entry point ``google_calendar`` names ``spec``, a declaration; the implementation
(``connector.GoogleCalendarConnector``, with google-api-python-client) is imported only when
a command uses it. The modules, as in every connector: ``settings`` (and ``init``'s starter),
``render``, ``markers`` (deterministic ids, private extended properties), ``client``,
``connector``, ``errors``, ``checks``, and the emulator. Google's own extras: ``dates``
(Notion dates to event times), ``auth`` (the one-time OAuth flow) and ``cli`` (``notion-sync
auth google``, through the ``notion_sync.auth`` entry point).
"""

from notion_sync.sdk import ConnectorSpec

from .settings import GoogleCalendarMapping, GoogleCalendarSettings
from .write_back import FIELDS

__all__ = ["spec"]

spec = ConnectorSpec(
    name="google_calendar",
    summary="Notion rows as Google Calendar events (all-day or timed), through Google's batch endpoint",
    Settings=GoogleCalendarSettings,
    MappingSettings=GoogleCalendarMapping,
    on_delete_modes=("delete", "keep"),
    write_back_fields=FIELDS,
    implementation="notion_sync.connectors.google_calendar.connector:GoogleCalendarConnector",
)
