"""Fixtures: fast retries (logic kept, waits cut) and a running webhook emulator."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from notion_sync_webhook.emulator import WebhookEmulator

from notion_sync.core.retry import DEFAULT_POLICY, RetryPolicy, set_default_policy


@pytest.fixture(autouse=True)
def fast_retries() -> Iterator[None]:
    set_default_policy(RetryPolicy(attempts=5, initial=0.001, max_wait=0.01, max_retry_after=0.01))
    yield
    set_default_policy(DEFAULT_POLICY)


@pytest.fixture
def emulator() -> Iterator[WebhookEmulator]:
    emu = WebhookEmulator(page_size=2)
    emu.start()
    yield emu
    emu.stop()
