"""The emulators of one session, started together and seeded from one fixture: Notion's and
each chosen connector's (built-in or plugin, through ``Connector.emulated()``).

``notion-sync emulate`` serves them until it is stopped; the demo's ``Sandbox`` and the
conformance suite run on them in-process. ``config_data`` is a notion-sync config that
points at them, with the fake tokens as ``*_env`` keys and ``env`` their values.
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Any

from notion_sync.core.adapter import Connector, EmulatedTarget
from notion_sync.core.emulator.notion import NotionEmulator
from notion_sync.core.emulator.server import CONTROL_PREFIX
from notion_sync.core.fixture import ReadFixture, SeededDatabase, apply_fixture

__all__ = ["DEMO_TOKEN", "NOTION_TOKEN_ENV", "EmulatorSet", "mapping_name"]

NOTION_TOKEN_ENV = "NOTION_SYNC_DEMO_NOTION_TOKEN"
DEMO_TOKEN = "ntn_demo_emulator_token_not_a_secret_0000"
"""The Notion emulator's token unless the fixture names one: fake, safe to print."""


def mapping_name(connector: str) -> str:
    """The name of the mapping written for a connector: ``tasks-to-google-calendar``."""
    return f"tasks-to-{connector.replace('_', '-')}"


class EmulatorSet:
    """Notion (unless ``with_notion`` is false) and the connectors' emulators, seeded from ``fixture``."""

    def __init__(
        self,
        fixture: ReadFixture,
        connectors: Mapping[str, type[Connector[Any, Any]]],
        *,
        with_notion: bool = True,
        host: str = "127.0.0.1",
        port_base: int = 0,
        rows: list[dict[str, Any]] | None = None,
    ) -> None:
        self.fixture = fixture
        self.connectors = dict(connectors)
        self.with_notion = with_notion
        self.host = host
        self.port_base = port_base
        self.rows = rows
        self.notion = NotionEmulator(token=fixture.fixture.notion.token or DEMO_TOKEN)
        self.targets: dict[str, EmulatedTarget] = {}
        self.databases: list[SeededDatabase] = []

    def _port(self, index: int) -> int:
        return self.port_base + index if self.port_base else 0

    def start(self) -> EmulatorSet:
        """Start every emulator (ports ``port_base``, ``port_base + 1``... in listing order, or
        free ones) and seed them; on a failure, stop what started and raise."""
        try:
            if self.with_notion:
                self.notion.start(self.host, self._port(0))
            for index, (name, cls) in enumerate(self.connectors.items(), start=1):
                target = cls.emulated()
                if target is None:
                    continue
                self.targets[name] = target
                if self.port_base or self.host != "127.0.0.1":
                    _rebind(target, self.host, self._port(index))
            if self.with_notion:
                self.databases = apply_fixture(self.fixture, self.notion, self.targets, rows=self.rows)
            else:
                apply_fixture(_without_notion(self.fixture), self.notion, self.targets)
        except BaseException:
            self.close()
            raise
        return self

    def close(self) -> None:
        """Stop every emulator (best effort: one that fails to stop does not keep the others up)."""
        for target in self.targets.values():
            try:
                target.close()
            except Exception:  # noqa: BLE001 - best effort on the way out
                pass
        self.notion.stop()

    def __enter__(self) -> EmulatorSet:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.close()

    def env(self) -> dict[str, str]:
        """The environment variables a config from :meth:`config_data` reads, with their (fake) values."""
        values = {NOTION_TOKEN_ENV: self.notion.token} if self.with_notion else {}
        for target in self.targets.values():
            values.update(target.env)
        return values

    def listing(self) -> dict[str, dict[str, Any]]:
        """Per service: its base URL, its control API and the credentials it accepts."""
        services: dict[str, dict[str, Any]] = {}
        if self.with_notion:
            services["notion"] = {
                "base_url": self.notion.url,
                "control_url": self.notion.url + CONTROL_PREFIX,
                "credentials": {"token": self.notion.token},
                "notion_versions": ["2022-06-28", "2025-09-03", "2026-03-11"],
            }
        for name, target in self.targets.items():
            services[name] = {
                "base_url": target.emulator.base_url,
                "control_url": target.emulator.base_url + CONTROL_PREFIX,
                "credentials": target.credentials(),
            }
        return services

    def request_counts(self) -> dict[str, int]:
        """Requests served so far, per service (the control API not counted)."""
        counts = {"notion": sum(self.notion.requests.values())} if self.with_notion else {}
        for name, target in self.targets.items():
            counts[name] = sum(target.emulator.requests.values())
        return counts

    def config_data(self, state_path: Path, overrides: Mapping[str, dict[str, Any]] | None = None) -> dict[str, Any]:
        """A notion-sync config syncing the fixture's first database into every target."""
        data: dict[str, Any] = {
            "notion": {"token_env": NOTION_TOKEN_ENV, "base_url": self.notion.url, "requests_per_second": 1000.0},
            "state": {"path": str(state_path)},
        }
        mappings = []
        for name, target in self.targets.items():
            data[name] = target.service_settings
            if not self.databases:
                continue
            mappings.append(
                {
                    "name": mapping_name(name),
                    "connector": name,
                    "database": self.databases[0].url,
                    **target.mapping,
                    **(overrides or {}).get(name, {}),
                }
            )
        data["mappings"] = mappings
        return data


def _rebind(target: EmulatedTarget, host: str, port: int) -> None:
    """Serve a started target's emulator on ``host``:``port`` and point its settings there."""
    old = target.emulator.base_url
    target.emulator.restart(host, port)
    new = target.emulator.base_url
    target.service_settings = _replace(target.service_settings, old, new)
    target.mapping = _replace(target.mapping, old, new)


def _replace(value: Any, old: str, new: str) -> Any:
    if isinstance(value, str):
        return value.replace(old, new)
    if isinstance(value, dict):
        return {k: _replace(v, old, new) for k, v in value.items()}
    if isinstance(value, list):
        return [_replace(v, old, new) for v in value]
    return value


def _without_notion(read: ReadFixture) -> ReadFixture:
    """The fixture's connector sections only (Notion was not asked for)."""
    from notion_sync.core.fixture import Fixture

    return ReadFixture(Fixture.model_validate(read.fixture.connector_sections()), read.source, read.text)
