"""The emulator, driven by the real google-api-python-client, answers like Google."""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import httplib2
import pytest
from google.auth.credentials import AnonymousCredentials
from googleapiclient.discovery import build
from googleapiclient.errors import HttpError
from googleapiclient.http import BatchHttpRequest

from notion_sync.connectors.google_calendar.emulator import GoogleCalendarEmulator
from notion_sync.connectors.google_calendar.errors import error_reason
from tests.support.shared import spec

from .conftest import CALENDAR

ALL_DAY = {"start": {"date": "2026-03-10"}, "end": {"date": "2026-03-11"}}


@pytest.fixture
def service(emulator: GoogleCalendarEmulator) -> Iterator[Any]:
    svc = build(
        "calendar",
        "v3",
        credentials=AnonymousCredentials(),
        static_discovery=True,
        client_options={"api_endpoint": emulator.api_endpoint},
    )
    yield svc
    svc.close()


def events(service: Any) -> Any:
    return service.events()


def insert(service: Any, **body: Any) -> dict[str, Any]:
    return dict(events(service).insert(calendarId=CALENDAR, body={**ALL_DAY, **body}).execute())


def status_of(call: Any) -> tuple[int, str, dict[str, Any]]:
    with pytest.raises(HttpError) as info:
        call.execute()
    return info.value.resp.status, error_reason(info.value), json.loads(info.value.content)


def test_insert_get_and_the_resource_shape(service: Any) -> None:
    created = insert(service, id="abcde12345", summary="Launch")
    assert created["id"] == "abcde12345" and created["status"] == "confirmed"
    assert created["kind"] == "calendar#event" and created["iCalUID"] == "abcde12345@google.com"
    got = events(service).get(calendarId=CALENDAR, eventId="abcde12345").execute()
    assert got == created


def test_generated_id_is_base32hex(service: Any) -> None:
    created = insert(service, summary="x")
    assert set(created["id"]) <= set("0123456789abcdefghijklmnopqrstuv") and len(created["id"]) >= 5


def test_error_body_has_googles_shape(service: Any) -> None:
    status, reason, body = status_of(events(service).get(calendarId=CALENDAR, eventId="nope00000"))
    assert status == 404 and reason == "notFound"
    assert set(body["error"]) == {"errors", "code", "message"}
    assert set(body["error"]["errors"][0]) >= {"domain", "reason", "message"}
    assert body["error"]["code"] == 404


def test_duplicate_id_is_409_even_after_delete(service: Any) -> None:
    insert(service, id="dup0000001")
    assert status_of(events(service).insert(calendarId=CALENDAR, body={**ALL_DAY, "id": "dup0000001"}))[:2] == (
        409,
        "duplicate",
    )
    events(service).delete(calendarId=CALENDAR, eventId="dup0000001").execute()
    assert status_of(events(service).insert(calendarId=CALENDAR, body={**ALL_DAY, "id": "dup0000001"}))[:2] == (
        409,
        "duplicate",
    )


def test_second_delete_is_410_and_get_shows_cancelled(service: Any) -> None:
    insert(service, id="del0000001")
    events(service).delete(calendarId=CALENDAR, eventId="del0000001").execute()
    status, reason, body = status_of(events(service).delete(calendarId=CALENDAR, eventId="del0000001"))
    assert (status, reason, body["error"]["message"]) == (410, "deleted", "Resource has been deleted")
    assert events(service).get(calendarId=CALENDAR, eventId="del0000001").execute()["status"] == "cancelled"


def test_purged_event_is_404_but_its_id_stays_reserved(emulator: GoogleCalendarEmulator, service: Any) -> None:
    insert(service, id="pur0000001")
    events(service).delete(calendarId=CALENDAR, eventId="pur0000001").execute()
    emulator.purge(CALENDAR, "pur0000001")
    assert status_of(events(service).get(calendarId=CALENDAR, eventId="pur0000001"))[0] == 404
    assert status_of(events(service).insert(calendarId=CALENDAR, body={**ALL_DAY, "id": "pur0000001"}))[0] == 409


