"""The public API for connector authors: everything a connector needs, and nothing else.

A connector imports only from here (plus its own modules)::

    from notion_sync.sdk import Connector, ConnectorSpec, DesiredItem, ExternalRef, MappingContext

The names below are stable across minor releases; everything under ``notion_sync.core``
is internal. The error classes decide what the engine does with a failure:

* ``RetryableError`` (429, 5xx, a dropped connection): retried now, then on later runs;
* ``ItemError``: that item alone fails and is retried on later runs; ``SkipItem``: the row
  has nothing to write;
* ``FatalError`` / ``AccessError`` / ``ConfigError``: the mapping stops before writing more.

``ServiceEmulator`` (the base of every emulator: lifecycle, clock and fault knobs),
``EmulatorClock``, ``EmulatorServer``, ``Faults``, ``ControlRoute``/``ControlError`` (an
emulator's own endpoints under ``/_emulator/``) and ``ConformanceSuite`` are imported on
first use: all but the last need the emulators' web stack, the last needs pytest.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from notion_sync.core.adapter import (
    CheckResult,
    Connector,
    CreateOperation,
    DeleteOperation,
    DesiredItem,
    EmulatedTarget,
    ExternalRef,
    Link,
    MappingContext,
    MappingSettings,
    Operation,
    OperationKind,
    OperationResult,
    Question,
    ServiceSettings,
    Starter,
    TargetChanges,
    TargetItem,
    UpdateOperation,
    WriteBackProblem,
    first_property,
    option_names,
    title_property,
)
from notion_sync.core.demo_data import DEMO_SCHEMA
from notion_sync.core.errors import (
    AccessError,
    ConfigError,
    ConfigProblem,
    FatalError,
    ItemError,
    NotionSyncError,
    RetryableError,
    SkipItem,
)
from notion_sync.core.fields import PropertyRef, Template
from notion_sync.core.pacing import Pace, Pacer, Pacers, pace_key
from notion_sync.core.page_body import BodyBlock, todo_items
from notion_sync.core.plugins import ConnectorSpec
from notion_sync.core.retry import RetryPolicy, call_with_retry
from notion_sync.core.richtext import Markup, Span
from notion_sync.core.routing import Routing
from notion_sync.core.rows import DateValue, PropertyValue, Row
from notion_sync.core.secrets import REDACTOR, Secret, config_relative, resolve_secret, secret_setting
from notion_sync.core.templates import compile_template, render_template
from notion_sync.core.write_back import (
    WRITABLE_DATE,
    notion_date,
    notion_text,
    single_property,
    text_write_back_problems,
    writable_problem,
)

if TYPE_CHECKING:
    from notion_sync.core.emulator.base import ServiceEmulator
    from notion_sync.core.emulator.clock import EmulatorClock
    from notion_sync.core.emulator.control import ControlError, ControlRoute
    from notion_sync.core.emulator.server import EmulatorServer, Faults, SlidingWindow
    from notion_sync.core.testing.conformance import ConformanceSuite

__all__ = [
    "DEMO_SCHEMA",
    "REDACTOR",
    "AccessError",
    "BodyBlock",
    "CheckResult",
    "ConfigError",
    "ConfigProblem",
    "ConformanceSuite",
    "Connector",
    "ControlError",
    "ControlRoute",
    "ConnectorSpec",
    "CreateOperation",
    "DateValue",
    "DeleteOperation",
    "DesiredItem",
    "EmulatedTarget",
    "EmulatorClock",
    "EmulatorServer",
    "ExternalRef",
    "FatalError",
    "Faults",
    "ItemError",
    "Link",
    "Markup",
    "MappingContext",
    "MappingSettings",
    "NotionSyncError",
    "Operation",
    "OperationKind",
    "OperationResult",
    "Pace",
    "Pacer",
    "Pacers",
    "pace_key",
    "PropertyRef",
    "PropertyValue",
    "Question",
    "RetryPolicy",
    "RetryableError",
    "Routing",
    "Row",
    "Secret",
    "ServiceEmulator",
    "ServiceSettings",
    "SkipItem",
    "SlidingWindow",
    "Span",
    "Starter",
    "TargetChanges",
    "TargetItem",
    "Template",
    "UpdateOperation",
    "WRITABLE_DATE",
    "WriteBackProblem",
    "call_with_retry",
    "compile_template",
    "config_relative",
    "first_property",
    "notion_date",
    "notion_text",
    "option_names",
    "render_template",
    "resolve_secret",
    "secret_setting",
    "single_property",
    "text_write_back_problems",
    "title_property",
    "todo_items",
    "writable_problem",
]

_LAZY = {
    "EmulatorClock": "notion_sync.core.emulator.clock",
    "ServiceEmulator": "notion_sync.core.emulator.base",
    "EmulatorServer": "notion_sync.core.emulator.server",
    "Faults": "notion_sync.core.emulator.server",
    "SlidingWindow": "notion_sync.core.emulator.server",
    "ConformanceSuite": "notion_sync.core.testing.conformance",
    "ControlError": "notion_sync.core.emulator.control",
    "ControlRoute": "notion_sync.core.emulator.control",
}


def __getattr__(name: str) -> Any:
    if name in _LAZY:
        from importlib import import_module

        return getattr(import_module(_LAZY[name]), name)
    raise AttributeError(f"module 'notion_sync.sdk' has no attribute {name!r}")
