"""Fixtures for the Notion emulator tests: a running emulator, the real client, the demo database."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime

import notion_client
import pytest

from notion_sync.core.demo_data import DEMO_SCHEMA as DEMO_DATABASE_SCHEMA
from notion_sync.core.emulator.notion import Database, NotionEmulator
from tests.support.shared import shared_reference  # noqa: F401 - re-exported for the spec tests

START = datetime(2026, 7, 4, 9, 9, 44, 123000, tzinfo=UTC)
"""The frozen clock every test starts at (the minute of the real recordings)."""

DEMO_SCHEMA = {**DEMO_DATABASE_SCHEMA, "Estimate": {"type": "number"}}


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