@pytest.mark.parametrize("bad_id", ["abc", "UPPERCASE1", "has-dash-1", "wxyz12345", "x" * 1025])
def test_bad_ids_are_400(service: Any, bad_id: str) -> None:
    status, reason, body = status_of(events(service).insert(calendarId=CALENDAR, body={**ALL_DAY, "id": bad_id}))
    assert (status, body["error"]["message"]) == (400, "Invalid resource id value.")


@pytest.mark.parametrize(
    ("start", "end"),
    [
        ({"date": "2026-03-10"}, {"date": "2026-03-10"}),
        ({"date": "2026-03-10"}, {"date": "2026-03-09"}),
        ({"dateTime": "2026-03-10T10:00:00+01:00"}, {"dateTime": "2026-03-10T09:00:00+01:00"}),
        ({"dateTime": "2026-03-10T10:00:00+01:00"}, {"dateTime": "2026-03-10T09:00:00Z"}),
    ],
)
def test_empty_time_range_is_400(service: Any, start: dict, end: dict) -> None:
    status, reason, body = status_of(events(service).insert(calendarId=CALENDAR, body={"start": start, "end": end}))
    assert (status, body["error"]["message"]) == (400, "The specified time range is empty.")


def test_naive_datetime_needs_a_zone(service: Any) -> None:
    body = {"start": {"dateTime": "2026-03-10T10:00:00"}, "end": {"dateTime": "2026-03-10T11:00:00"}}
    status, _, payload = status_of(events(service).insert(calendarId=CALENDAR, body=body))
    assert status == 400 and "time zone" in payload["error"]["message"]
    body = {
        "start": {"dateTime": "2026-03-10T10:00:00", "timeZone": "Europe/Berlin"},
        "end": {"dateTime": "2026-03-10T11:00:00", "timeZone": "Europe/Berlin"},
    }
    assert events(service).insert(calendarId=CALENDAR, body=body).execute()["start"]["timeZone"] == "Europe/Berlin"


def test_patch_merges_objects_and_null_removes(service: Any) -> None:
    insert(
        service,
        id="pat0000001",
        summary="a",
        description="d",
        colorId="3",
        extendedProperties={"private": {"mine": "1", "theirs": "2"}},
    )
    patched = (
        events(service)
        .patch(
            calendarId=CALENDAR,
            eventId="pat0000001",
            body={
                "summary": "b",
                "colorId": None,
                "extendedProperties": {"private": {"mine": "9"}},
                "start": {"dateTime": "2026-03-10T10:00:00+01:00", "timeZone": "Europe/Berlin", "date": None},
                "end": {"dateTime": "2026-03-10T11:00:00+01:00", "timeZone": "Europe/Berlin", "date": None},
            },
        )
        .execute()
    )
    assert patched["summary"] == "b" and patched["description"] == "d" and "colorId" not in patched
    assert patched["extendedProperties"]["private"] == {"mine": "9", "theirs": "2"}
    assert patched["start"] == {"dateTime": "2026-03-10T10:00:00+01:00", "timeZone": "Europe/Berlin"}
    assert patched["sequence"] == 1


def test_patch_leaving_both_date_forms_is_400(service: Any) -> None:
    insert(service, id="pat0000002")
    call = events(service).patch(
        calendarId=CALENDAR,
        eventId="pat0000002",
        body={"start": {"dateTime": "2026-03-10T10:00:00+01:00"}, "end": {"dateTime": "2026-03-10T11:00:00+01:00"}},
    )
    assert status_of(call)[0] == 400


def test_update_replaces_and_can_restore_a_cancelled_event(service: Any) -> None:
    insert(service, id="upd0000001", summary="a", description="gone after PUT")
    events(service).delete(calendarId=CALENDAR, eventId="upd0000001").execute()
    updated = (
        events(service)
        .update(calendarId=CALENDAR, eventId="upd0000001", body={**ALL_DAY, "summary": "back", "status": "confirmed"})
        .execute()
    )
    assert updated["status"] == "confirmed" and "description" not in updated and updated["id"] == "upd0000001"


