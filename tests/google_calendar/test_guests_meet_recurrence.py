"""Google Calendar guests, Meet links and recurrence through the CLI, against the emulators."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from typer.testing import CliRunner

from notion_sync.connectors.google_calendar.connector import GoogleCalendarConnector
from notion_sync.connectors.google_calendar.emulator import GoogleCalendarEmulator
from notion_sync.connectors.google_calendar.target import DEMO_CALENDAR
from notion_sync.core.cli import app
from notion_sync.core.sandbox import Sandbox

runner = CliRunner()
ADA = [{"name": "Ada", "email": "ada@example.com"}]
ROWS: list[dict[str, Any]] = [
    {"Name": "Standup", "Due": "2026-03-10T09:00:00.000+01:00", "Owner": ADA, "Notes": "FREQ=WEEKLY;BYDAY=MO,WE"},
    {
        "Name": "Review",
        "Due": "2026-03-11",
        "Owner": [{"name": "Grace", "email": "grace@example.com"}],
        "Notes": "monthly",
    },
    {"Name": "Broken", "Due": "2026-03-12", "Notes": "every tuesday"},
]


def sandbox(tmp_path: Path, **mapping: Any) -> Sandbox:
    fields = {"summary": "{Name}", "start": "Due", "attendees": "Owner", "recurrence": "Notes"}
    return Sandbox(
        tmp_path,
        connectors={"google_calendar": GoogleCalendarConnector},
        rows=ROWS,
        mapping_overrides={"google_calendar": {"conference": True, "fields": fields, **mapping}},
    )


@pytest.fixture
def box(tmp_path: Path) -> Iterator[Sandbox]:
    with sandbox(tmp_path) as made:
        yield made


def cli(box: Sandbox, *args: str) -> Any:
    return runner.invoke(app, [*args, "--config", str(box.config_path)], catch_exceptions=False, obj=box.discovery)


def events(box: Sandbox) -> dict[str, dict[str, Any]]:
    return {e["summary"]: e for e in box.targets["google_calendar"].emulator.events(DEMO_CALENDAR)}


def meet(event: dict[str, Any]) -> str:
    return str(event["conferenceData"]["entryPoints"][0]["uri"])


def test_guests_meet_and_recurrence_are_written_and_a_bad_rule_fails_its_row(box: Sandbox) -> None:
    result = cli(box, "run")
    assert result.exit_code == 1  # the one bad rule
    assert "'every tuesday'" in result.output and "Notes" in result.output
    standup, review = events(box)["Standup"], events(box)["Review"]
    assert standup["recurrence"] == ["RRULE:FREQ=WEEKLY;BYDAY=MO,WE"]
    assert review["recurrence"] == ["RRULE:FREQ=MONTHLY"]
    assert [a["email"] for a in standup["attendees"]] == ["ada@example.com"]
    assert meet(standup).startswith("https://meet.google.com/") and meet(standup) != meet(review)
    assert box.targets["google_calendar"].emulator.invitations == []  # send_updates = "none"


def test_an_update_keeps_the_meet_link_and_the_guests_a_person_added(box: Sandbox) -> None:
    assert box.database is not None
    cli(box, "run")
    emulator = box.targets["google_calendar"].emulator
    standup = events(box)["Standup"]
    link = meet(standup)
    emulator.edit_event(
        DEMO_CALENDAR, standup["id"], {"attendees": [*standup["attendees"], {"email": "bob@example.com"}]}
    )

    box.notion.update_page(box.database.pages["Standup"], {"Name": "Standup!", "Notes": "daily"})
    result = cli(box, "run")
    assert "1 updated" in result.output, result.output
    edited = events(box)["Standup!"]
    assert edited["recurrence"] == ["RRULE:FREQ=DAILY"]  # the series is edited
    assert sorted(a["email"] for a in edited["attendees"]) == ["ada@example.com", "bob@example.com"]
    assert meet(edited) == link

    box.notion.update_page(box.database.pages["Standup"], {"Owner": [{"name": "Grace", "email": "grace@example.com"}]})
    cli(box, "run")
    assert sorted(a["email"] for a in events(box)["Standup!"]["attendees"]) == ["bob@example.com", "grace@example.com"]
    assert meet(events(box)["Standup!"]) == link


def test_send_updates_all_invites_the_guests(tmp_path: Path) -> None:
    with sandbox(tmp_path, send_updates="all") as box:
        cli(box, "run")
        invited = sorted(email for _, _, email in box.targets["google_calendar"].emulator.invitations)
    assert invited == ["ada@example.com", "grace@example.com"]


def test_audit_names_the_email_capability(box: Sandbox) -> None:
    result = cli(box, "audit")
    assert "email" in result.output.lower(), result.output


def test_emulator_ignores_a_conference_request_without_conference_data_version_1() -> None:
    emulator = GoogleCalendarEmulator().start()
    try:
        emulator.add_calendar("c@example.com", time_zone="UTC")
        body = {
            "summary": "x",
            "start": {"date": "2026-03-10"},
            "end": {"date": "2026-03-11"},
            "conferenceData": {"createRequest": {"requestId": "r1", "conferenceSolutionKey": {"type": "hangoutsMeet"}}},
        }
        url = f"{emulator.api_endpoint}calendars/c@example.com/events"
        ignored = httpx.post(url, json=body).json()
        assert "conferenceData" not in ignored
        made = httpx.post(url, params={"conferenceDataVersion": "1"}, json=body).json()
        assert made["conferenceData"]["createRequest"]["status"] == {"statusCode": "success"}
        again = httpx.patch(
            f"{url}/{made['id']}",
            params={"conferenceDataVersion": "1"},
            json={"summary": "y", **{"conferenceData": body["conferenceData"]}},
        ).json()
        assert again["conferenceData"]["conferenceId"] == made["conferenceData"]["conferenceId"]  # same requestId
        bad = httpx.post(url, json={**body, "recurrence": ["RRULE:FREQ=SOMETIMES"]})
        assert bad.status_code == 400
    finally:
        emulator.stop()
