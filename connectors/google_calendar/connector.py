"""The Google Calendar connector: one Notion row, one event, exactly once.

Every write is a small *flow*: a generator that yields the API calls it needs and
receives their replies (or has their errors thrown in). ``create``/``update``/
``delete`` run one flow call by call; ``apply`` runs up to 50 flows side by side,
sending each round of calls as one Google batch request and retrying only the
calls that failed with a retryable error. The logic of 409s, restores and
already-deleted events therefore lives in one place for both paths.
"""

from __future__ import annotations

import logging
import random
import time
from collections.abc import Callable, Generator, Iterator, Sequence
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
    UpdateOperation,
    call_with_retry,
    pace_key,
)

from . import checks, spec
from .client import CalendarClient, build_client
from .errors import classify, error_message, http_status
from .markers import MAPPING_KEY, PAGE_KEY, event_id, event_markers
from .render import comparable_event, event_body, found_payload, render_event
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
    Settings = spec.Settings
    MappingSettings = spec.MappingSettings
    on_delete_modes = spec.on_delete_modes
    batch_size = 50

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
        return self.client.service.events()

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
    def _zone(self, mapping: Mapping) -> str:
        zone = mapping.settings.time_zone or self._zones.get(mapping.name)
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
        return render_event(row, mapping.settings, lambda: self._zone(mapping))

    @staticmethod
    def _ref(event: dict[str, Any], calendar_id: str) -> ExternalRef:
        return ExternalRef(str(event["id"]), {"calendar_id": calendar_id})

    # -- flows ------------------------------------------------------------------------
    def _create_flow(self, item: DesiredItem, mapping: Mapping) -> Flow:
        calendar = mapping.settings.calendar_id
        body = event_body(item, mapping.name)
        for generation in range(MAX_GENERATIONS):
            eid = event_id(mapping.name, item.page_id, generation)
            try:
                event = yield self._events.insert(calendarId=calendar, body={**body, "id": eid})
                return self._ref(event, calendar)
            except HttpError as exc:
                if http_status(exc) == 404:
                    # An insert only 404s when the calendar itself is gone or unshared.
                    raise self.missing_calendar(mapping) from None
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
                event = yield self._events.patch(calendarId=calendar, eventId=eid, body=body)
                return self._ref(event, calendar)
            except HttpError as exc:
                if http_status(exc) not in (404, 409, 410):
                    raise
                log.info(
                    "event %s of page %s cannot be restored (%s); using a new id", eid, item.page_id, error_message(exc)
                )
        event = yield self._events.insert(calendarId=calendar, body=body)
        return self._ref(event, calendar)

    def _update_flow(self, link: Link, item: DesiredItem, mapping: Mapping) -> Flow:
        calendar = mapping.settings.calendar_id
        old_calendar = link.ref.extra.get("calendar_id", calendar)
        if old_calendar != calendar:
            # The mapping moved to another calendar: write there, then remove the old event.
            ref = yield from self._create_flow(item, mapping)
            try:
                yield self._events.delete(calendarId=old_calendar, eventId=link.ref.id)
            except HttpError as exc:
                if http_status(exc) not in (403, 404, 410):
                    raise
            return ref
        try:
            # status "confirmed" in the body also restores an event deleted in Google or archived.
            event = yield self._events.patch(
                calendarId=calendar, eventId=link.ref.id, body=event_body(item, mapping.name)
            )
            return self._ref(event, calendar)
        except HttpError as exc:
            if http_status(exc) not in (404, 410):
                raise
        return (yield from self._create_flow(item, mapping))

    def _delete_flow(self, link: Link, mapping: Mapping) -> Flow:
        calendar = link.ref.extra.get("calendar_id", mapping.settings.calendar_id)
        try:
            yield self._events.delete(calendarId=calendar, eventId=link.ref.id)
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
            self._create_flow(item, mapping), f"create event for {item.page_id}", mapping.settings.calendar_id
        )
        assert ref is not None
        return ref

    def update(self, link: Link, item: DesiredItem, mapping: Mapping) -> ExternalRef:
        """Patch the fields the mapping owns (and restore the event if it was deleted)."""
        ref = self._run(
            self._update_flow(link, item, mapping), f"update event {link.ref.id}", mapping.settings.calendar_id
        )
        assert ref is not None
        return ref

    def delete(self, link: Link, mode: str, mapping: Mapping) -> ExternalRef | None:
        """Delete the event (``delete`` is the only mode the engine passes). Already gone counts as done."""
        return self._run(self._delete_flow(link, mapping), f"delete event {link.ref.id}", mapping.settings.calendar_id)

    def apply(self, operations: Sequence[Operation], mapping: Mapping) -> Iterator[OperationResult]:
        """Run the operations side by side, each round of calls as one batch request.

        A call that fails with a retryable error (rate limit, 5xx) is sent again in a
        later round, alone with the other failed ones, after a backoff; the others go on.
        """
        calendar = mapping.settings.calendar_id
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
            sent = dict(pending)
            pending.clear()
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
            for _ in pending:
                self._pacer.wait(self._pace_key)
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
        calendar = mapping.settings.calendar_id
        wanted = {item.page_id for item in items}
        key = (calendar, mapping.name)
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
        for constraints in queries:
            for event in self._list(calendar, constraints):
                page = event_markers(event).get(PAGE_KEY)
                if page in wanted and page not in found:
                    found[page] = self._found(event, calendar, mapping)
        return found

    def _found(self, event: dict[str, Any], calendar_id: str, mapping: Mapping) -> ExternalRef:
        """A ref to an event ``recover`` read, with what it holds (``found``) to compare."""
        return ExternalRef(str(event["id"]), {"calendar_id": calendar_id}, found=found_payload(event, mapping.settings))

    def list_marked(self, mapping: Mapping) -> dict[str, ExternalRef]:
        """Every live event carrying this mapping's marker, in one listing (kept for the run)."""
        calendar = mapping.settings.calendar_id
        key = (calendar, mapping.name)
        if key not in mapping.run_cache:
            listed: dict[str, ExternalRef] = {}
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

    # -- prepare and check ------------------------------------------------------------
    def calendar_info(self, mapping: Mapping) -> dict[str, Any]:
        """One cheap ``events.list``: its reply carries the calendar's time zone and our access role.

        ``calendars.get`` and ``calendarList`` would need a wider scope than
        ``calendar.events``; ``events.list`` does not.
        """
        calendar = mapping.settings.calendar_id
        request = self._events.list(
            calendarId=calendar, maxResults=1, privateExtendedProperty=[f"{MAPPING_KEY}={mapping.name}"]
        )
        return dict(self._call(request, f"read calendar {calendar}"))

    def missing_calendar(self, mapping: Mapping) -> AccessError:
        """The error, with its fix, for a calendar that is not there or not shared."""
        calendar = mapping.settings.calendar_id
        return AccessError(
            f"mapping {mapping.name!r}: calendar {calendar!r} was not found, or {self.client.identity} cannot see it. "
            f"Fix: check calendar_id (Google Calendar → Settings → Integrate calendar → Calendar ID) and share the "
            f"calendar with {self.client.identity} with 'Make changes to events'"
        )

    def _read_only(self, mapping: Mapping, role: str) -> AccessError:
        return AccessError(
            f"mapping {mapping.name!r}: {self.client.identity} has only {role!r} access to calendar "
            f"{mapping.settings.calendar_id!r}. Fix: share the calendar with {self.client.identity} with "
            "'Make changes to events'"
        )

    def prepare(self, mapping: Mapping) -> None:
        """Read the calendar's time zone and check that this identity may write events to it."""
        try:
            info = self.calendar_info(mapping)
        except HttpError as exc:
            if http_status(exc) == 404:
                raise self.missing_calendar(mapping) from None
            raise self.final_error(exc, mapping.settings.calendar_id) from exc
        except Exception as exc:
            raise self.final_error(exc, mapping.settings.calendar_id) from exc
        role = str(info.get("accessRole", ""))
        if role and role not in checks.WRITE_ROLES:
            raise self._read_only(mapping, role)
        self._zones[mapping.name] = str(info.get("timeZone") or "UTC")

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
