"""Finding connectors: every connector, built-in or third-party, is an entry point in the
group ``notion_sync.connectors``. A plugin that fails to load is reported and skipped.

An entry point names a ``ConnectorSpec``: a thin declaration (name, summary, settings
models, on_delete modes) plus the dotted path of the implementation, which is imported
only when a command needs it. So ``notion-sync --help``, ``connectors`` or a run that uses
only Slack never import Google's or Trello's client libraries. An entry point may also
name a ``Connector`` subclass directly (the 0.1 style); it is then loaded at discovery.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from importlib import import_module
from importlib.metadata import entry_points
from typing import Any

from notion_sync.core.adapter import Connector, MappingSettings, ServiceSettings

__all__ = ["ENTRY_POINT_GROUP", "ConnectorSpec", "Discovery", "LoadedConnectors", "discover"]

ENTRY_POINT_GROUP = "notion_sync.connectors"
OLD_ROOTS = ("core", "connectors")
"""The top-level names of notion-sync 0.1, before everything moved under ``notion_sync``."""
log = logging.getLogger(__name__)


@dataclass(frozen=True)
class ConnectorSpec:
    """What an entry point declares about a connector, without importing its implementation.

    ``implementation`` is ``"package.module:ClassName"`` of the ``Connector`` subclass; keep
    the module holding ``Settings`` and ``MappingSettings`` free of heavy imports (client
    libraries), since config validation loads them for every configured connector::

        connector = ConnectorSpec(
            name="echo",
            summary="Rows as echo messages",
            Settings=EchoSettings,
            MappingSettings=EchoMapping,
            implementation="echo_connector.connector:EchoConnector",
        )
    """

    name: str
    summary: str
    Settings: type[ServiceSettings]
    MappingSettings: type[MappingSettings]
    implementation: str
    on_delete_modes: tuple[str, ...] = ("delete", "keep")
    write_back_fields: tuple[str, ...] = ()
    """The connector's ``write_back_fields``, for ``notion-sync connectors`` without importing it."""

    def load(self) -> type[Connector[Any, Any]]:
        """Import the implementation and check that it matches this declaration."""
        module_name, _, attr = self.implementation.partition(":")
        cls = getattr(import_module(module_name), attr)
        if not (isinstance(cls, type) and issubclass(cls, Connector)):
            raise TypeError(f"{self.implementation} is not a subclass of notion_sync.sdk.Connector")
        for key in ("name", "summary", "Settings", "MappingSettings", "on_delete_modes", "write_back_fields"):
            if getattr(cls, key, None) != getattr(self, key):
                raise TypeError(f"{self.implementation}.{key} differs from its ConnectorSpec's {key}")
        return cls

    @classmethod
    def of(cls, connector: type[Connector[Any, Any]]) -> ConnectorSpec:
        """The declaration of an already imported connector class."""
        return cls(
            name=connector.name,
            summary=connector.summary,
            Settings=connector.Settings,
            MappingSettings=connector.MappingSettings,
            implementation=f"{connector.__module__}:{connector.__qualname__}",
            on_delete_modes=tuple(connector.on_delete_modes),
            write_back_fields=tuple(connector.write_back_fields),
        )


class LoadedConnectors(Mapping[str, type[Connector[Any, Any]]]):
    """Connector classes by name, each imported on first access.

    Iterating and ``in`` see every declared connector without importing any; a lookup
    imports that one. One that fails to import is moved to ``Discovery.broken`` and then
    behaves as absent (``KeyError``), so ``.get(name)`` is None.
    """

    def __init__(self, specs: dict[str, ConnectorSpec], broken: dict[str, str]) -> None:
        self._specs = specs
        self._broken = broken
        self._loaded: dict[str, type[Connector[Any, Any]]] = {}

    def __getitem__(self, name: str) -> type[Connector[Any, Any]]:
        if name in self._loaded:
            return self._loaded[name]
        spec = self._specs[name]
        try:
            cls = spec.load()
        except Exception as exc:  # noqa: BLE001 - a broken plugin must not take the tool down
            self._broken[name] = _why(exc)
            del self._specs[name]
            log.warning("connector %r could not be loaded and is skipped: %s", name, self._broken[name])
            raise KeyError(name) from exc
        self._loaded[name] = cls
        return cls

    def __contains__(self, name: object) -> bool:
        return name in self._specs

    def __iter__(self) -> Iterator[str]:
        return iter(list(self._specs))

    def __len__(self) -> int:
        return len(self._specs)


@dataclass
class Discovery:
    """The connectors found: their declarations by name, the classes (imported on first
    use), where each came from, and the ones that failed to load, with why."""

    specs: dict[str, ConnectorSpec] = field(default_factory=dict)
    broken: dict[str, str] = field(default_factory=dict)
    origins: dict[str, str] = field(default_factory=dict)
    connectors: LoadedConnectors = field(init=False)

    def __post_init__(self) -> None:
        self.connectors = LoadedConnectors(self.specs, self.broken)

    @classmethod
    def of(cls, connectors: Iterable[type[Connector[Any, Any]]]) -> Discovery:
        """A discovery of these classes only (tests, embedding, the demo's sandbox)."""
        found = cls()
        for connector in connectors:
            found.add(connector)
        return found

    def load_all(self) -> dict[str, type[Connector[Any, Any]]]:
        """Every connector class that imports; the others end up in ``broken``."""
        loaded = {name: self.connectors.get(name) for name in self.connectors}
        return {name: cls for name, cls in loaded.items() if cls is not None}

    def add(self, connector: type[Connector[Any, Any]]) -> None:
        """Add an imported connector class, replacing any of the same name."""
        spec = ConnectorSpec.of(connector)
        self.specs[spec.name] = spec
        self.origins[spec.name] = spec.implementation
        self.broken.pop(spec.name, None)
        self.connectors._loaded[spec.name] = connector


def discover() -> Discovery:
    """Every connector declared through the ``notion_sync.connectors`` entry point group.
    To add one that is not installed (tests, embedding), ``add`` it to the result and pass
    that on: ``load_config(..., discovery=...)``, ``notion_sync.core.cli.main(discovery=...)``."""
    found = Discovery()
    for ep in entry_points(group=ENTRY_POINT_GROUP):
        try:
            target = ep.load()
            if isinstance(target, ConnectorSpec):
                spec = target
            elif isinstance(target, type) and issubclass(target, Connector):
                spec = ConnectorSpec.of(target)
                found.connectors._loaded[ep.name] = target
            else:
                raise TypeError(f"{ep.value} is neither a notion_sync.sdk.ConnectorSpec nor a Connector subclass")
            if spec.name != ep.name:
                raise TypeError(f"its entry point is named {ep.name!r} but it declares name = {spec.name!r}")
        except Exception as exc:  # noqa: BLE001 - a broken plugin must not take the tool down
            found.broken[ep.name] = _why(exc)
            log.warning("connector %r could not be loaded and is skipped: %s", ep.name, found.broken[ep.name])
            continue
        found.specs[ep.name] = spec
        found.origins[ep.name] = ep.value
    return found


def _why(exc: BaseException) -> str:
    """Why a plugin failed to load; for a 0.1 import path, the import to use instead."""
    if isinstance(exc, ModuleNotFoundError) and (exc.name or "").split(".")[0] in OLD_ROOTS:
        return (
            f"it imports {exc.name!r}, which notion-sync 0.2 moved under the one package `notion_sync`: "
            f"import from `notion_sync.sdk` (for example `from notion_sync.sdk import Connector`) "
            f"— see the CHANGELOG"
        )
    return f"{type(exc).__name__}: {exc}"