def test_list_filters_on_private_properties_and_hides_cancelled(service: Any) -> None:
    insert(service, id="lst0000001", extendedProperties={"private": {"m": "a", "p": "1"}})
    insert(service, id="lst0000002", extendedProperties={"private": {"m": "a", "p": "2"}})
    insert(service, id="lst0000003", extendedProperties={"private": {"m": "b", "p": "1"}})
    events(service).delete(calendarId=CALENDAR, eventId="lst0000002").execute()
    ids = lambda **kw: [e["id"] for e in events(service).list(calendarId=CALENDAR, **kw).execute()["items"]]  # noqa: E731
    assert ids(privateExtendedProperty="m=a") == ["lst0000001"]
    assert ids(privateExtendedProperty="m=a", showDeleted=True) == ["lst0000001", "lst0000002"]
    assert ids(privateExtendedProperty=["m=b", "p=1"]) == ["lst0000003"]
    assert ids(privateExtendedProperty=["m=a", "p=1"]) == ["lst0000001"]


def test_list_pages_and_reports_zone_and_role(service: Any) -> None:
    for i in range(5):
        insert(service, id=f"pag000000{i}")
    seen, token, pages = [], None, 0
    while True:
        page = events(service).list(calendarId=CALENDAR, maxResults=2, pageToken=token).execute()
        pages += 1
        seen += [e["id"] for e in page["items"]]
        assert page["timeZone"] == "Europe/Berlin" and page["accessRole"] == "owner"
        token = page.get("nextPageToken")
        if not token:
            assert "nextSyncToken" in page
            break
    assert pages == 3 and seen == [f"pag000000{i}" for i in range(5)]
    assert status_of(events(service).list(calendarId=CALENDAR, pageToken="garbage!"))[0] == 400


def test_list_time_window(service: Any) -> None:
    insert(service, id="tim0000001", start={"date": "2026-03-10"}, end={"date": "2026-03-11"})
    insert(
        service,
        id="tim0000002",
        start={"dateTime": "2026-03-12T10:00:00+01:00"},
        end={"dateTime": "2026-03-12T11:00:00+01:00"},
    )

    def window(a: str, b: str) -> list[str]:
        return [e["id"] for e in events(service).list(calendarId=CALENDAR, timeMin=a, timeMax=b).execute()["items"]]

    assert window("2026-03-10T12:00:00Z", "2026-03-12T09:30:00Z") == ["tim0000001", "tim0000002"]
    assert window("2026-03-11T00:00:00+01:00", "2026-03-12T10:00:00+01:00") == []
    status, _, body = status_of(
        events(service).list(calendarId=CALENDAR, timeMin="2026-03-12T00:00:00Z", timeMax="2026-03-11T00:00:00Z")
    )
    assert (status, body["error"]["message"]) == (400, "The specified time range is empty.")


def test_calendars_get_and_unknown_calendar(service: Any) -> None:
    calendar = service.calendars().get(calendarId=CALENDAR).execute()
    assert calendar["timeZone"] == "Europe/Berlin" and calendar["kind"] == "calendar#calendar"
    assert status_of(service.calendars().get(calendarId="other@example.com"))[0] == 404
    assert service.calendarList().get(calendarId=CALENDAR).execute()["accessRole"] == "owner"


def test_reader_cannot_write_and_hidden_calendar_is_404(emulator: GoogleCalendarEmulator, service: Any) -> None:
    emulator.set_access(CALENDAR, "reader")
    status, reason, _ = status_of(events(service).insert(calendarId=CALENDAR, body=ALL_DAY))
    assert (status, reason) == (403, "requiredAccessLevel")
    assert events(service).list(calendarId=CALENDAR).execute()["accessRole"] == "reader"
    emulator.set_access(CALENDAR, "none")
    assert status_of(events(service).list(calendarId=CALENDAR))[0] == 404


