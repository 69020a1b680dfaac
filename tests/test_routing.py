"""Routing by property through the CLI: Google ``calendar_from``/``calendars`` and Slack
``channel_from``/``channels``, the fallback, skipped rows, moves (one killed halfway) and ``check``."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from typer.testing import CliRunner

from notion_sync.connectors.google_calendar.connector import GoogleCalendarConnector
from notion_sync.connectors.slack.connector import SlackConnector
from notion_sync.core.cli import app
from notion_sync.core.sandbox import Sandbox
from notion_sync.core.state import StateStore

runner = CliRunner()
REPO = Path(__file__).resolve().parents[1]
ENG, DESIGN = "eng@group.calendar.google.com", "design@group.calendar.google.com"

# The CLI in a process that SIGKILLs itself when it sends its first DELETE to Google: after a
# move created the event in the new calendar, before the old one is removed.
KILL_ON_DELETE = """
import os, signal, sys
from googleapiclient.http import HttpRequest
original = HttpRequest.execute
def execute(self, *args, **kwargs):
    if self.method == "DELETE":
        os.kill(os.getpid(), signal.SIGKILL)
    return original(self, *args, **kwargs)
HttpRequest.execute = execute
from notion_sync.core.cli import main
sys.argv = ["notion-sync", "run", "--quiet", "--config", sys.argv[1]]
main()
"""


def cli(box: Sandbox, *args: str) -> Any:
    return runner.invoke(app, [*args, "--config", str(box.config_path)], catch_exceptions=False, obj=box.discovery)


@pytest.fixture
def google(tmp_path: Path) -> Iterator[Sandbox]:
    routing = {"calendar_from": "Priority", "calendars": {"High": ENG, "Medium": DESIGN}}
    with Sandbox(
        tmp_path,
        connectors={"google_calendar": GoogleCalendarConnector},
        mapping_overrides={"google_calendar": routing},
    ) as box:
        emulator = box.targets["google_calendar"].emulator
        emulator.add_calendar(ENG, summary="Eng", time_zone="Europe/Berlin")
        emulator.add_calendar(DESIGN, summary="Design", time_zone="America/New_York")
        data = box.config_data()
        del data["mappings"][0]["calendar_id"]  # no fallback: a Low row is skipped
        box.write_config(data)
        yield box


def summaries(box: Sandbox, calendar: str) -> list[str]:
    return sorted(e["summary"] for e in box.targets["google_calendar"].emulator.events(calendar))


def test_google_routes_each_row_to_its_calendar_and_skips_a_row_without_one(google: Sandbox) -> None:
    result = cli(google, "run")
    assert result.exit_code == 0, result.output
    # High: two rows, Medium: two, Low: two (no calendar: skipped, counted).
    assert summaries(google, ENG) == ["Fix login timeout", "Ship the release notes"]
    assert summaries(google, DESIGN) == ["Customer call: Acme", "Write onboarding guide"]
    assert "4 created" in result.stdout and "2 skipped, 0 failed" in result.stdout, result.stdout


def test_google_a_routing_change_moves_the_event_once(google: Sandbox) -> None:
    assert google.database is not None
    cli(google, "run")
    google.notion.update_page(google.database.pages["Fix login timeout"], {"Priority": "Medium"})
    result = cli(google, "run")
    assert "1 updated" in result.stdout, result.stdout
    assert summaries(google, ENG) == ["Ship the release notes"]
    assert summaries(google, DESIGN) == ["Customer call: Acme", "Fix login timeout", "Write onboarding guide"]
    assert "0 created, 0 updated" in cli(google, "run", "--full").stdout


def test_google_a_move_killed_halfway_leaves_no_duplicate(google: Sandbox) -> None:
    assert google.database is not None
    cli(google, "run")
    google.notion.update_page(google.database.pages["Fix login timeout"], {"Priority": "Medium"})
    env = {**os.environ, "PYTHONPATH": str(REPO) + os.pathsep + os.environ.get("PYTHONPATH", "")}
    killed = subprocess.run(
        [sys.executable, "-c", KILL_ON_DELETE, str(google.config_path)], env=env, capture_output=True, timeout=120
    )
    assert killed.returncode == -signal.SIGKILL, killed.stderr
    # Killed between the two writes: the new event exists, the old one too, and the intent says so.
    assert "Fix login timeout" in summaries(google, ENG) and "Fix login timeout" in summaries(google, DESIGN)
    state = StateStore.open(google.state_path, readonly=True)
    try:
        assert state.pending_intents(google.mapping_name("google_calendar"))
    finally:
        state.close()

    result = cli(google, "run")
    assert result.exit_code == 0, result.output
    assert summaries(google, ENG) == ["Ship the release notes"]
    assert summaries(google, DESIGN) == ["Customer call: Acme", "Fix login timeout", "Write onboarding guide"]
    assert "0 created, 0 updated" in cli(google, "run", "--full").stdout


def test_check_verifies_every_routed_calendar(google: Sandbox) -> None:
    result = cli(google, "check")
    assert result.exit_code == 0, result.output
    assert ENG in result.output and DESIGN in result.output
    data = google.config_data()
    del data["mappings"][0]["calendar_id"]
    data["mappings"][0]["calendars"]["Low"] = "nowhere@group.calendar.google.com"
    google.write_config(data)
    failed = cli(google, "check")
    assert failed.exit_code == 3 and "nowhere@group.calendar.google.com" in failed.output


@pytest.fixture
def slack(tmp_path: Path) -> Iterator[Sandbox]:
    routing = {"channel_from": "Priority", "channels": {"High": "#eng", "Medium": "#design"}}
    with Sandbox(tmp_path, connectors={"slack": SlackConnector}, mapping_overrides={"slack": routing}) as box:
        emulator = box.targets["slack"].emulator
        box.channels = {"eng": emulator.add_channel("eng"), "design": emulator.add_channel("design")}  # type: ignore[attr-defined]
        yield box


def titles(box: Sandbox, channel: str) -> list[str]:
    target = box.targets["slack"]
    channel_id = target.channel_id if channel == "fallback" else box.channels[channel]  # type: ignore[attr-defined]
    return sorted(m.text for m in target.emulator.messages(channel_id))


def test_slack_routes_each_row_with_the_channel_fallback_and_moves_it(slack: Sandbox) -> None:
    assert slack.database is not None
    result = cli(slack, "run")
    assert result.exit_code == 0, result.output
    assert titles(slack, "eng") == ["Fix login timeout", "Ship the release notes"]
    assert titles(slack, "design") == ["Customer call: Acme", "Write onboarding guide"]
    assert titles(slack, "fallback") == ["Offsite planning", "Triage backlog"]  # Low: the fallback

    slack.notion.update_page(slack.database.pages["Fix login timeout"], {"Priority": "Low"})
    moved = cli(slack, "run")
    assert "1 updated" in moved.stdout, moved.stdout
    assert titles(slack, "eng") == ["Ship the release notes"]
    assert "Fix login timeout" in titles(slack, "fallback")
    assert "0 created, 0 updated" in cli(slack, "run", "--full").stdout

    checked = cli(slack, "check")
    assert checked.exit_code == 0, checked.output
    assert "#eng" in checked.output and "#design" in checked.output and "#notion-sync" in checked.output
