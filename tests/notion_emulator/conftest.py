"""Fixtures for the Notion emulator tests: a running emulator, the real client, the demo database."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime

import notion_client
import pytest

from core.emulator.notion import Database, NotionEmulator
from tests.support.shared import shared_reference  # noqa: F401 - re-exported for the spec tests

START = datetime(2026, 7, 4, 9, 9, 44, 123000, tzinfo=UTC)
"""The frozen clock every test starts at (the minute of the real recordings)."""

DEMO_SCHEMA = {
    "Name": {"type": "title"},
    "Status": {"type": "status", "options": [
        {"name": "Not started", "color": "default", "group": "To-do"},
        {"name": "In progress", "color": "blue", "group": "In progress"},
        {"name": "Done", "color": "green", "group": "Complete"}]},
    "Due": {"type": "date"},
    "Tags": {"type": "multi_select", "options": [
        {"name": "Bug", "color": "red"}, {"name": "Feature", "color": "blue"}, {"name": "Docs", "color": "green"}]},
    "Notes": {"type": "rich_text"},
    "Owner": {"type": "people"},
    "Priority": {"type": "select", "options": [
        {"name": "High", "color": "red"}, {"name": "Medium", "color": "yellow"}, {"name": "Low", "color": "gray"}]},
    "Urgent": {"type": "checkbox"},
    "Estimate": {"type": "number"},
}


@pytest.fixture(scope="session")
def running_emulator() -> Iterator[NotionEmulator]:
    """One server for the whole session: a restart costs a uvicorn shutdown (~0.2 s)."""
    with NotionEmulator(seed=7) as emulator:
        yield emulator


@pytest.fixture
def emu(running_emulator: NotionEmulator) -> NotionEmulator:
    """The running emulator, reset to a new one's state, with its clock frozen at :data:`START`."""
    running_emulator.reset()
    running_emulator.set_clock(START)
    return running_emulator


@pytest.fixture
def client(emu: NotionEmulator) -> Iterator[notion_client.Client]:
    """The real ``notion-client`` pointed at the emulator with the default token."""
    notion = notion_client.Client(auth=emu.token, base_url=emu.url)
    yield notion
    notion.close()


@pytest.fixture
def demo(emu: NotionEmulator) -> Database:
    """The demo database (schema of the project brief), empty."""
    return emu.create_database("Demo tasks", DEMO_SCHEMA)


@pytest.fixture
def ds_id(demo: Database) -> str:
    """The demo database's only data source."""
    return demo.data_sources[0].id
