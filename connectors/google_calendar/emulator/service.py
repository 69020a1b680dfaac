"""A stateful Google Calendar API v3 emulator that the real google-api-python-client talks to.

Start it, seed calendars, point the client at ``api_endpoint``::

    emulator = GoogleCalendarEmulator().start()
    emulator.add_calendar("team@example.com", time_zone="Europe/Berlin")
    build("calendar", "v3", credentials=AnonymousCredentials(),
          client_options={"api_endpoint": emulator.api_endpoint})

It answers the way Google does, as far as notion-sync relies on it:

* ``calendars.get``, ``calendarList.get``, and events ``insert``, ``get``,
  ``update``, ``patch``, ``delete``, ``list`` (``privateExtendedProperty``,
  ``showDeleted``, ``pageToken``, ``maxResults``, ``timeMin``/``timeMax``);
* the batch endpoint ``/batch/calendar/v3`` with a ``multipart/mixed`` reply whose
  parts carry ``Content-ID: <response-...>``; faults apply to each inner call too;
* 409 ``duplicate`` for a reused id, deleted ids included; 410 ``deleted`` on a
  second delete; ``get`` of a deleted event returns it ``cancelled``; 400
  "The specified time range is empty." for end ≤ start; 400 for bad ids;
* Google's error body ``{"error": {"errors": [...], "code", "message"}}``, 401
  ``authError``, 403 ``rateLimitExceeded`` / ``requiredAccessLevel``, 429;
* patch semantics: objects merge, arrays are replaced, ``null`` removes a field.

Resources keep only the fields the discovery document that ships with the client
library declares, so what it returns has Google's shape.
"""

from __future__ import annotations

import base64
import copy
import email.message
import email.parser
import itertools
import json
import threading
import uuid
from dataclasses import dataclass, field
from datetime import date, datetime, time
from http import HTTPStatus
from typing import Any
from urllib.parse import parse_qsl, unquote, urlsplit
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from notion_sync.sdk import ControlError, ControlRoute, Faults, ServiceEmulator

from .errors import Fail, Reply, bad, google_error, not_found
from .events import (
    SERVER_FIELDS,
    check_attendees,
    check_recurrence,
    conference,
    conference_version,
    event_schema_fields,
    merge,
    parse_instant,
    strip_nulls,
    valid_event_id,
)

__all__ = ["GoogleCalendarEmulator"]

MAX_BATCH_CALLS = 1000
WRITE_ROLES = ("writer", "owner")
READ_ROLES = ("reader", "writer", "owner")


@dataclass
class _Calendar:
    id: str
    summary: str
    time_zone: str
    access_role: str
    description: str = ""
    events: dict[str, dict[str, Any]] = field(default_factory=dict)


