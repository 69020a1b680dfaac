"""A stateful Google Calendar API v3 emulator that the real google-api-python-client talks to.

``service`` holds the emulator (state, routes, batch endpoint), ``events`` Google's rules for
event resources (the id rule included, from Google's documentation) and ``errors`` its error
bodies. It imports nothing of the connector it is used to test.
"""

from __future__ import annotations

from .errors import google_error
from .events import event_schema_fields
from .service import GoogleCalendarEmulator

__all__ = ["GoogleCalendarEmulator", "event_schema_fields", "google_error"]
