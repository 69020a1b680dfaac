"""The Google Calendar connector: one Notion row, one event, exactly once.

Every write is a small *flow*: a generator that yields the API calls it needs and
receives their replies (or has their errors thrown in). ``create``/``update``/
``delete`` run one flow call by call; ``apply`` runs up to 100 flows side by side,
sending their calls in batch requests of up to 50 and retrying only the
calls that failed with a retryable error. The logic of 409s, restores and
already-deleted events therefore lives in one place for both paths.
"""

from __future__ import annotations

import itertools
import json
import logging
import random
import time
from collections.abc import Callable, Generator, Iterator, Sequence
from datetime import datetime
from typing import Any

from googleapiclient.errors import HttpError
from googleapiclient.http import BatchHttpRequest, HttpRequest

from notion_sync.sdk import (
    AccessError,
    CheckResult,
    Connector,
    CreateOperation,
    DesiredItem,
    EmulatedTarget,
    ExternalRef,
    FatalError,
    ItemError,
    Link,
    MappingContext,
    NotionSyncError,
    Operation,
    OperationResult,
    Pace,
    RetryableError,
    RetryPolicy,
    Row,
    Starter,
    TargetChanges,
    TargetItem,
    UpdateOperation,
    WriteBackProblem,
    call_with_retry,
    pace_key,
)

from . import checks, spec, write_back
from .client import CalendarClient, build_client
from .errors import classify, error_message, http_status
from .markers import MAPPING_KEY, PAGE_KEY, event_id, event_markers
from .render import comparable_event, event_body, found_payload, merge_attendees, render_event
from .settings import GoogleCalendarMapping, GoogleCalendarSettings
from .settings import starter as settings_starter

__all__ = ["GoogleCalendarConnector", "MAX_GENERATIONS"]

log = logging.getLogger(__name__)

MAX_GENERATIONS = 8
"""Fresh deterministic ids tried when older ones are reserved and cannot be restored;
after that Google picks the id (the markers still find the event)."""

Flow = Generator[HttpRequest, Any, ExternalRef | None]
Mapping = MappingContext[GoogleCalendarMapping]


