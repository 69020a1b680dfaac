"""pytest plugin (entry point ``pytest11``): fixtures for connector authors.

``notion_emulator``: a running Notion emulator, stopped after the test.
The conformance suite itself is ``notion_sync.core.testing.conformance.ConformanceSuite``.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest


@pytest.fixture
def notion_emulator() -> Iterator[Any]:
    from notion_sync.core.emulator.notion import NotionEmulator

    with NotionEmulator() as emulator:
        yield emulator
