"""pytest plugin (entry point ``pytest11``): fixtures for connector authors and for anyone
testing a Notion, Google Calendar, Trello or Slack client against the emulators.

``notion_emulator``: a running Notion emulator, stopped after the test.

``notion_sync_emulators``: every emulator ``notion-sync emulate`` starts (Notion and each
installed connector's, plugins included), seeded from ``notion_sync_seed`` (override that
fixture to return the path of your own seed file; None, the default, loads the demo's).
It is an ``EmulatorSet``: ``.listing()`` gives each service's base URL, control API and
credentials, ``.notion`` and ``.targets`` the emulators, ``.databases`` the seeded
databases, ``.config_data(state_path)`` a config pointing at them and ``.env()`` the
variables it reads.

The conformance suite itself is ``notion_sync.core.testing.conformance.ConformanceSuite``.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest


@pytest.fixture
def notion_emulator() -> Iterator[Any]:
    """A running Notion emulator, stopped after the test."""
    from notion_sync.core.emulator.notion import NotionEmulator

    with NotionEmulator() as emulator:
        yield emulator


@pytest.fixture
def notion_sync_seed() -> Path | None:
    """The seed file ``notion_sync_emulators`` loads: override it (None: the demo's)."""
    return None


@pytest.fixture
def notion_sync_emulators(notion_sync_seed: Path | None) -> Iterator[Any]:
    """Every emulator, seeded, running on 127.0.0.1 (free ports) for the test."""
    from notion_sync.core.emulator_set import EmulatorSet
    from notion_sync.core.fixture import read_fixture
    from notion_sync.core.plugins import discover

    with EmulatorSet(read_fixture(notion_sync_seed), discover().load_all()) as emulators:
        yield emulators
