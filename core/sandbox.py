"""A complete local setup: the Notion emulator with the sample database, each connector's
emulator, and a real config file pointing at them. The demo, the conformance suite and
the benchmarks all run through it, so they exercise exactly what users run.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Mapping
from datetime import datetime
from pathlib import Path
from typing import Any

import tomli_w

from notion_sync.core.adapter import Connector, EmulatedTarget
from notion_sync.core.config import Config, load_config
from notion_sync.core.demo_data import DemoDatabase
from notion_sync.core.emulator_set import DEMO_TOKEN, NOTION_TOKEN_ENV, EmulatorSet, mapping_name
from notion_sync.core.engine import Engine, RunOptions, RunReport
from notion_sync.core.fixture import read_fixture
from notion_sync.core.plugins import Discovery, discover
from notion_sync.core.retry import RetryPolicy
from notion_sync.core.state import StateStore

__all__ = ["CONFIG_FILE", "DEMO_TOKEN", "NOTION_TOKEN_ENV", "STATE_FILE", "EnvironmentOverlay", "Sandbox"]

CONFIG_FILE = "notion-sync.toml"
STATE_FILE = "notion-sync.sqlite3"
"""The config and state files a sandbox keeps in its folder."""


class EnvironmentOverlay:
    """Environment variables set for a while (the emulators' fake tokens), then put back."""

    def __init__(self) -> None:
        self._saved: dict[str, str | None] = {}

    def set(self, values: Mapping[str, str]) -> None:
        """Set ``values``, remembering what each variable held before the first change."""
        for key, value in values.items():
            self._saved.setdefault(key, os.environ.get(key))
            os.environ[key] = value

    def restore(self) -> None:
        """Put every variable back as it was (unset if it was)."""
        for key, value in self._saved.items():
            if value is None:
                os.environ.pop(key, None)
            else:
                os.environ[key] = value
        self._saved.clear()


class Sandbox:
    """Emulators plus a config in ``workdir``. Use as a context manager."""

    def __init__(
        self,
        workdir: Path,
        *,
        connectors: Mapping[str, type[Connector[Any, Any]]] | None = None,
        rows: list[dict[str, Any]] | None = None,
        mapping_overrides: Mapping[str, dict[str, Any]] | None = None,
    ) -> None:
        self.workdir = Path(workdir)
        chosen = dict(connectors) if connectors is not None else discover().load_all()
        self.discovery = Discovery.of(chosen.values())
        self.rows = rows
        self.overrides = dict(mapping_overrides or {})
        self.emulators = EmulatorSet(read_fixture(None), chosen, rows=rows)
        """The emulators, seeded with the demo fixture (``rows`` replacing its rows)."""
        self.notion = self.emulators.notion
        self.targets: dict[str, EmulatedTarget] = self.emulators.targets
        self.database: DemoDatabase | None = None
        self._env = EnvironmentOverlay()

    @property
    def config_path(self) -> Path:
        return self.workdir / CONFIG_FILE

    @property
    def state_path(self) -> Path:
        return self.workdir / STATE_FILE

    def mapping_name(self, connector: str) -> str:
        return mapping_name(connector)

    def start(self) -> Sandbox:
        self.workdir.mkdir(parents=True, exist_ok=True)
        for suffix in ("", "-wal", "-shm", ".lock"):
            Path(f"{self.state_path}{suffix}").unlink(missing_ok=True)
        self.emulators.start()
        first = self.emulators.databases[0]
        self.database = DemoDatabase(first.database_id, first.data_source_id, first.url, first.pages)
        self._env.set(self.emulators.env())
        self.write_config()
        return self

    def config_data(self) -> dict[str, Any]:
        return self.emulators.config_data(self.state_path, self.overrides)

    def write_config(self, data: dict[str, Any] | None = None) -> Path:
        self.config_path.write_text(tomli_w.dumps(data if data is not None else self.config_data()))
        return self.config_path

    def config(self) -> Config:
        return load_config(self.config_path, discovery=self.discovery)

    def open_state(self, *, readonly: bool = False) -> StateStore:
        """The state the config names: the SQLite file, or the PostgreSQL database."""
        return StateStore.open(self.config().state_location, readonly=readonly)

    def lose_state(self) -> None:
        """Lose the state, as a deleted file (SQLite) or a dropped schema (PostgreSQL) loses it."""
        location = self.config().state_location
        if isinstance(location, Path):
            for suffix in ("", "-wal", "-shm"):
                Path(f"{location}{suffix}").unlink(missing_ok=True)
            return
        state = StateStore.open(location)
        try:
            state.drop_everything()
        finally:
            state.close()

    def state_written(self) -> bool:
        """Whether any run has written the state (a dry run must not)."""
        location = self.config().state_location
        if isinstance(location, Path) and not location.exists():
            return False
        state = StateStore.open(location, readonly=True)
        try:
            return state.has_runs()
        finally:
            state.close()

    def run(
        self, *, now: Callable[[], datetime] | None = None, retry: RetryPolicy | None = None, **options: Any
    ) -> RunReport:
        """One ``notion-sync run`` with these RunOptions, in-process (``now``: the engine's clock,
        ``retry``: its retry policy)."""
        engine = Engine(self.config(), now=now, retry=retry) if now else Engine(self.config(), retry=retry)
        return engine.run(RunOptions(**options))

    def close(self) -> None:
        self.emulators.close()
        self._env.restore()

    def __enter__(self) -> Sandbox:
        return self.start()

    def __exit__(self, *exc: Any) -> None:
        self.close()
