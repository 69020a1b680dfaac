"""Shared fixtures: a fast retry policy, the shared reference folder, and a memo sandbox."""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import pytest

from core.retry import DEFAULT_POLICY, RetryPolicy, set_default_policy
from core.sandbox import Sandbox
from tests.support.memo import MemoConnector

REPO = Path(__file__).resolve().parents[1]


@pytest.fixture(autouse=True)
def fast_retries() -> Iterator[None]:
    """Retries keep their logic but not their waiting, so fault tests stay fast."""
    set_default_policy(RetryPolicy(attempts=5, initial=0.001, max_wait=0.01, max_retry_after=0.01))
    yield
    set_default_policy(DEFAULT_POLICY)


@pytest.fixture
def shared_reference() -> Path:
    """``../shared/reference``: present in the development checkout and CI, absent in users' clones."""
    override = os.environ.get("NOTION_SYNC_SHARED")
    path = (Path(override) if override else REPO.parent / "shared") / "reference"
    if not path.is_dir():
        pytest.skip(f"{path} is absent: the official specs and recordings live outside the project")
    return path


@pytest.fixture
def box(tmp_path: Path) -> Iterator[Sandbox]:
    """The demo database synced by the test-only memo connector."""
    with Sandbox(tmp_path, connectors={"memo": MemoConnector}) as sandbox:
        yield sandbox


def memos(box: Sandbox) -> dict[str, str]:
    return box.targets["memo"].items()
