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

``postgres_server`` and ``redis_server``: a PostgreSQL and a Redis server from Debian's
packages, one per test session, on free loopback ports (the tests skip, naming the package,
without them); ``pg_url``: a new database's URL for one test; ``state_backend``: runs a test
once on SQLite and once with every config's state pointed at a new PostgreSQL database.

The conformance suite itself is ``notion_sync.core.testing.conformance.ConformanceSuite``.
"""

from __future__ import annotations

import shutil
import tempfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from notion_sync.core.testing.servers import PostgresServer, RedisServer


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


def _served(server_type: type[PostgresServer] | type[RedisServer], prefix: str) -> Iterator[Any]:
    """Start a server in a new folder under /tmp (the ``postgres`` user must reach it), stop it after."""
    folder = Path(tempfile.mkdtemp(prefix=prefix))
    server = server_type(folder)
    try:
        yield server.start()
    finally:
        server.stop()
        shutil.rmtree(folder, ignore_errors=True)


@pytest.fixture(scope="session")
def postgres_server() -> Iterator[PostgresServer]:
    """One PostgreSQL server per test session (per xdist worker); skips without the package."""
    yield from _served(PostgresServer, "notion-sync-pg-")


@pytest.fixture
def pg_url(postgres_server: PostgresServer) -> str:
    """The URL (with its password) of a new, empty database for this test."""
    return postgres_server.fresh_database()


@pytest.fixture(scope="session")
def redis_server() -> Iterator[RedisServer]:
    """One Redis server per test session (per xdist worker); skips without the package."""
    yield from _served(RedisServer, "notion-sync-redis-")


STATE_URL_ENV = "NS_TEST_STATE_URL"


@pytest.fixture(params=["sqlite", "postgres"])
def state_backend(request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch) -> str:
    """Run the test on each state backend: as is (SQLite), then with every config pointed at a
    new PostgreSQL database (``NOTION_SYNC_STATE__URL_ENV``, as a user would override it)."""
    if request.param == "postgres":
        url = request.getfixturevalue("pg_url")
        monkeypatch.setenv(STATE_URL_ENV, url)
        monkeypatch.setenv("NOTION_SYNC_STATE__URL_ENV", STATE_URL_ENV)
    return str(request.param)