def test_bad_credentials_are_401_auth_error(emulator: GoogleCalendarEmulator) -> None:
    emulator.reject_credentials = True
    svc = build(
        "calendar",
        "v3",
        http=httplib2.Http(),
        static_discovery=True,
        client_options={"api_endpoint": emulator.api_endpoint},
    )
    status, reason, body = status_of(svc.events().list(calendarId=CALENDAR))
    assert (status, reason) == (401, "authError") and body["error"]["message"] == "Invalid Credentials"


@pytest.mark.parametrize(
    ("injected", "reason"), [(403, "rateLimitExceeded"), (429, "rateLimitExceeded"), (503, "backendError")]
)
def test_injected_faults_look_like_google(
    emulator: GoogleCalendarEmulator, service: Any, injected: int, reason: str
) -> None:
    emulator.faults.schedule(injected)
    status, got, body = status_of(events(service).list(calendarId=CALENDAR))
    assert (status, got) == (injected, reason)
    if injected != 503:
        assert body["error"]["errors"][0]["domain"] == "usageLimits"


def test_batch_replies_per_call_in_multipart(emulator: GoogleCalendarEmulator, service: Any) -> None:
    insert(service, id="bat0000001")
    replies: dict[str, tuple[Any, Any]] = {}
    batch = BatchHttpRequest(
        callback=lambda rid, resp, exc: replies.__setitem__(rid, (resp, exc)),
        batch_uri=f"{emulator.url}/batch/calendar/v3",
    )
    batch.add(events(service).insert(calendarId=CALENDAR, body={**ALL_DAY, "id": "bat0000002"}), request_id="new")
    batch.add(events(service).insert(calendarId=CALENDAR, body={**ALL_DAY, "id": "bat0000001"}), request_id="dup")
    batch.add(events(service).delete(calendarId=CALENDAR, eventId="bat0000001"), request_id="del")
    batch.add(events(service).get(calendarId=CALENDAR, eventId="bat0000002"), request_id="get")
    batch.execute()
    assert replies["new"][0]["id"] == "bat0000002" and replies["new"][1] is None
    assert replies["dup"][1].resp.status == 409 and error_reason(replies["dup"][1]) == "duplicate"
    assert replies["del"] == ("", None) or replies["del"][1] is None
    assert replies["get"][0]["id"] == "bat0000002"
    assert emulator.server.request_count(r"^POST /batch/calendar/v3$") == 1
    assert emulator.event(CALENDAR, "bat0000001")["status"] == "cancelled"


def test_faults_apply_to_calls_inside_a_batch(emulator: GoogleCalendarEmulator, service: Any) -> None:
    emulator.faults.schedule(429, path=r"/events$", method="POST")
    replies: dict[str, Any] = {}
    batch = BatchHttpRequest(
        callback=lambda rid, resp, exc: replies.__setitem__(rid, exc), batch_uri=f"{emulator.url}/batch/calendar/v3"
    )
    for i in range(3):
        batch.add(
            events(service).insert(calendarId=CALENDAR, body={**ALL_DAY, "id": f"baf000000{i}"}), request_id=str(i)
        )
    batch.execute()
    failed = [rid for rid, exc in replies.items() if exc is not None]
    assert len(failed) == 1 and replies[failed[0]].resp.status == 429
    assert len(emulator.events(CALENDAR)) == 2


