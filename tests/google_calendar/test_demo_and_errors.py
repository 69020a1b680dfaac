"""The emulated target used by the demo and the conformance suite; the status → action table."""

from __future__ import annotations

import json

import httplib2
import pytest
from googleapiclient.errors import BatchError, HttpError
from rich.console import Console

from notion_sync.connectors.google_calendar.connector import GoogleCalendarConnector
from notion_sync.connectors.google_calendar.errors import classify
from notion_sync.connectors.google_calendar.settings import GoogleCalendarMapping, GoogleCalendarSettings
from notion_sync.core.adapter import MappingContext
from notion_sync.core.errors import AccessError, ItemError, RetryableError

from .conftest import date_prop, desired, make_row, select_prop


def test_emulated_target_round_trip() -> None:
    target = GoogleCalendarConnector.emulated()
    try:
        assert "{Name}" in target.mapping["fields"]["summary"]
        conn = GoogleCalendarConnector(GoogleCalendarSettings.model_validate(target.service_settings))
        mapping = MappingContext("demo", GoogleCalendarMapping.model_validate(target.mapping), "delete")
        conn.prepare(mapping)
        rows = [
            make_row("Write docs", due=date_prop("2026-03-10"), Priority=select_prop("High")),
            make_row("Standup", due=date_prop("2026-03-11T09:30:00.000+01:00")),
            make_row("Offsite", due=date_prop("2026-03-12", "2026-03-13")),
        ]
        refs = [conn.create(desired(conn, r, mapping), mapping) for r in rows]
        assert target.items() == {r.id: r.title for r in rows}
        from notion_sync.core.adapter import Link

        conn.delete(Link(rows[0].id, refs[0], None), "delete", mapping)
        assert set(target.items()) == {rows[1].id, rows[2].id}
        console = Console(width=120, record=True, color_system=None)
        console.print(target.render())
        text = console.export_text()
        assert "Wed 11 Mar 2026 09:30–10:30" in text and "Standup" in text
        assert "Thu 12 Mar 2026 – Fri 13 Mar, all day" in text and "Write docs" not in text
        conn.close()
    finally:
        target.close()


def http_error(status: int, reason: str = "", headers: dict[str, str] | None = None) -> HttpError:
    resp = httplib2.Response({"status": status, **(headers or {})})
    body = {
        "error": {"errors": [{"domain": "global", "reason": reason, "message": "m"}], "code": status, "message": "m"}
    }
    return HttpError(resp, json.dumps(body).encode())


@pytest.mark.parametrize(
    ("error", "kind"),
    [
        (http_error(401, "authError"), AccessError),
        (http_error(403, "rateLimitExceeded"), RetryableError),
        (http_error(403, "userRateLimitExceeded"), RetryableError),
        (http_error(429, "rateLimitExceeded"), RetryableError),
        (http_error(403, "requiredAccessLevel"), AccessError),
        (http_error(403, "forbidden"), AccessError),
        (http_error(500, "backendError"), RetryableError),
        (http_error(503), RetryableError),
        (http_error(400, "invalid"), ItemError),
        (http_error(404, "notFound"), ItemError),
        (http_error(409, "duplicate"), ItemError),
        (http_error(410, "deleted"), ItemError),
        (BatchError("Response not in multipart/mixed format."), RetryableError),
        (ConnectionResetError(), RetryableError),
        (httplib2.ServerNotFoundError("x"), RetryableError),
    ],
)
def test_status_to_action(error: Exception, kind: type) -> None:
    result = classify(error, identity="sa@p.iam.gserviceaccount.com", calendar_id="cal")
    assert type(result) is kind
    if isinstance(result, AccessError) and "403" in str(result):
        assert "share the calendar with sa@p.iam.gserviceaccount.com with 'Make changes to events'" in str(result)


def test_retry_after_is_honoured() -> None:
    result = classify(http_error(429, "rateLimitExceeded", {"retry-after": "7"}))
    assert isinstance(result, RetryableError) and result.retry_after == 7.0


def test_unknown_exceptions_pass_through() -> None:
    error = KeyError("bug")
    assert classify(error) is error