class GoogleCalendarEmulator(ServiceEmulator):
    """The emulator's state and its Starlette app, served by ``ServiceEmulator``."""

    service_name = "google_calendar"

    def __init__(self, *, faults: Faults | None = None, owner_email: str = "notion-sync@emulator.test") -> None:
        self.calendars: dict[str, _Calendar] = {}
        self.owner_email = owner_email
        self.reject_credentials = False
        """Answer 401 ``authError`` to everything (credentials revoked)."""
        self.tokens: set[str] | None = None
        """When set, only ``Authorization: Bearer <token>`` with one of these is accepted; tokens
        issued by ``/token`` are added to it."""
        self.revoked = False
        """``/token`` refuses every grant (``invalid_grant``), as for a revoked refresh token."""
        self.grants: list[dict[str, str]] = []
        self.invitations: list[tuple[str, str, str]] = []
        """(calendar, event id, email) of every invitation Google would have emailed (``sendUpdates``)."""
        """The form of every ``/token`` request (grant_type, assertion or refresh_token...)."""
        self._lock = threading.RLock()
        self._etags = itertools.count(1)
        self._changes = itertools.count(1)
        self._sync_generation = 0
        """Sync tokens name a generation: ``expire_sync_tokens`` moves it on, so older ones get 410."""
        self._generated_ids = itertools.count(1)
        self.app = Starlette(
            routes=[Route("/{path:path}", self._endpoint, methods=["GET", "POST", "PUT", "PATCH", "DELETE"])]
        )
        super().__init__(self.app, faults=faults)

    @property
    def url(self) -> str:
        """The server's base URL."""
        return self.base_url

    @property
    def api_endpoint(self) -> str:
        """What to give the client as ``api_endpoint``."""
        return f"{self.base_url}/calendar/v3/"

    # -- seeding and reading (for tests) ---------------------------------------------
    def reset(self) -> None:
        """Forget every calendar, fault, flag and request count (a server shared by tests)."""
        with self._lock:
            self.calendars.clear()
            self.reject_credentials = self.revoked = False
            self.tokens = None
            self.grants.clear()
            self.invitations.clear()
        self.reset_server()

    def add_calendar(
        self,
        calendar_id: str,
        *,
        summary: str | None = None,
        time_zone: str = "UTC",
        access_role: str = "owner",
        description: str = "",
    ) -> None:
        """Create a calendar the caller can reach with ``access_role`` (``none`` hides it: 404)."""
        ZoneInfo(time_zone)
        with self._lock:
            self.calendars[calendar_id] = _Calendar(
                calendar_id, summary or calendar_id, time_zone, access_role, description
            )

    def set_access(self, calendar_id: str, access_role: str) -> None:
        """Change the caller's role on a calendar (owner, writer, reader, freeBusyReader, none)."""
        with self._lock:
            self.calendars[calendar_id].access_role = access_role

    def events(self, calendar_id: str, *, include_deleted: bool = False) -> list[dict[str, Any]]:
        """Copies of a calendar's events, in creation order; cancelled ones only if asked."""
        with self._lock:
            return [
                copy.deepcopy(e)
                for e in self.calendars[calendar_id].events.values()
                if include_deleted or e["status"] != "cancelled"
            ]

    def event(self, calendar_id: str, event_id: str) -> dict[str, Any] | None:
        """A copy of one event (cancelled too), or None."""
        with self._lock:
            found = self.calendars[calendar_id].events.get(event_id)
            return copy.deepcopy(found) if found else None

    def put_event(self, calendar_id: str, event: dict[str, Any]) -> dict[str, Any]:
        """Store an event as if someone had made it (an id is generated if missing)."""
        with self._lock:
            return self._insert(self.calendars[calendar_id], copy.deepcopy(event), {})

    def edit_event(self, calendar_id: str, event_id: str, patch: dict[str, Any]) -> None:
        """Change an event as a person would in Google Calendar (patch semantics, no checks)."""
        with self._lock:
            event = self.calendars[calendar_id].events[event_id]
            merge(event, patch)
            self._touch(event)

    def move_event(self, calendar_id: str, event_id: str, start: dict[str, Any], end: dict[str, Any]) -> dict[str, Any]:
        """Drag an event to another time, as a person would in Google Calendar: ``start`` and
        ``end`` as event times (``{"date": ...}`` or ``{"dateTime": ..., "timeZone": ...}``),
        stored as Google returns them; ``updated`` moves on and the next sync-token listing shows it."""
        with self._lock:
            calendar = self.calendars[calendar_id]
            event = calendar.events[event_id]
            for key, when in (("start", start), ("end", end)):
                event[key] = {k: v for k, v in when.items() if v is not None}
            self._validate(event, calendar)
            self._express_times(event, calendar)
            self._touch(event)
            return self._public(event)

    def expire_sync_tokens(self) -> None:
        """Make every sync token handed out so far invalid (Google expires them after a while, or
        when the calendar's access changes): ``events.list`` with one answers 410 ``fullSyncRequired``."""
        with self._lock:
            self._sync_generation += 1

    def purge(self, calendar_id: str, event_id: str) -> None:
        """Empty an event from the trash: ``get`` answers 404, but its id stays reserved (409)."""
        with self._lock:
            calendar = self.calendars[calendar_id]
            calendar.events[event_id]["_purged"] = True

    # -- control API (docs/emulators.md) --------------------------------------------
    def control_routes(self) -> list[ControlRoute]:
        """Act as a calendar user over HTTP: list and move events, revoke the credentials."""

        def calendar(calendar_id: str) -> str:
            calendar_id = unquote(calendar_id)
            if calendar_id not in self.calendars:
                raise KeyError(f"calendar {calendar_id}")
            return calendar_id

        def listed(body: dict[str, Any], calendar_id: str) -> dict[str, Any]:
            return {"items": self.events(calendar(calendar_id), include_deleted=bool(body.get("include_deleted")))}

        def move(body: dict[str, Any], calendar_id: str, event_id: str) -> dict[str, Any]:
            cal = calendar(calendar_id)
            patch: dict[str, Any] = {k: body[k] for k in ("start", "end") if k in body}
            if not patch or not all(isinstance(v, dict) for v in patch.values()):
                raise ControlError(
                    400, "give 'start' and/or 'end' as event times, e.g. {'dateTime': '2026-01-05T10:00:00Z'}"
                )
            if self.event(cal, unquote(event_id)) is None:
                raise KeyError(f"event {event_id}")
            self.edit_event(cal, unquote(event_id), patch)
            return self.event(cal, unquote(event_id)) or {}

        def revoke(body: dict[str, Any]) -> None:
            with self._lock:
                self.reject_credentials = True

        def restore(body: dict[str, Any]) -> None:
            with self._lock:
                self.reject_credentials = False

        return [
            ControlRoute("GET", "calendars/{calendar_id}/events", listed, "a calendar's events, as stored"),
            ControlRoute("POST", "calendars/{calendar_id}/events/{event_id}/move", move, "move an event"),
            ControlRoute(
                "POST", "sync-tokens/expire", lambda body: self.expire_sync_tokens(), "sync tokens answer 410 after"
            ),
            ControlRoute("POST", "credentials/revoke", revoke, "answer 401 authError to everything"),
            ControlRoute("POST", "credentials/restore", restore, "accept the credentials again"),
        ]

    # -- errors ----------------------------------------------------------------
    def fault_body(self, status: int) -> Reply:
        """Google's reply for an injected status."""
        if status == 429:
            return status, google_error(429, "rateLimitExceeded", "Rate Limit Exceeded", domain="usageLimits"), {}
        if status == 403:
            return status, google_error(403, "rateLimitExceeded", "Rate Limit Exceeded", domain="usageLimits"), {}
        if status == 401:
            return (
                status,
                google_error(401, "authError", "Invalid Credentials", locationType="header", location="Authorization"),
                {"WWW-Authenticate": 'Bearer realm="https://accounts.google.com/"'},
            )
        if status >= 500:
            return status, google_error(status, "backendError", "Backend Error"), {}
        phrase = HTTPStatus(status).phrase if status in HTTPStatus._value2member_map_ else "Error"
        return status, google_error(status, "invalid", phrase), {}

    def fault_response(self, status: int, request: Request) -> Response:
        """An injected fault as Google would send it (its 429 carries no Retry-After)."""
        return self._response(self.fault_body(status))

    @staticmethod
    def _response(reply: Reply) -> Response:
        status, body, headers = reply
        if body is None:
            return Response(status_code=status, headers=headers)
        return Response(
            json.dumps(body), status_code=status, headers=headers, media_type="application/json; charset=UTF-8"
        )

    # -- HTTP ------------------------------------------------------------------
    async def _endpoint(self, request: Request) -> Response:
        raw_path = request.scope.get("raw_path") or request.url.path.encode()
        path = raw_path.decode("latin-1").split("?", 1)[0]
        body = await request.body()
        if path.rstrip("/") == "/token" and request.method == "POST":
            return self._token(body)
        if path.rstrip("/") == "/batch/calendar/v3":
            return self._batch(request.headers.get("content-type", ""), body, request.headers.get("authorization"))
        query = parse_qsl(request.url.query, keep_blank_values=True)
        return self._response(self.handle(request.method, path, query, body, request.headers.get("authorization")))

    def _token(self, body: bytes) -> Response:
        """Google's OAuth token endpoint, enough for service-account and refresh-token grants."""
        form = dict(parse_qsl(body.decode("utf-8"), keep_blank_values=True))
        with self._lock:
            self.grants.append(form)
            if self.revoked or form.get("grant_type") not in (
                "refresh_token",
                "urn:ietf:params:oauth:grant-type:jwt-bearer",
            ):
                return Response(
                    json.dumps({"error": "invalid_grant", "error_description": "Token has been expired or revoked."}),
                    status_code=400,
                    media_type="application/json",
                )
            token = f"ya29.emulated-{uuid.uuid4().hex}"
            if self.tokens is not None:
                self.tokens.add(token)
        return Response(
            json.dumps(
                {
                    "access_token": token,
                    "expires_in": 3599,
                    "token_type": "Bearer",
                    "scope": "https://www.googleapis.com/auth/calendar.events",
                }
            ),
            media_type="application/json",
        )

    def handle(
        self, method: str, path: str, query: list[tuple[str, str]], body: bytes, authorization: str | None
    ) -> Reply:
        """Answer one API call (a plain request or one part of a batch)."""
        try:
            self._authenticate(authorization)
            parts = [unquote(p) for p in path.strip("/").split("/")]
            if parts[:2] != ["calendar", "v3"]:
                raise not_found()
            parts = parts[2:]
            with self._lock:
                return self._route(method, parts, query, body)
        except Fail as fail:
            return fail.reply

    def _authenticate(self, authorization: str | None) -> None:
        token = authorization[7:] if authorization and authorization.lower().startswith("bearer ") else None
        if self.reject_credentials or (self.tokens is not None and token not in self.tokens):
            raise Fail(401, "authError", "Invalid Credentials", locationType="header", location="Authorization")

    def _route(self, method: str, parts: list[str], query: list[tuple[str, str]], body: bytes) -> Reply:
        params: dict[str, list[str]] = {}
        for key, value in query:
            params.setdefault(key, []).append(value)
        if len(parts) == 2 and parts[0] == "calendars" and method == "GET":
            return 200, self._calendar_resource(self._calendar(parts[1])), {}
        if len(parts) == 4 and parts[:3] == ["users", "me", "calendarList"] and method == "GET":
            return 200, self._calendar_list_entry(self._calendar(parts[3])), {}
        if len(parts) >= 3 and parts[0] == "calendars" and parts[2] == "events":
            calendar = self._calendar(parts[1])
            if len(parts) == 3 and method == "GET":
                return 200, self._list(calendar, params), {}
            if len(parts) == 3 and method == "POST":
                self._need_write(calendar)
                return 200, self._public(self._insert(calendar, self._json(body), params)), {}
            if len(parts) == 4:
                return self._one(method, calendar, parts[3], body, params)
        raise not_found()

    def _one(self, method: str, calendar: _Calendar, event_id: str, body: bytes, params: dict[str, list[str]]) -> Reply:
        event = calendar.events.get(event_id)
        if event is None or event.get("_purged"):
            raise not_found()
        if method == "GET":
            return 200, self._public(event), {}
        self._need_write(calendar)
        if method == "DELETE":
            if event["status"] == "cancelled":
                raise Fail(410, "deleted", "Resource has been deleted")
            event["status"] = "cancelled"
            self._touch(event)
            return 204, None, {}
        patch = self._json(body)
        if method == "PUT":
            replacement = {
                k: v for k, v in event.items() if (k in SERVER_FIELDS and k != "status") or k.startswith("_")
            }
            replacement.update(strip_nulls(self._known(patch)))
            # status defaults to "confirmed" (discovery document): a PUT without it restores a cancelled event
            replacement.setdefault("status", "confirmed")
            candidate = replacement
        elif method == "PATCH":
            candidate = copy.deepcopy(event)
            merge(candidate, self._known(patch))
        else:
            raise not_found()
        for key in SERVER_FIELDS - {"status"}:
            candidate[key] = event[key]
        self._guests_and_meet(event, candidate, patch, params, calendar)
        self._validate(candidate, calendar)
        self._express_times(candidate, calendar)
        candidate["sequence"] = event.get("sequence", 0) + 1
        self._touch(candidate)
        calendar.events[event_id] = candidate
        return 200, self._public(candidate), {}

    # -- calendars -----------------------------------------------------------------
    def _calendar(self, calendar_id: str) -> _Calendar:
        calendar = self.calendars.get(calendar_id)
        if calendar is None and calendar_id == "primary":
            calendar = next(iter(self.calendars.values()), None)
        if calendar is None or calendar.access_role == "none":
            raise not_found()
        return calendar

    @staticmethod
    def _need_write(calendar: _Calendar) -> None:
        if calendar.access_role not in WRITE_ROLES:
            raise Fail(403, "requiredAccessLevel", "You need to have writer access to this calendar.")

    @staticmethod
    def _calendar_resource(calendar: _Calendar) -> dict[str, Any]:
        return {
            "kind": "calendar#calendar",
            "etag": f'"{abs(hash(calendar.id)) % 10**12}"',
            "id": calendar.id,
            "summary": calendar.summary,
            "description": calendar.description,
            "timeZone": calendar.time_zone,
            "conferenceProperties": {"allowedConferenceSolutionTypes": ["hangoutsMeet"]},
        }

    def _calendar_list_entry(self, calendar: _Calendar) -> dict[str, Any]:
        entry = self._calendar_resource(calendar)
        entry.update(
            {
                "kind": "calendar#calendarListEntry",
                "accessRole": calendar.access_role,
                "colorId": "14",
                "backgroundColor": "#9fe1e7",
                "foregroundColor": "#000000",
                "defaultReminders": [],
                "selected": True,
            }
        )
        return entry

    # -- events ------------------------------------------------------------------
    @staticmethod
    def _json(body: bytes) -> dict[str, Any]:
        try:
            value = json.loads(body or b"{}")
        except ValueError:
            raise Fail(400, "parseError", "Parse Error") from None
        if not isinstance(value, dict):
            raise Fail(400, "parseError", "Parse Error")
        return value

    @staticmethod
    def _known(body: dict[str, Any]) -> dict[str, Any]:
        # Read-only and unknown fields in a request body are ignored, as Google does.
        fields = event_schema_fields()
        return {k: v for k, v in body.items() if k in fields and k not in SERVER_FIELDS - {"status", "id"}}

    def _insert(self, calendar: _Calendar, body: dict[str, Any], params: dict[str, list[str]]) -> dict[str, Any]:
        event: dict[str, Any] = strip_nulls(self._known(body))
        event_id = event.get("id")
        if event_id is None:
            event_id = f"emu{next(self._generated_ids):08d}{uuid.uuid4().hex[:12]}"
            event_id = "".join(c for c in event_id if c in "0123456789abcdefghijklmnopqrstuv")
        elif not valid_event_id(event_id):
            raise bad("Invalid resource id value.")
        if event_id in calendar.events:
            raise Fail(409, "duplicate", "The requested identifier already exists.")
        event["id"] = event_id
        event.setdefault("status", "confirmed")
        self._guests_and_meet(None, event, body, params, calendar)
        self._validate(event, calendar)
        self._express_times(event, calendar)
        now = self._timestamp()
        event.update(
            {
                "kind": "calendar#event",
                "htmlLink": "https://www.google.com/calendar/event?eid="
                + base64.urlsafe_b64encode(f"{event_id} {calendar.id}".encode()).decode().rstrip("="),
                "created": now,
                "creator": {"email": self.owner_email},
                "organizer": {"email": calendar.id, "displayName": calendar.summary, "self": True},
                "iCalUID": f"{event_id}@google.com",
                "sequence": 0,
                "eventType": "default",
            }
        )
        event.setdefault("reminders", {"useDefault": True})
        self._touch(event)
        calendar.events[event_id] = event
        return event

    def _guests_and_meet(
        self,
        old: dict[str, Any] | None,
        event: dict[str, Any],
        request: dict[str, Any],
        params: dict[str, list[str]],
        calendar: _Calendar,
    ) -> None:
        """Attendees, recurrence and conference data of a write, as Google treats them; invitations
        go out (``invitations``) only with ``sendUpdates=all`` or ``externalOnly``."""
        made = conference(old, request, conference_version(params), ["hangoutsMeet"])
        if made is None:
            event.pop("conferenceData", None)
        else:
            event["conferenceData"] = made
        check_attendees(event)
        check_recurrence(event)
        send = (params.get("sendUpdates") or ["none"])[-1]
        if send not in ("all", "externalOnly", "none"):
            raise bad("Invalid value for: sendUpdates")
        if send != "none":
            before = {a.get("email") for a in (old or {}).get("attendees") or []}
            for attendee in event.get("attendees") or []:
                if attendee["email"] not in before:
                    self.invitations.append((calendar.id, str(event.get("id", "")), attendee["email"]))

    def _timestamp(self) -> str:
        return self.now().isoformat(timespec="milliseconds").replace("+00:00", "Z")

    def _touch(self, event: dict[str, Any]) -> None:
        event["etag"] = f'"{3_000_000_000_000_000 + next(self._etags)}"'
        event["_change"] = next(self._changes)
        event["updated"] = self._timestamp()

    @staticmethod
    def _public(event: dict[str, Any]) -> dict[str, Any]:
        return {k: copy.deepcopy(v) for k, v in event.items() if not k.startswith("_")}

    def _validate(self, event: dict[str, Any], calendar: _Calendar) -> None:
        if event.get("status", "confirmed") not in ("confirmed", "tentative", "cancelled"):
            raise bad("Invalid value for: status")
        start, end = event.get("start"), event.get("end")
        if not isinstance(start, dict) or not start:
            raise Fail(400, "required", "Missing start time.")
        if not isinstance(end, dict) or not end:
            raise Fail(400, "required", "Missing end time.")
        begin = self._instant(start, "start", calendar)
        finish = self._instant(end, "end", calendar)
        if ("date" in start) != ("date" in end):
            raise bad("Start and end times must either both be date or both be dateTime.")
        if finish <= begin:
            raise bad("The specified time range is empty.", reason="timeRangeEmpty")
        for key in ("summary", "description", "location", "colorId"):
            if key in event and not isinstance(event[key], str):
                raise bad(f"Invalid value for: {key}")
        if "colorId" in event and event["colorId"] not in {str(i) for i in range(1, 12)}:
            raise bad("Invalid value for: colorId")
        private = event.get("extendedProperties", {}).get("private", {})
        if not isinstance(private, dict) or not all(isinstance(v, str) for v in private.values()):
            raise bad("Invalid value for: extendedProperties.private")
        for key, value in private.items():
            if len(key) > 44 or len(value) > 1024:
                raise bad("Invalid value for: extendedProperties.private")
        reminders = event.get("reminders")
        if reminders is not None:
            overrides = reminders.get("overrides", [])
            if reminders.get("useDefault") and overrides:
                raise bad(
                    "Cannot specify both default reminders and overrides at the same time.",
                    reason="cannotUseDefaultRemindersAndSpecifyOverride",
                )
            if len(overrides) > 5:
                raise bad("Invalid value for: reminders.overrides")
            for item in overrides:
                if item.get("method") not in ("email", "popup") or not 0 <= int(item.get("minutes", -1)) <= 40320:
                    raise bad("Invalid value for: reminders.overrides")
        source = event.get("source")
        if source is not None and not str(source.get("url", "")).startswith(("http://", "https://")):
            raise bad("Invalid value for: source.url")

    def _express_times(self, event: dict[str, Any], calendar: _Calendar) -> None:
        """Store ``dateTime`` values as Google returns them: the same instant, written in the
        time's ``timeZone`` (else the calendar's), seconds precision, ``Z`` for UTC."""
        for which in ("start", "end"):
            value = event.get(which)
            if not isinstance(value, dict) or "dateTime" not in value:
                continue
            moment = self._instant(value, which, calendar)
            local = moment.astimezone(ZoneInfo(value.get("timeZone") or calendar.time_zone))
            text = local.isoformat(timespec="seconds")
            value["dateTime"] = text[:-6] + "Z" if text.endswith("+00:00") else text

    @staticmethod
    def _instant(value: dict[str, Any], which: str, calendar: _Calendar) -> datetime:
        if "date" in value and "dateTime" in value:
            raise bad(f"Invalid {which} time: both date and dateTime are set.")
        zone_name = value.get("timeZone")
        if zone_name is not None:
            try:
                ZoneInfo(zone_name)
            except (ZoneInfoNotFoundError, ValueError):
                raise bad(f"Invalid time zone definition for {which} time.") from None
        if "date" in value:
            try:
                day = date.fromisoformat(value["date"])
            except (TypeError, ValueError):
                raise bad(f"Invalid value for: {which}.date") from None
            return datetime.combine(day, time(), ZoneInfo(calendar.time_zone))
        if "dateTime" not in value:
            raise Fail(400, "required", f"Missing {which} time.")
        moment = parse_instant(str(value["dateTime"]), f"{which}.dateTime")
        if moment.tzinfo is None:
            if zone_name is None:
                raise bad(f"Missing time zone definition for {which} time.", reason="required")
            moment = moment.replace(tzinfo=ZoneInfo(zone_name))
        return moment

    def _list(self, calendar: _Calendar, params: dict[str, list[str]]) -> dict[str, Any]:
        def one(name: str) -> str | None:
            values = params.get(name)
            return values[-1] if values else None

        if one("syncToken") and any(one(k) for k in ("privateExtendedProperty", "timeMin", "timeMax", "q")):
            raise bad("Sync token cannot be used with other filters.")
        since = self._sync_point(one("syncToken")) if one("syncToken") else None
        try:
            max_results = min(int(one("maxResults") or 250), 2500)
        except ValueError:
            raise bad("Invalid value for: maxResults") from None
        if max_results < 1:
            raise bad("Invalid value for: maxResults")
        # An incremental listing always includes deleted events: that is how a client hears of them.
        show_deleted = since is not None or (one("showDeleted") or "false").lower() == "true"
        wanted: list[tuple[str, str]] = []
        for constraint in params.get("privateExtendedProperty", []):
            if "=" not in constraint:
                raise bad("Invalid value for: privateExtendedProperty")
            key, value = constraint.split("=", 1)
            wanted.append((key, value))
        time_min = parse_instant(one("timeMin") or "", "timeMin") if one("timeMin") else None
        time_max = parse_instant(one("timeMax") or "", "timeMax") if one("timeMax") else None
        for moment, name in ((time_min, "timeMin"), (time_max, "timeMax")):
            if moment is not None and moment.tzinfo is None:
                raise bad(f"Bad Request: {name} needs a time zone offset", reason="badRequest")
        if time_min and time_max and time_max <= time_min:
            raise bad("The specified time range is empty.", reason="timeRangeEmpty")
        matching = []
        for event in calendar.events.values():
            if event.get("_purged") or (event["status"] == "cancelled" and not show_deleted):
                continue
            if since is not None and event.get("_change", 0) <= since:
                continue
            private = event.get("extendedProperties", {}).get("private", {})
            if any(private.get(k) != v for k, v in wanted):
                continue
            if time_min or time_max:
                begin = self._instant(event["start"], "start", calendar)
                finish = self._instant(event["end"], "end", calendar)
                if (time_min and finish <= time_min) or (time_max and begin >= time_max):
                    continue
            matching.append(event)
        offset, mark = 0, None
        token = one("pageToken")
        if token:
            try:
                parts = base64.urlsafe_b64decode(token.encode()).decode().removeprefix("offset:").split(":")
                offset = int(parts[0])
                mark = int(parts[1]) if len(parts) > 1 else None
            except (ValueError, UnicodeDecodeError):
                raise bad("Invalid page token value.") from None
        # A listing's sync token is where the changes stood when its first page was read.
        if mark is None:
            mark = self._change_point()
        page = matching[offset : offset + max_results]
        result: dict[str, Any] = {
            "kind": "calendar#events",
            "etag": f'"p{3_000_000_000_000_000 + len(matching)}"',
            "summary": calendar.summary,
            "description": calendar.description,
            "updated": self._timestamp(),
            "timeZone": calendar.time_zone,
            "accessRole": calendar.access_role,
            "defaultReminders": [{"method": "popup", "minutes": 10}],
            "items": [self._public(e) for e in page],
        }
        if offset + max_results < len(matching):
            result["nextPageToken"] = base64.urlsafe_b64encode(
                f"offset:{offset + max_results}:{mark}".encode()
            ).decode()
        else:
            result["nextSyncToken"] = base64.urlsafe_b64encode(f"sync:{self._sync_generation}:{mark}".encode()).decode()
        return result

    def _change_point(self) -> int:
        """The number of the last change made to any event (0: none yet)."""
        return max((e.get("_change", 0) for c in self.calendars.values() for e in c.events.values()), default=0)

    def _sync_point(self, token: str | None) -> int:
        """The change a sync token was handed out at; 410 ``fullSyncRequired`` for an expired one."""
        try:
            kind, generation, point = base64.urlsafe_b64decode(str(token).encode()).decode().split(":")
            if kind != "sync":
                raise ValueError(kind)
            number, gen = int(point), int(generation)
        except (ValueError, UnicodeDecodeError):
            raise bad("Invalid sync token value.") from None
        if gen != self._sync_generation:
            raise Fail(410, "fullSyncRequired", "Sync token is no longer valid, a full sync is required.")
        return number

    # -- batch -------------------------------------------------------------------
    def _batch(self, content_type: str, body: bytes, authorization: str | None) -> Response:
        if not content_type.lower().startswith("multipart/mixed"):
            return self._response((400, google_error(400, "badRequest", "Batch requests must be multipart/mixed."), {}))
        message = email.parser.BytesParser().parsebytes(
            b"Content-Type: " + content_type.encode("latin-1") + b"\r\n\r\n" + body
        )
        parts = message.get_payload()
        if not isinstance(parts, list) or not parts:
            return self._response((400, google_error(400, "badRequest", "Bad Request"), {}))
        if len(parts) > MAX_BATCH_CALLS:
            return self._response(
                (400, google_error(400, "badRequest", f"A batch can hold at most {MAX_BATCH_CALLS} calls."), {})
            )
        boundary = f"batch_{uuid.uuid4().hex}"
        out: list[str] = []
        for part in parts:
            if not isinstance(part, email.message.Message):
                continue
            content_id = str(part.get("Content-ID", "")).strip()
            status, reply_body, headers = self._batch_part(str(part.get_payload()), authorization)
            response_id = f"<response-{content_id[1:-1]}>" if content_id.startswith("<") else ""
            text = "" if reply_body is None else json.dumps(reply_body)
            phrase = HTTPStatus(status).phrase if status in HTTPStatus._value2member_map_ else "Error"
            lines = [f"--{boundary}", "Content-Type: application/http"]
            if response_id:
                lines.append(f"Content-ID: {response_id}")
            lines += ["", f"HTTP/1.1 {status} {phrase}"]
            if reply_body is not None:
                lines.append("Content-Type: application/json; charset=UTF-8")
            lines += [f"{k}: {v}" for k, v in headers.items()]
            lines += [f"Content-Length: {len(text.encode())}", "", text]
            out.append("\r\n".join(lines))
        payload = "\r\n".join(out) + f"\r\n--{boundary}--\r\n"
        return Response(payload, status_code=200, media_type=f"multipart/mixed; boundary={boundary}")

    def _batch_part(self, raw: str, authorization: str | None) -> Reply:
        request_line, _, rest = raw.lstrip("\r\n").partition("\n")
        pieces = request_line.strip().split(" ")
        if len(pieces) < 2:
            return 400, google_error(400, "badRequest", "Bad Request"), {}
        method, target = pieces[0].upper(), pieces[1]
        inner = email.parser.Parser().parsestr(rest)
        body = inner.get_payload()
        split = urlsplit(target)
        status = self.server.inject(method, unquote(split.path))
        if status is not None:
            # One call of a batch cannot drop the connection: a dropped call is Google's 503.
            return self.fault_body(status or 503)
        query = parse_qsl(split.query, keep_blank_values=True)
        return self.handle(
            method,
            split.path,
            query,
            (body if isinstance(body, str) else "").encode("utf-8"),
            inner.get("authorization") or authorization,
        )
