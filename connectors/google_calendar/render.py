"""A row rendered as the event it should be, and the request body that writes it: pure, no I/O."""

from __future__ import annotations

import re
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

from notion_sync.sdk import DesiredItem, ItemError, Row, SkipItem, render_template

from . import html
from .dates import as_date_value, event_times
from .markers import event_id, markers
from .recurrence import recurrence
from .settings import GoogleCalendarMapping

__all__ = [
    "MAX_DESCRIPTION",
    "attendee_emails",
    "comparable_event",
    "conference_request_id",
    "event_body",
    "found_payload",
    "merge_attendees",
    "render_event",
    "route",
]

MAX_DESCRIPTION = 8192
"""The longest description notion-sync writes: a page body is cut to fit, ending with its link."""


def route(row: Row, settings: GoogleCalendarMapping) -> str:
    """The calendar of a row: ``calendars[<calendar_from value>]``, else ``calendar_id``; a row
    with neither is skipped (and counted as skipped)."""
    return settings.routing.pick(row)


def render_event(row: Row, settings: GoogleCalendarMapping, time_zone: Callable[[str], str]) -> dict[str, Any]:
    """The event this row should be: the fields the mapping owns, nothing volatile.

    ``time_zone`` gives the zone of a timed event in a calendar; it is asked only for one, since an
    all-day event needs none (and the calendar's zone may not be known yet). A routed mapping
    (``calendar_from``) has the row's calendar in the payload as ``calendar``.
    """
    fields = settings.fields
    calendar = route(row, settings)
    start_prop = row.get(fields.start)
    start = as_date_value(start_prop.value) if start_prop else None
    if start is None:
        raise SkipItem(f"{fields.start} is empty")
    end = None
    if fields.end:
        end_prop = row.get(fields.end)
        end = as_date_value(end_prop.value) if end_prop else None
    begin, finish = event_times(
        start,
        end,
        time_zone=time_zone(calendar) if not start.all_day else "UTC",
        duration_minutes=fields.duration_minutes,
        start_name=fields.start,
        end_name=fields.end or "end",
    )
    payload: dict[str, Any] = {"summary": render_template(fields.summary, row), "start": begin, "end": finish}
    if fields.description is not None:
        payload["description"] = render_template(fields.description, row, markup=html.MARKUP, limit=MAX_DESCRIPTION)
    if fields.location is not None:
        payload["location"] = render_template(fields.location, row)
    if fields.color is not None:
        option = row.get(fields.color)
        payload["colorId"] = fields.colors.get(option.text) if option and option.text else None
    if fields.reminders_minutes is not None:
        payload["reminders"] = {
            "useDefault": False,
            "overrides": [{"method": "popup", "minutes": m} for m in fields.reminders_minutes],
        }
    if row.url.startswith(("https://", "http://")):
        payload["source"] = {"title": "Notion", "url": row.url}
    if fields.attendees is not None:
        payload["attendees"] = [{"email": email} for email in attendee_emails(row, fields.attendees)]
    if fields.recurrence is not None:
        repeat = row.get(fields.recurrence)
        payload["recurrence"] = recurrence(repeat.text if repeat is not None else "", fields.recurrence)
    if settings.conference:
        payload["conference"] = True
    if settings.calendar_from is not None:
        payload["calendar"] = calendar
    return payload


_SEPARATORS = re.compile(r"[,;\s]+")


def attendee_emails(row: Row, name: str) -> list[str]:
    """The guests' emails, sorted: a people property's, or those an email or text property lists.
    ``ItemError`` when Notion gave a person without an email (the capability is missing)."""
    prop = row.get(name)
    if prop is None:
        return []
    if prop.type == "people":
        emails = []
        for user in prop.raw.get("people") or []:
            email = str((user.get("person") or {}).get("email") or "")
            if not email:
                raise ItemError(
                    f"{name}: Notion gave no email for {user.get('name') or user.get('id')}; give the integration "
                    'the "Read user information including email addresses" capability (notion-sync audit shows it)'
                )
            emails.append(email.lower())
    else:
        emails = [e.lower() for e in _SEPARATORS.split(prop.text) if "@" in e]
    return sorted(set(emails))


