"""Google Calendar's rules for event resources: the id rule, the fields a resource keeps, patch semantics.

Written from Google's documentation (the discovery document's ``Event.id``), not from the
connector: an oracle may not share the code it checks.
"""

from __future__ import annotations

import copy
import hashlib
import json
import re
from datetime import datetime
from functools import cache
from importlib import resources
from typing import Any

from .errors import bad

__all__ = [
    "SERVER_FIELDS",
    "check_attendees",
    "check_recurrence",
    "conference",
    "conference_version",
    "event_schema_fields",
    "merge",
    "parse_instant",
    "strip_nulls",
    "valid_event_id",
]

_EVENT_ID = re.compile(r"[0-9a-v]{5,1024}")
"""Google: "characters allowed in the ID are those used in base32hex encoding, i.e. lowercase
letters a-v and digits 0-9 ... the length of the ID must be between 5 and 1024 characters"."""


def valid_event_id(value: object) -> bool:
    """Whether Google accepts ``value`` as a client-chosen event id."""
    return isinstance(value, str) and _EVENT_ID.fullmatch(value) is not None


@cache
def _discovery() -> dict[str, Any]:
    text = (
        resources.files("googleapiclient")
        .joinpath("discovery_cache/documents/calendar.v3.json")
        .read_text(encoding="utf-8")
    )
    return dict(json.loads(text))


def event_schema_fields() -> frozenset[str]:
    """The properties of the ``Event`` schema in the client library's discovery document."""
    return frozenset(_discovery()["schemas"]["Event"]["properties"])


def merge(target: dict[str, Any], patch: dict[str, Any]) -> None:
    """Google's patch semantics: objects merge, arrays and scalars replace, null removes."""
    for key, value in patch.items():
        if value is None:
            target.pop(key, None)
        elif isinstance(value, dict) and isinstance(target.get(key), dict):
            merge(target[key], value)
        else:
            target[key] = copy.deepcopy(value)


def strip_nulls(value: Any) -> Any:
    """``value`` without its null fields, at any depth (Google ignores them on insert)."""
    if isinstance(value, dict):
        return {k: strip_nulls(v) for k, v in value.items() if v is not None}
    if isinstance(value, list):
        return [strip_nulls(v) for v in value]
    return value


def parse_instant(text: str, where: str) -> datetime:
    """An RFC 3339 instant, or Google's 400 naming ``where``."""
    try:
        moment = datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError:
        raise bad(f"Invalid value for: {where}") from None
    return moment


SERVER_FIELDS = frozenset(
    {
        "kind",
        "etag",
        "id",
        "htmlLink",
        "created",
        "updated",
        "creator",
        "organizer",
        "iCalUID",
        "sequence",
        "eventType",
        "status",
    }
)
"""Fields Google sets itself; a request cannot change them (status excepted, on writes)."""


_FREQS = frozenset({"SECONDLY", "MINUTELY", "HOURLY", "DAILY", "WEEKLY", "MONTHLY", "YEARLY"})
_RULE_PARTS = frozenset(
    {
        "FREQ",
        "UNTIL",
        "COUNT",
        "INTERVAL",
        "BYSECOND",
        "BYMINUTE",
        "BYHOUR",
        "BYDAY",
        "BYMONTHDAY",
        "BYYEARDAY",
        "BYWEEKNO",
        "BYMONTH",
        "BYSETPOS",
        "WKST",
    }
)


def check_recurrence(event: dict[str, Any]) -> None:
    """Google's rules for ``recurrence``: RRULE, EXRULE, RDATE and EXDATE lines (RFC 5545); a
    timed recurring event needs a ``timeZone`` on its start and end, to expand the series."""
    lines = event.get("recurrence")
    if lines is None:
        return
    if not isinstance(lines, list) or not all(isinstance(line, str) for line in lines):
        raise bad("Invalid value for: recurrence")
    for line in lines:
        name, _, value = line.partition(":")
        if name not in ("RRULE", "EXRULE", "RDATE", "EXDATE") or not value:
            raise bad("Invalid recurrence rule.")
        if name in ("RRULE", "EXRULE"):
            parts = dict(part.partition("=")[::2] for part in value.split(";"))
            if parts.get("FREQ") not in _FREQS or not set(parts) <= _RULE_PARTS or "" in parts.values():
                raise bad("Invalid recurrence rule.")
    for which in ("start", "end"):
        when = event.get(which) or {}
        if lines and "dateTime" in when and not when.get("timeZone"):
            raise bad(f"Missing time zone definition for {which} time.", reason="required")


def check_attendees(event: dict[str, Any]) -> None:
    """Each attendee needs an email; Google adds ``responseStatus: needsAction``."""
    attendees = event.get("attendees")
    if attendees is None:
        return
    if not isinstance(attendees, list):
        raise bad("Invalid value for: attendees")
    for attendee in attendees:
        if not isinstance(attendee, dict) or "@" not in str(attendee.get("email", "")):
            raise bad("Invalid attendee email.")
        attendee.setdefault("responseStatus", "needsAction")


def conference_version(params: dict[str, list[str]]) -> int:
    """``conferenceDataVersion``: 0 (the default) or 1."""
    raw = (params.get("conferenceDataVersion") or ["0"])[-1]
    if raw not in ("0", "1"):
        raise bad("Invalid value for: conferenceDataVersion")
    return int(raw)


def conference(
    old: dict[str, Any] | None, request: dict[str, Any], version: int, allowed: list[str]
) -> dict[str, Any] | None:
    """The ``conferenceData`` an event gets from a write: with ``conferenceDataVersion=0`` the
    request's conference data is ignored (the event keeps what it had); with 1, a ``createRequest``
    whose ``requestId`` is new makes a conference (a Meet link), one already used is ignored
    (https://developers.google.com/calendar/api/guides/create-events#conferencing)."""
    kept: dict[str, Any] | None = (old or {}).get("conferenceData")
    wanted: Any = request.get("conferenceData")
    if version == 0 or ("conferenceData" not in request):
        return copy.deepcopy(kept)
    if not isinstance(wanted, dict):
        return None  # null removes it
    create = wanted.get("createRequest")
    if not isinstance(create, dict):
        return copy.deepcopy(wanted)
    request_id = create.get("requestId")
    if not isinstance(request_id, str) or not request_id:
        raise bad("Invalid conference create request: requestId is required.")
    kind = (create.get("conferenceSolutionKey") or {}).get("type")
    if kind not in allowed:
        raise bad("Invalid conference type value.")
    if kept and (kept.get("createRequest") or {}).get("requestId") == request_id:
        return copy.deepcopy(kept)
    digest = hashlib.sha256(request_id.encode()).hexdigest()
    letters = "".join(chr(ord("a") + int(c, 16) % 26) for c in digest[:10])
    meeting = f"{letters[:3]}-{letters[3:7]}-{letters[7:10]}"
    return {
        "createRequest": {
            "requestId": request_id,
            "conferenceSolutionKey": {"type": kind},
            "status": {"statusCode": "success"},
        },
        "entryPoints": [
            {
                "entryPointType": "video",
                "uri": f"https://meet.google.com/{meeting}",
                "label": f"meet.google.com/{meeting}",
            }
        ],
        "conferenceSolution": {"key": {"type": kind}, "name": "Google Meet"},
        "conferenceId": meeting,
    }
