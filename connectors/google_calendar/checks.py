"""``notion-sync check`` for Google Calendar: credentials, the calendar, and write access (read-only)."""

from __future__ import annotations

from typing import TYPE_CHECKING

from googleapiclient.errors import HttpError

from notion_sync.sdk import AccessError, CheckResult, ConfigError, MappingContext

from .errors import http_status
from .settings import GoogleCalendarMapping

if TYPE_CHECKING:
    from .connector import GoogleCalendarConnector

__all__ = ["WRITE_ROLES", "check"]

WRITE_ROLES = ("writer", "owner")
"""The calendar access roles that may write events."""

Mapping = MappingContext[GoogleCalendarMapping]


def check(connector: GoogleCalendarConnector, mapping: Mapping) -> list[CheckResult]:
    """Credentials work, and each calendar of the mapping (every routed one) exists and takes
    this identity's events."""
    try:
        connector.client  # noqa: B018 - builds the client: bad credentials show here
    except ConfigError as exc:
        return [
            CheckResult(
                "Google credentials",
                False,
                str(exc),
                fix="set google_calendar.credentials_file to a service-account key or the file "
                "written by `notion-sync auth google`",
                access=False,
            )
        ]
    results: list[CheckResult] = []
    credentials_shown = False
    for calendar in mapping.settings.routed_calendars:
        lines = _check_calendar(connector, mapping, calendar)
        for line in lines:
            if line.name == "Google credentials":
                if credentials_shown and line.ok:
                    continue
                credentials_shown = True
            results.append(line)
        if any(line.name == "Google credentials" and not line.ok for line in lines):
            break
    return results


def _check_calendar(connector: GoogleCalendarConnector, mapping: Mapping, calendar: str) -> list[CheckResult]:
    client = connector.client
    try:
        info = connector.calendar_info(mapping, calendar)
    except HttpError as exc:
        if http_status(exc) == 404:
            error = connector.missing_calendar(mapping, calendar)
            return [
                CheckResult("Google credentials", True, f"accepted for {client.identity}"),
                CheckResult(
                    f"calendar {calendar}", False, "not found or not shared", fix=str(error).split("Fix: ", 1)[-1]
                ),
            ]
        return [_failed_check(connector, exc, calendar)]
    except Exception as exc:  # noqa: BLE001 - every failure becomes a check line
        return [_failed_check(connector, exc, calendar)]
    role = str(info.get("accessRole", ""))
    zone = str(info.get("timeZone") or "UTC")
    results = [
        CheckResult("Google credentials", True, f"accepted for {client.identity}"),
        CheckResult(f"calendar {calendar}", True, f"{info.get('summary', calendar)!s} (time zone {zone})"),
    ]
    if role in WRITE_ROLES:
        results.append(CheckResult(f"write events to {calendar}", True, f"access role {role}"))
    else:
        results.append(
            CheckResult(
                f"write events to {calendar}",
                False,
                f"access role {role or 'unknown'}",
                fix=f"share the calendar with {client.identity} with 'Make changes to events'",
            )
        )
    return results


def _failed_check(connector: GoogleCalendarConnector, exc: BaseException, calendar: str) -> CheckResult:
    error = connector.final_error(exc, calendar)
    text = str(error)
    fix = text.split("Fix: ", 1)[1] if "Fix: " in text else ""
    about_credentials = isinstance(error, AccessError) and "credentials" in text
    name = "Google credentials" if about_credentials else f"calendar {calendar}"
    return CheckResult(name, False, text.split(" Fix: ", 1)[0], fix=fix, access=isinstance(error, AccessError))
