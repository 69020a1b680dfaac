"""Shared fixtures: a fast retry policy, the shared reference folder, and a memo sandbox."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from notion_sync.core.sandbox import Sandbox
from notion_sync.core.secrets import Secret
from tests.support.memo import MemoConnector
from tests.support.shared import shared_reference

FAST_RETRY_SCALE = "0.0002"
"""Backoff of at most 6 ms and a Retry-After of at most 24 ms."""


@pytest.fixture(autouse=True)
def fast_retries(monkeypatch: pytest.MonkeyPatch) -> None:
    """Retries keep their logic but not their waiting, so fault tests stay fast: every policy
    built from the environment (the engine's, each connector's, the default) scales its waits."""
    monkeypatch.setenv("NOTION_SYNC_RETRY_SCALE", FAST_RETRY_SCALE)


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


@pytest.fixture(params=["sqlite", "postgres"])
def state_location(request: pytest.FixtureRequest, tmp_path: Path) -> Path | Secret:
    """A new, empty state on each backend: a SQLite file's path, or a PostgreSQL URL."""
    if request.param == "postgres":
        return Secret(request.getfixturevalue("pg_url"), "test")
    return tmp_path / "state.sqlite3"