def test_token_endpoint_and_bearer_tokens(emulator: GoogleCalendarEmulator) -> None:
    emulator.tokens = set()
    http = httplib2.Http()
    resp, content = http.request(
        f"{emulator.url}/token",
        "POST",
        body="grant_type=refresh_token&refresh_token=r",
        headers={"content-type": "application/x-www-form-urlencoded"},
    )
    token = json.loads(content)["access_token"]
    assert resp.status == 200 and token in emulator.tokens
    resp, _ = http.request(
        f"{emulator.api_endpoint}calendars/{CALENDAR}/events", "GET", headers={"authorization": f"Bearer {token}"}
    )
    assert resp.status == 200
    resp, _ = http.request(
        f"{emulator.api_endpoint}calendars/{CALENDAR}/events", "GET", headers={"authorization": "Bearer wrong"}
    )
    assert resp.status == 401
    emulator.revoked = True
    resp, content = http.request(
        f"{emulator.url}/token",
        "POST",
        body="grant_type=refresh_token&refresh_token=r",
        headers={"content-type": "application/x-www-form-urlencoded"},
    )
    assert resp.status == 400 and json.loads(content)["error"] == "invalid_grant"


# -- against the official discovery document (in ../shared, absent in users' clones) ---------------
def _discovery() -> dict[str, Any]:
    return dict(json.loads(spec("google-calendar-v3-discovery.json").read_text(encoding="utf-8")))


def _check(value: Any, schema: dict[str, Any], schemas: dict[str, Any], where: str) -> None:
    if "$ref" in schema:
        schema = schemas[schema["$ref"]]
    kind = schema.get("type")
    if kind == "object":
        assert isinstance(value, dict), where
        props = schema.get("properties", {})
        extra = schema.get("additionalProperties")
        for key, item in value.items():
            if key in props:
                _check(item, props[key], schemas, f"{where}.{key}")
            else:
                assert extra is not None, f"{where}.{key} is not in the discovery document"
                _check(item, extra, schemas, f"{where}.{key}")
    elif kind == "array":
        assert isinstance(value, list), where
        for i, item in enumerate(value):
            _check(item, schema["items"], schemas, f"{where}[{i}]")
    elif kind == "string":
        assert isinstance(value, str), where
        if "enum" in schema:
            assert value in schema["enum"], where
    elif kind == "integer":
        assert isinstance(value, int), where
    elif kind == "boolean":
        assert isinstance(value, bool), where


def test_resources_match_the_discovery_document(emulator: GoogleCalendarEmulator, service: Any) -> None:
    doc = _discovery()
    schemas = doc["schemas"]
    event = insert(
        service,
        id="dis0000001",
        summary="s",
        description="d",
        location="l",
        colorId="4",
        reminders={"useDefault": False, "overrides": [{"method": "popup", "minutes": 5}]},
        source={"title": "Notion", "url": "https://notion.so/x"},
        extendedProperties={"private": {"k": "v"}},
        start={"dateTime": "2026-03-10T10:00:00+01:00", "timeZone": "Europe/Berlin"},
        end={"dateTime": "2026-03-10T11:00:00+01:00", "timeZone": "Europe/Berlin"},
    )
    _check(event, schemas["Event"], schemas, "Event")
    _check(events(service).list(calendarId=CALENDAR).execute(), schemas["Events"], schemas, "Events")
    _check(service.calendars().get(calendarId=CALENDAR).execute(), schemas["Calendar"], schemas, "Calendar")
    _check(
        service.calendarList().get(calendarId=CALENDAR).execute(),
        schemas["CalendarListEntry"],
        schemas,
        "CalendarListEntry",
    )
    assert event["kind"] == schemas["Event"]["properties"]["kind"]["default"]


def test_emulated_paths_are_the_documents(emulator: GoogleCalendarEmulator) -> None:
    doc = _discovery()
    assert doc["batchPath"] == "batch/calendar/v3"
    assert emulator.api_endpoint.endswith("/" + doc["servicePath"])
    methods = doc["resources"]["events"]["methods"]
    assert {methods[m]["path"] for m in ("insert", "list")} == {"calendars/{calendarId}/events"}
    assert {methods[m]["path"] for m in ("get", "update", "patch", "delete")} == {
        "calendars/{calendarId}/events/{eventId}"
    }
    params = methods["list"]["parameters"]
    for name in ("privateExtendedProperty", "showDeleted", "pageToken", "maxResults", "timeMin", "timeMax"):
        assert name in params
    assert params["maxResults"]["default"] == "250"
