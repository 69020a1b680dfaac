"""Shared fixtures: a fast retry policy, the shared reference folder, and a memo sandbox."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from notion_sync.core.retry import DEFAULT_POLICY, RetryPolicy, set_default_policy
from notion_sync.core.sandbox import Sandbox
from tests.support.memo import MemoConnector
from tests.support.shared import shared_reference


@pytest.fixture(autouse=True)
def fast_retries() -> Iterator[None]:
    """Retries keep their logic but not their waiting, so fault tests stay fast."""
    set_default_policy(RetryPolicy(attempts=5, initial=0.001, max_wait=0.01, max_retry_after=0.01))
    yield
    set_default_policy(DEFAULT_POLICY)


@pytest.fixture(name="shared_reference")
def shared_reference_fixture() -> Path:
    """``../shared/reference``: present in the development checkout and CI, absent in users' clones."""
    return shared_reference()


@pytest.fixture
def box(tmp_path: Path) -> Iterator[Sandbox]:
    """The demo database synced by the test-only memo connector."""
    with Sandbox(tmp_path, connectors={"memo": MemoConnector}) as sandbox:
        yield sandbox


def memos(box: Sandbox) -> dict[str, str]:
    return box.targets["memo"].items()