def merge_attendees(
    current: dict[str, Any], written: dict[str, Any] | None, ours: list[dict[str, Any]]
) -> list[dict[str, Any]]:
    """The guest list to write: the row's guests (keeping what Google knows of each, their
    answer), then those a person added in Google: on the event now and not written by us before
    (``written``, the payload last written; None: unknown, so every other guest is kept)."""
    now = {str(a.get("email", "")).lower(): a for a in current.get("attendees") or []}
    before = {a["email"] for a in (written or {}).get("attendees") or []} if written is not None else set()
    wanted = [a["email"] for a in ours]
    merged = [now.get(email) or {"email": email} for email in wanted]
    merged += [a for email, a in now.items() if email not in wanted and email not in before]
    return merged


def conference_request_id(mapping_name: str, page_id: str) -> str:
    """The ``requestId`` of an event's Meet link: derived from the mapping and page, so a retried
    or repeated write never makes a second conference."""
    return "notion-sync-" + event_id(mapping_name, page_id)


def event_body(item: DesiredItem, mapping_name: str) -> dict[str, Any]:
    """The request body for a payload: markers, confirmed status, and explicit nulls so that a
    patch switching between all-day and timed clears the other form (patch merges objects)."""
    body = dict(item.payload)
    body.pop("calendar", None)  # where the event goes, not a field of it
    if body.pop("conference", False):
        body["conferenceData"] = {
            "createRequest": {
                "requestId": conference_request_id(mapping_name, item.page_id),
                "conferenceSolutionKey": {"type": "hangoutsMeet"},
            }
        }
    for key in ("start", "end"):
        when = dict(body[key])
        for name in ("date", "dateTime", "timeZone"):
            when.setdefault(name, None)
        body[key] = when
    body["extendedProperties"] = {"private": markers(mapping_name, item.page_id)}
    body["status"] = "confirmed"
    return body


def found_payload(event: dict[str, Any], settings: GoogleCalendarMapping, calendar: str = "") -> dict[str, Any]:
    """An event read back, in ``render_event``'s form (the keys this mapping owns), so that an
    event already right after a lost state file is adopted without a write. Anything read
    differently from how it was rendered only costs a rewrite, never a wrong adoption."""
    fields = settings.fields

    def when(value: Any) -> dict[str, Any]:
        return {k: v for k, v in (value or {}).items() if v is not None}

    payload: dict[str, Any] = {
        "summary": event.get("summary", ""),
        "start": when(event.get("start")),
        "end": when(event.get("end")),
    }
    if fields.description is not None:
        payload["description"] = event.get("description", "")
    if fields.location is not None:
        payload["location"] = event.get("location", "")
    if fields.color is not None:
        payload["colorId"] = event.get("colorId")
    if fields.reminders_minutes is not None:
        payload["reminders"] = event.get("reminders")
    source = event.get("source")
    if source:
        payload["source"] = {"title": source.get("title"), "url": source.get("url")}
    if fields.attendees is not None:
        payload["attendees"] = sorted(
            ({"email": str(a.get("email", "")).lower()} for a in event.get("attendees") or []),
            key=lambda a: a["email"],
        )
    if fields.recurrence is not None:
        payload["recurrence"] = event.get("recurrence")
    if settings.conference:
        payload["conference"] = bool(event.get("conferenceData"))
    if settings.calendar_from is not None:
        payload["calendar"] = calendar
    return payload


def comparable_event(payload: dict[str, Any]) -> dict[str, Any]:
    """A payload with each timed ``start``/``end`` as its instant in UTC: Google gives back a
    ``dateTime`` restated in the event's time zone (``10:00+01:00`` for ``09:00Z``), which is
    the same time and must not count as a change."""
    out = dict(payload)
    for key in ("start", "end"):
        when = out.get(key)
        if isinstance(when, dict) and when.get("dateTime"):
            try:
                instant = datetime.fromisoformat(str(when["dateTime"]).replace("Z", "+00:00"))
            except ValueError:
                continue
            if instant.tzinfo is not None:
                out[key] = {**when, "dateTime": instant.astimezone(UTC).isoformat()}
    return out