class GoogleCalendarConnector(Connector[GoogleCalendarSettings, GoogleCalendarMapping]):
    """Mirrors rows into events of one Google Calendar per mapping."""

    name = spec.name
    summary = spec.summary
    render_is_pure = True
    Settings = spec.Settings
    MappingSettings = spec.MappingSettings
    on_delete_modes = spec.on_delete_modes
    batch_size = 100
    """Operations per ``apply`` (a page of rows): one batch request, or two when the quota's window
    has room for only part of it."""
    calls_per_batch = 100
    """Calls per batch request (Google Calendar takes up to 1,000; a batch cut short by a dropped
    reply or a 5xx is sent again whole, so it stays well under that). With 50, a page cut to the
    window's room went as three requests (say 30, 50 and 20), and since a sliding window frees
    its slots in the sizes they were taken, every later window was cut the same way: a
    window-bound 10,000-row backfill averaged 34.5 calls per request. With 100 it is at most two."""
    write_back_fields = spec.write_back_fields

    def __init__(self, settings: GoogleCalendarSettings) -> None:
        super().__init__(settings)
        self._client: CalendarClient | None = None
        self._zones: dict[str, str] = {}
        """(calendar, mapping) -> page id -> live event, from this run's one listing of the mapping's events."""

    # -- client -----------------------------------------------------------------
    @property
    def _pacer(self) -> Pace:
        """Google's quota is per user: one budget per credentials identity."""
        return self.pacers.pacer("google-user", self.settings.max_requests_per_minute, 60.0)

    @property
    def _pace_key(self) -> str:
        return pace_key(self.client.identity)

    @property
    def client(self) -> CalendarClient:
        """The Calendar client, built on first use."""
        if self._client is None:
            self._client = build_client(self.settings)
        return self._client

    @property
    def _events(self) -> Any:
        return self.client.events

    def _classify(self, exc: Exception, calendar_id: str | None = None) -> Exception:
        identity = self._client.identity if self._client else "the Google identity in credentials_file"
        return classify(exc, identity=identity, calendar_id=calendar_id)

    def _retryable_only(self, exc: Exception) -> Exception:
        # Hands call_with_retry only what it should retry; other errors reach the flow raw,
        # so it can act on a 404, 409 or 410.
        classified = self._classify(exc)
        return classified if isinstance(classified, RetryableError) else exc

    def _call(self, request: HttpRequest, what: str) -> Any:
        def send() -> Any:
            self._pacer.wait(self._pace_key)
            return request.execute(num_retries=0)

        return call_with_retry(send, classify=self._retryable_only, what=what, policy=self.retry_policy)

    def final_error(self, exc: BaseException, calendar_id: str) -> BaseException:
        """What an error that ends a write or a read means, as one of the sdk's errors."""
        if isinstance(exc, NotionSyncError):
            return exc
        if isinstance(exc, Exception):
            return self._classify(exc, calendar_id)
        return exc

    # -- render -------------------------------------------------------------------
    def _zone(self, mapping: Mapping, calendar: str) -> str:
        zone = mapping.settings.time_zone or self._zones.get(f"{mapping.name}\x00{calendar}")
        if zone is None:
            raise FatalError(
                f"mapping {mapping.name!r}: the calendar's time zone is unknown because prepare() has not run; "
                "set time_zone on the mapping"
            )
        return zone

    @classmethod
    def comparable(cls, payload: dict[str, Any]) -> dict[str, Any]:
        """Timed start and end as instants: Google restates them in the event's time zone."""
        return comparable_event(payload)

    def render(self, row: Row, mapping: Mapping) -> dict[str, Any]:
        """The event this row should be: the fields the mapping owns, nothing volatile."""
        return render_event(row, mapping.settings, lambda calendar: self._zone(mapping, calendar))

    def render_inputs(self, mapping: Mapping) -> str:
        """The time zones of the mapping's calendars, as ``prepare`` read them: a calendar moved
        to another zone moves every timed event."""
        prefix = f"{mapping.name}\x00"
        zones = sorted((k[len(prefix) :], v) for k, v in self._zones.items() if k.startswith(prefix))
        return json.dumps([mapping.settings.time_zone, zones])

    @classmethod
    def route_of(cls, payload: dict[str, Any]) -> str | None:
        """A routed event's calendar (``calendar_from``): an update that changes it is a move."""
        calendar = payload.get("calendar")
        return str(calendar) if calendar is not None else None

    @staticmethod
    def _params(mapping: Mapping) -> dict[str, Any]:
        """The query of every insert and patch: Meet links need ``conferenceDataVersion=1`` (without
        it Google ignores the create request), and guests get email only as ``send_updates`` says."""
        return {"conferenceDataVersion": 1, "sendUpdates": mapping.settings.send_updates}

    @classmethod
    def notion_capabilities(cls, settings: GoogleCalendarMapping) -> set[str]:
        """Guests from a people property need their emails."""
        needed = {"read_content"}
        if settings.fields.attendees is not None:
            needed.add("read_user_email")
        return needed

    @staticmethod
    def _calendar(item: DesiredItem, mapping: Mapping) -> str:
        """The calendar an item goes to: its routed one, else the mapping's."""
        return str(item.payload.get("calendar") or mapping.settings.home_calendar)

    @staticmethod
    def _ref(event: dict[str, Any], calendar_id: str) -> ExternalRef:
        return ExternalRef(str(event["id"]), {"calendar_id": calendar_id})

    # -- flows ------------------------------------------------------------------------
    def _create_flow(self, item: DesiredItem, mapping: Mapping) -> Flow:
        calendar = self._calendar(item, mapping)
        body = event_body(item, mapping.name)
        for generation in range(MAX_GENERATIONS):
            eid = event_id(mapping.name, item.page_id, generation)
            try:
                event = yield self._events.insert(
                    calendarId=calendar, body={**body, "id": eid}, **self._params(mapping)
                )
                return self._ref(event, calendar)
            except HttpError as exc:
                if http_status(exc) == 404:
                    # An insert only 404s when the calendar itself is gone or unshared.
                    raise self.missing_calendar(mapping, calendar) from None
                if http_status(exc) != 409:
                    raise
            # The id exists: written by a run that crashed before recording it, or a deleted
            # event (ids stay reserved). Adopt or restore it if it is this row's.
            try:
                existing = yield self._events.get(calendarId=calendar, eventId=eid)
            except HttpError as exc:
                if http_status(exc) in (404, 410):
                    continue  # purged from the trash: the id can never be used again
                raise
            private = event_markers(existing)
            if private.get(MAPPING_KEY) != mapping.name or private.get(PAGE_KEY) != item.page_id:
                continue
            try:
                event = yield self._events.patch(calendarId=calendar, eventId=eid, body=body, **self._params(mapping))
                return self._ref(event, calendar)
            except HttpError as exc:
                if http_status(exc) not in (404, 409, 410):
                    raise
                log.info(
                    "event %s of page %s cannot be restored (%s); using a new id", eid, item.page_id, error_message(exc)
                )
        event = yield self._events.insert(calendarId=calendar, body=body, **self._params(mapping))
        return self._ref(event, calendar)

    def _update_flow(self, link: Link, item: DesiredItem, mapping: Mapping) -> Flow:
        calendar = self._calendar(item, mapping)
        old_calendar = link.ref.extra.get("calendar_id", calendar)
        if old_calendar != calendar:
            # The row (or the mapping) moved to another calendar: write there, then remove the old
            # event. The new event's id is derived from the page, so a move cut short and done again
            # finds it (409) instead of writing a second one.
            ref = yield from self._create_flow(item, mapping)
            try:
                yield self._events.delete(calendarId=old_calendar, eventId=link.ref.id)
            except HttpError as exc:
                if http_status(exc) not in (403, 404, 410):
                    raise
            return ref
        body = event_body(item, mapping.name)
        try:
            if "attendees" in body:
                current = yield self._events.get(calendarId=calendar, eventId=link.ref.id)
                body["attendees"] = merge_attendees(current, link.payload, body["attendees"])
            # status "confirmed" in the body also restores an event deleted in Google or archived.
            event = yield self._events.patch(
                calendarId=calendar, eventId=link.ref.id, body=body, **self._params(mapping)
            )
            return self._ref(event, calendar)
        except HttpError as exc:
            if http_status(exc) not in (404, 410):
                raise
        return (yield from self._create_flow(item, mapping))

    def _delete_flow(self, link: Link, mapping: Mapping) -> Flow:
        calendar = link.ref.extra.get("calendar_id", mapping.settings.home_calendar)
        try:
            yield self._events.delete(
                calendarId=calendar, eventId=link.ref.id, sendUpdates=mapping.settings.send_updates
            )
        except HttpError as exc:
            if http_status(exc) not in (404, 410):
                raise
        return None

    def _flow(self, op: Operation, mapping: Mapping) -> Flow:
        if isinstance(op, CreateOperation):
            return self._create_flow(op.item, mapping)
        if isinstance(op, UpdateOperation):
            return self._update_flow(op.link, op.item, mapping)
        return self._delete_flow(op.link, mapping)

    def _run(self, flow: Flow, what: str, calendar_id: str) -> ExternalRef | None:
        """Run one flow call by call, each with retries."""
        try:
            request = next(flow)
            while True:
                try:
                    reply = self._call(request, what)
                except Exception as exc:  # noqa: BLE001 - the flow decides, then _final
                    request = flow.throw(exc)
                else:
                    request = flow.send(reply)
        except StopIteration as stop:
            return stop.value  # type: ignore[no-any-return]
        except Exception as exc:
            raise self.final_error(exc, calendar_id) from exc

    # -- writes -----------------------------------------------------------------------
    def create(self, item: DesiredItem, mapping: Mapping) -> ExternalRef:
        """Insert the event under its deterministic id (adopting or restoring it on 409)."""
        ref = self._run(
            self._create_flow(item, mapping), f"create event for {item.page_id}", self._calendar(item, mapping)
        )
        assert ref is not None
        return ref

    def update(self, link: Link, item: DesiredItem, mapping: Mapping) -> ExternalRef:
        """Patch the fields the mapping owns (and restore the event if it was deleted)."""
        ref = self._run(
            self._update_flow(link, item, mapping), f"update event {link.ref.id}", self._calendar(item, mapping)
        )
        assert ref is not None
        return ref

    def delete(self, link: Link, mode: str, mapping: Mapping) -> ExternalRef | None:
        """Delete the event (``delete`` is the only mode the engine passes). Already gone counts as done."""
        calendar = link.ref.extra.get("calendar_id", mapping.settings.home_calendar)
        return self._run(self._delete_flow(link, mapping), f"delete event {link.ref.id}", calendar)

    def apply(self, operations: Sequence[Operation], mapping: Mapping) -> Iterator[OperationResult]:
        """Run the operations side by side, each round of calls as one batch request.

        A call that fails with a retryable error (rate limit, 5xx) is sent again in a
        later round, alone with the other failed ones, after a backoff; the others go on.
        """
        calendar = mapping.settings.home_calendar
        policy = self.retry_policy
        flows = {i: self._flow(op, mapping) for i, op in enumerate(operations)}
        results: dict[int, OperationResult] = {}
        pending: dict[int, HttpRequest] = {}
        tries: dict[int, int] = {}
        fatal: BaseException | None = None

        def step(i: int, action: Callable[[], HttpRequest]) -> None:
            nonlocal fatal
            op = operations[i]
            try:
                pending[i] = action()
                tries[i] = 0
            except StopIteration as stop:
                results[i] = OperationResult(op, ref=stop.value)
            except Exception as exc:  # noqa: BLE001 - classified below
                error = self.final_error(exc, calendar)
                if isinstance(error, FatalError):
                    fatal = fatal or error  # like the default apply: no result for it, the mapping stops
                elif isinstance(error, ItemError):
                    results[i] = OperationResult(op, error=error)
                else:  # a bug: fail this operation, not the batch
                    log.exception("google_calendar: %s of %s failed unexpectedly", op.kind, op.page_id)
                    results[i] = OperationResult(op, error=ItemError(f"{type(exc).__name__}: {exc}"))

        for i, flow in flows.items():
            step(i, flow.__next__)
        rounds = 0
        while pending and fatal is None:
            sent = self._fitting(pending)
            for i in sent:
                del pending[i]
            replies = self._send_round(sent, policy)
            retry_after: list[float] = []
            retried = 0
            for i, request in sent.items():
                reply, exc = replies[i]
                flow = flows[i]
                if exc is None:
                    step(i, lambda f=flow, r=reply: f.send(r))  # type: ignore[misc]
                    continue
                classified = self._classify(exc, calendar)
                if isinstance(classified, RetryableError) and tries.get(i, 0) + 1 < policy.attempts:
                    pending[i] = request  # an HttpRequest can be sent again as it is
                    tries[i] = tries.get(i, 0) + 1
                    retried += 1
                    if classified.retry_after is not None:
                        retry_after.append(classified.retry_after)
                    continue
                thrown = classified if isinstance(classified, RetryableError) else exc
                step(i, lambda f=flow, e=thrown: f.throw(e))  # type: ignore[misc]
            if retried and fatal is None:
                rounds += 1
                wait = (
                    min(max(retry_after), policy.max_retry_after)
                    if retry_after
                    else random.uniform(0, min(policy.max_wait, policy.initial * 2**rounds))
                ) * policy.scale
                log.info("%d Google calls failed and are retried in %.1fs", retried, wait)
                time.sleep(wait)
        for i in range(len(operations)):
            if i in results:
                yield results[i]
        if fatal is not None:
            raise fatal

    def _fitting(self, pending: dict[int, HttpRequest]) -> dict[int, HttpRequest]:
        """The pending calls to send now: as many as the quota's window has room for (Google counts
        each call of a batch), so a batch never holds slots while it waits for the rest. With no
        room, all of them: the batch waits for its slots, which the window frees a batch at a time."""
        room = self._pacer.room(self._pace_key)
        most = min(self.calls_per_batch, self.settings.max_requests_per_minute)
        take = min(len(pending), most, room if room > 0 else most)
        return dict(itertools.islice(pending.items(), take))

    def _send_round(
        self, pending: dict[int, HttpRequest], policy: RetryPolicy
    ) -> dict[int, tuple[Any, Exception | None]]:
        """Send the pending calls (one batch request if more than one); per-call reply or error."""
        replies: dict[int, tuple[Any, Exception | None]] = {}
        if len(pending) == 1:
            ((i, request),) = pending.items()
            try:
                self._pacer.wait(self._pace_key)
                replies[i] = (request.execute(num_retries=0), None)
            except Exception as exc:  # noqa: BLE001 - per-call error, classified by the caller
                replies[i] = (None, exc)
            return replies

        def collect(request_id: str, response: Any, exception: Exception | None) -> None:
            replies[int(request_id)] = (response, exception)

        def send() -> None:
            replies.clear()
            batch = BatchHttpRequest(callback=collect, batch_uri=self.client.batch_uri)
            for i, request in pending.items():
                batch.add(request, request_id=str(i))
            self._pacer.wait(self._pace_key, len(pending))
            batch.execute()

        try:
            call_with_retry(
                send, classify=self._retryable_only, what=f"batch of {len(pending)} Google calls", policy=policy
            )
        except Exception as exc:  # noqa: BLE001 - the whole batch failed: every call has that error
            for i in pending:
                replies[i] = (None, exc)
        for i in pending:
            replies.setdefault(i, (None, ItemError("Google's batch reply has no answer for this call")))
        return replies

    # -- recovery -----------------------------------------------------------------------
    def recover(self, items: Sequence[DesiredItem], mapping: Mapping) -> dict[str, ExternalRef]:
        """Find live events this mapping wrote for these rows, by their private markers.

        A few rows: one filtered list per row. Many: one listing of the mapping's events, kept in
        the run's cache for the rest of the run.
        Deleted events are not returned; ``create`` restores them through the 409 path.
        """
        wanted = {item.page_id for item in items}
        key = ("listed", mapping.name)
        if key not in mapping.run_cache and len(wanted) > 5:
            # The engine calls recover once per page of up to 100 rows. One listing serves the whole
            # run: events this run writes are recorded in the state and never looked up again.
            self.list_marked(mapping)
        if key in mapping.run_cache:
            return {page: ref for page, ref in mapping.run_cache[key].items() if page in wanted}
        found: dict[str, ExternalRef] = {}
        if len(wanted) <= 5:
            queries = [[f"{MAPPING_KEY}={mapping.name}", f"{PAGE_KEY}={page}"] for page in sorted(wanted)]
        else:
            queries = [[f"{MAPPING_KEY}={mapping.name}"]]
        for calendar in mapping.settings.routed_calendars:
            for constraints in queries:
                for event in self._list(calendar, constraints):
                    page = event_markers(event).get(PAGE_KEY)
                    if page in wanted and page not in found:
                        found[page] = self._found(event, calendar, mapping)
        return found

    def _found(self, event: dict[str, Any], calendar_id: str, mapping: Mapping) -> ExternalRef:
        """A ref to an event ``recover`` read, with what it holds (``found``) to compare."""
        return ExternalRef(
            str(event["id"]), {"calendar_id": calendar_id}, found=found_payload(event, mapping.settings, calendar_id)
        )

    def list_marked(self, mapping: Mapping) -> dict[str, ExternalRef]:
        """Every live event carrying this mapping's marker, in one listing of each of its calendars
        (kept for the run)."""
        key = ("listed", mapping.name)
        if key not in mapping.run_cache:
            listed: dict[str, ExternalRef] = {}
            for calendar in mapping.settings.routed_calendars:
                for event in self._list(calendar, [f"{MAPPING_KEY}={mapping.name}"]):
                    page = event_markers(event).get(PAGE_KEY)
                    if page and page not in listed:
                        listed[page] = self._found(event, calendar, mapping)
            mapping.run_cache[key] = listed
        marked: dict[str, ExternalRef] = mapping.run_cache[key]
        return dict(marked)

    def _list(self, calendar: str, constraints: list[str]) -> Iterator[dict[str, Any]]:
        token: str | None = None
        while True:
            request = self._events.list(
                calendarId=calendar,
                privateExtendedProperty=constraints,
                showDeleted=False,
                maxResults=2500,
                pageToken=token,
            )
            try:
                page = self._call(request, f"list events of {calendar}")
            except Exception as exc:
                raise self.final_error(exc, calendar) from exc
            yield from page.get("items", [])
            token = page.get("nextPageToken")
            if not token:
                return

    # -- write-back ---------------------------------------------------------------------
    @classmethod
    def write_back_problems(
        cls, settings: GoogleCalendarMapping, fields: Sequence[str], schema: dict[str, Any] | None
    ) -> list[WriteBackProblem]:
        """``time`` needs writable date properties; ``summary`` a template of one title or text property."""
        return write_back.problems(settings, tuple(fields), schema)

    @classmethod
    def write_back_keys(cls, settings: GoogleCalendarMapping, field: str) -> tuple[str, ...]:
        """``time`` covers the event's start and end together."""
        return write_back.KEYS.get(field, (field,))

    def target_changes(self, mapping: Mapping, fields: Sequence[str], token: str | None) -> TargetChanges:
        """The events changed since ``token`` (``events.list`` with the ``syncToken``); without one,
        or when Google answers 410 (the token expired), one full listing. Either way the new
        ``nextSyncToken`` comes back to be stored. A sync token cannot be combined with the
        marker filter, so the calendar's events are listed and ours picked by their markers."""
        calendar = mapping.settings.home_calendar  # write_back refuses calendar_from: one calendar
        keys = [k for f in fields for k in self.write_back_keys(mapping.settings, f)]
        full = token is None
        try:
            events, next_token = self._changes(calendar, token)
        except HttpError as exc:
            if http_status(exc) != 410:
                raise self.final_error(exc, calendar) from exc
            log.info("mapping %r: Google's sync token expired (410); listing every event once", mapping.name)
            events, next_token = self._changes(calendar, None)
            full = True
        items: dict[str, TargetItem] = {}
        for event in events:
            marks = event_markers(event)
            page = marks.get(PAGE_KEY)
            if marks.get(MAPPING_KEY) != mapping.name or not page or event.get("status") == "cancelled":
                continue
            found = found_payload(event, mapping.settings)
            stamp = event.get("updated")
            modified = datetime.fromisoformat(str(stamp).replace("Z", "+00:00")) if stamp else None
            items[page] = TargetItem(page, self._ref(event, calendar), {k: found.get(k) for k in keys}, modified)
        return TargetChanges(items, next_token, full)

    def _changes(self, calendar: str, token: str | None) -> tuple[list[dict[str, Any]], str | None]:
        """Every page of one ``events.list`` (incremental with ``token``), and its ``nextSyncToken``."""
        events: list[dict[str, Any]] = []
        page_token: str | None = None
        while True:
            request = self._events.list(
                calendarId=calendar, syncToken=token, pageToken=page_token, maxResults=2500, showDeleted=True
            )
            try:
                page = self._call(request, f"list changed events of {calendar}")
            except HttpError:
                raise
            except Exception as exc:
                raise self.final_error(exc, calendar) from exc
            events.extend(page.get("items", []))
            page_token = page.get("nextPageToken")
            if not page_token:
                return events, page.get("nextSyncToken")

    @classmethod
    def notion_values(
        cls, settings: GoogleCalendarMapping, schema: dict[str, Any], field: str, values: dict[str, Any], row: Row
    ) -> dict[str, Any]:
        """The event's time → the start (and end) date properties; its summary → the title."""
        return write_back.notion_values(settings, schema, field, values, row)

    # -- prepare and check ------------------------------------------------------------
    def calendar_info(self, mapping: Mapping, calendar: str) -> dict[str, Any]:
        """One cheap ``events.list``: its reply carries the calendar's time zone and our access role.

        ``calendars.get`` and ``calendarList`` would need a wider scope than
        ``calendar.events``; ``events.list`` does not.
        """
        request = self._events.list(
            calendarId=calendar, maxResults=1, privateExtendedProperty=[f"{MAPPING_KEY}={mapping.name}"]
        )
        return dict(self._call(request, f"read calendar {calendar}"))

    def missing_calendar(self, mapping: Mapping, calendar: str) -> AccessError:
        """The error, with its fix, for a calendar that is not there or not shared."""
        return AccessError(
            f"mapping {mapping.name!r}: calendar {calendar!r} was not found, or {self.client.identity} cannot see it. "
            "Fix: check calendar_id or calendars (Google Calendar → Settings → Integrate calendar → Calendar ID) "
            f"and share the "
            f"calendar with {self.client.identity} with 'Make changes to events'"
        )

    def _read_only(self, mapping: Mapping, role: str, calendar: str) -> AccessError:
        return AccessError(
            f"mapping {mapping.name!r}: {self.client.identity} has only {role!r} access to calendar "
            f"{calendar!r}. Fix: share the calendar with {self.client.identity} with "
            "'Make changes to events'"
        )

    def prepare(self, mapping: Mapping) -> None:
        """Read each calendar's time zone and check that this identity may write events to it."""
        for calendar in mapping.settings.routed_calendars:
            try:
                info = self.calendar_info(mapping, calendar)
            except HttpError as exc:
                if http_status(exc) == 404:
                    raise self.missing_calendar(mapping, calendar) from None
                raise self.final_error(exc, calendar) from exc
            except Exception as exc:
                raise self.final_error(exc, calendar) from exc
            role = str(info.get("accessRole", ""))
            if role and role not in checks.WRITE_ROLES:
                raise self._read_only(mapping, role, calendar)
            self._zones[f"{mapping.name}\x00{calendar}"] = str(info.get("timeZone") or "UTC")

    def check(self, mapping: Mapping) -> list[CheckResult]:
        """Credentials work, the calendar exists, and this identity can write events to it."""
        return checks.check(self, mapping)

    def close(self) -> None:
        """Close the client's HTTP connections."""
        if self._client is not None:
            try:
                self._client.service.close()
            finally:
                self._client = None

    @classmethod
    def starter(cls, schema: dict[str, dict[str, Any]]) -> Starter:
        """What ``notion-sync init`` writes for a new mapping (see ``settings.starter``)."""
        return settings_starter(schema)

    @classmethod
    def emulated(cls) -> EmulatedTarget:
        """A running Google Calendar emulator with a demo calendar, for the demo and the conformance suite."""
        from notion_sync.connectors.google_calendar.target import EmulatedCalendar

        return EmulatedCalendar()
