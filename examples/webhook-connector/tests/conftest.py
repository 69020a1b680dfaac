"""Fixtures: fast retries (logic kept, waits cut) and a running webhook emulator."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from notion_sync_webhook.emulator import WebhookEmulator


@pytest.fixture(autouse=True)
def fast_retries(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("NOTION_SYNC_RETRY_SCALE", "0.0002")


@pytest.fixture
def emulator() -> Iterator[WebhookEmulator]:
    emu = WebhookEmulator(page_size=2)
    emu.start()
    yield emu
    emu.stop()
