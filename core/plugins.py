"""Finding connectors: every connector, built-in or third-party, is an entry point in the
group ``notion_sync.connectors``. A plugin that fails to load is reported and skipped."""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from importlib.metadata import entry_points
from typing import Any

from core.adapter import Connector

__all__ = ["ENTRY_POINT_GROUP", "Discovery", "discover"]

ENTRY_POINT_GROUP = "notion_sync.connectors"
log = logging.getLogger(__name__)


@dataclass
class Discovery:
    """The connectors found, by name, and the ones that failed to load, with why."""

    connectors: dict[str, type[Connector[Any, Any]]] = field(default_factory=dict)
    broken: dict[str, str] = field(default_factory=dict)
    origins: dict[str, str] = field(default_factory=dict)


_extra: dict[str, type[Connector[Any, Any]]] = {}


def register(cls: type[Connector[Any, Any]]) -> None:
    """Register a connector class directly (tests, embedding). Entry points are the normal way."""
    _extra[cls.name] = cls


def unregister(name: str) -> None:
    _extra.pop(name, None)


def discover() -> Discovery:
    found = Discovery()
    for ep in entry_points(group=ENTRY_POINT_GROUP):
        try:
            cls = ep.load()
            if not (isinstance(cls, type) and issubclass(cls, Connector)):
                raise TypeError(f"{ep.value} is not a subclass of core.adapter.Connector")
            if getattr(cls, "name", ep.name) != ep.name:
                raise TypeError(f"its entry point is named {ep.name!r} but the class says name = {cls.name!r}")
        except Exception as exc:  # noqa: BLE001 - a broken plugin must not take the tool down
            found.broken[ep.name] = f"{type(exc).__name__}: {exc}"
            log.warning("connector %r could not be loaded and is skipped: %s", ep.name, exc)
            continue
        found.connectors[ep.name] = cls
        found.origins[ep.name] = ep.value
    for name, cls in _extra.items():
        found.connectors[name] = cls
        found.origins[name] = f"{cls.__module__}:{cls.__qualname__}"
        found.broken.pop(name, None)
    return found
