"""The emulator base every emulator shares: lifecycle, the clock, the fault knobs, and what the
emulators may import (no connector code: an emulator is the oracle a connector is checked against)."""

from __future__ import annotations

import ast
from datetime import UTC, datetime, timedelta
from pathlib import Path

import httpx
import pytest
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from notion_sync.connectors.google_calendar.emulator import GoogleCalendarEmulator
from notion_sync.connectors.google_calendar.emulator.events import valid_event_id
from notion_sync.connectors.slack.emulator import SlackEmulator
from notion_sync.connectors.trello.emulator import TrelloEmulator
from notion_sync.core.emulator.base import ServiceEmulator
from notion_sync.core.emulator.clock import EmulatorClock
from notion_sync.core.emulator.notion import NotionEmulator
from notion_sync.core.plugins import discover

REPO = Path(__file__).resolve().parents[2]
EMULATOR_DIRS = [
    REPO / "core" / "emulator",
    *sorted((REPO / "connectors").glob("*/emulator")),
    REPO / "examples" / "webhook-connector" / "notion_sync_webhook" / "emulator",
]
MOMENT = datetime(2026, 3, 1, 9, 30, tzinfo=UTC)


class EchoEmulator(ServiceEmulator):
    """The smallest emulator: one route, its own 429."""

    def __init__(self) -> None:
        super().__init__(Starlette(routes=[Route("/echo", self._echo)]))

    async def _echo(self, request: Request) -> Response:
        return JSONResponse({"now": self.now().isoformat()})

    def fault_response(self, status: int, request: Request) -> Response:
        return JSONResponse({"error": "slow down"}, status_code=status, headers={"Retry-After": "7"})


def test_the_clock_follows_real_time_until_it_is_set_then_only_moves_when_told() -> None:
    clock = EmulatorClock()
    assert not clock.frozen and abs(clock.now() - datetime.now(UTC)) < timedelta(seconds=5)
    clock.set(datetime(2026, 3, 1, 9, 30))  # naive means UTC
    assert clock.frozen and clock.now() == MOMENT
    clock.advance(minutes=2)
    assert clock.now() == MOMENT + timedelta(minutes=2)
    assert clock.timestamp() == (MOMENT + timedelta(minutes=2)).timestamp()
    clock.set(None)
    assert not clock.frozen


def test_a_running_clock_is_frozen_by_advance() -> None:
    clock = EmulatorClock()
    before = datetime.now(UTC)
    clock.advance(hours=1)
    assert clock.frozen and clock.now() >= before + timedelta(hours=1)


def test_lifecycle_faults_and_clock_come_from_the_base() -> None:
    emulator = EchoEmulator()
    assert emulator.port == 0
    with emulator:
        assert emulator.port and emulator.base_url == f"http://127.0.0.1:{emulator.port}"
        emulator.set_clock(MOMENT)
        assert httpx.get(emulator.base_url + "/echo").json() == {"now": MOMENT.isoformat()}
        emulator.faults.schedule(429)
        limited = httpx.get(emulator.base_url + "/echo")
        assert limited.status_code == 429 and limited.headers["retry-after"] == "7"
        assert emulator.faults.injected["429"] == 1 and emulator.requests["GET /echo"] == 2
        emulator.faults.retry_after = 0.0
        emulator.reset_server()
        assert emulator.faults.retry_after == 1.0 and not emulator.faults.injected and not emulator.requests


@pytest.mark.parametrize("cls", [NotionEmulator, GoogleCalendarEmulator, TrelloEmulator, SlackEmulator])
def test_every_built_in_emulator_is_a_service_emulator(cls: type[ServiceEmulator]) -> None:
    assert issubclass(cls, ServiceEmulator)


def test_every_emulated_target_exposes_its_emulators_faults() -> None:
    for name, cls in discover().load_all().items():
        target = cls.emulated()
        if target is None:
            continue
        try:
            assert target.faults is target.emulator.faults, name
            assert isinstance(target.emulator, ServiceEmulator), name
        finally:
            target.close()


SHARED_WITH_THE_ENGINE = "notion_sync.core.notion_filters"


def test_emulators_import_no_connector_code() -> None:
    for folder in EMULATOR_DIRS:
        for path in folder.rglob("*.py"):
            for node in ast.walk(ast.parse(path.read_text())):
                if isinstance(node, ast.ImportFrom) and node.level > 1 and path.parent.name == "emulator":
                    pytest.fail(f"{path} reaches out of its package: {'.' * node.level}{node.module or ''}")
                names = (
                    [a.name for a in node.names]
                    if isinstance(node, ast.Import)
                    else [node.module or ""]
                    if isinstance(node, ast.ImportFrom) and node.level == 0
                    else []
                )
                for name in names:
                    ours = name == "notion_sync_webhook" or name.startswith(("notion_sync.", "notion_sync_webhook."))
                    # The one shared module: Notion's filter language, evaluated by the emulator's
                    # queries and by the engine's shared reads (issue 18). Its semantics are pinned
                    # by hand-written expected rows (FILTER_CASES in tests/notion_emulator/test_query.py),
                    # not by comparing the two users of the evaluator.
                    allowed = name in ("notion_sync.sdk", SHARED_WITH_THE_ENGINE) or name.startswith(
                        "notion_sync.core.emulator"
                    )
                    assert not ours or allowed, f"{path} imports {name}"


@pytest.mark.parametrize(
    ("candidate", "ok"),
    [
        ("abcde", True),
        ("0123456789abcdefghijklmnopqrstuv", True),
        ("a" * 1024, True),
        ("abcd", False),
        ("a" * 1025, False),
        ("abcdw", False),
        ("ABCDE", False),
        ("abc-de", False),
        ("abcde\n", False),
        (12345, False),
    ],
)
def test_the_google_emulators_event_id_rule_is_googles(candidate: object, ok: bool) -> None:
    """Base32hex (a-v, 0-9), 5 to 1,024 characters: the discovery document's ``Event.id``."""
    assert valid_event_id(candidate) is ok


def test_slack_and_google_and_trello_timestamps_follow_the_emulators_clock() -> None:
    slack = SlackEmulator()
    slack.set_clock(MOMENT)
    channel = slack.add_channel("general")
    assert slack.channels[channel].created == int(MOMENT.timestamp())
    first, second = slack._next_ts(), slack._next_ts()
    assert float(first) == MOMENT.timestamp() and float(second) > float(first)

    google = GoogleCalendarEmulator()
    google.set_clock(MOMENT)
    google.add_calendar("c@example.com")
    event = google.put_event("c@example.com", {"start": {"date": "2026-03-02"}, "end": {"date": "2026-03-03"}})
    assert event["created"] == event["updated"] == "2026-03-01T09:30:00.000Z"

    trello = TrelloEmulator()
    trello.set_clock(MOMENT)
    assert trello._timestamp() == "2026-03-01T09:30:00.000Z"
