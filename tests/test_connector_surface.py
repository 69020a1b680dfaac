"""The built-in connectors and the example plugin import only from ``notion_sync.sdk`` and are
laid out with the same module names; the core names no built-in connector."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]
BUILTINS = ("google_calendar", "trello", "slack")
SHARED_MODULES = {"__init__", "settings", "render", "markers", "client", "connector", "errors", "checks"}
# The emulators and the targets built on them are outside this rule until they move to
# emulator/ and target.py.


def _packages() -> list[Path]:
    return [REPO / "connectors" / name for name in BUILTINS] + [
        REPO / "examples" / "webhook-connector" / "notion_sync_webhook"
    ]


def _notion_sync_imports(path: Path) -> list[str]:
    tree = ast.parse(path.read_text(encoding="utf-8"))
    found = []
    for node in ast.walk(tree):
        if isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            found.append(node.module)
        elif isinstance(node, ast.Import):
            found.extend(alias.name for alias in node.names)
    return [name for name in found if name.split(".")[0] == "notion_sync"]


@pytest.mark.parametrize("package", _packages(), ids=lambda p: p.name)
def test_a_connector_imports_only_the_sdk(package: Path) -> None:
    for module in sorted(package.rglob("*.py")):
        own = f"notion_sync.connectors.{package.name}"
        outside = [
            name
            for name in _notion_sync_imports(module)
            if name != "notion_sync.sdk" and name != own and not name.startswith(own + ".")
        ]
        assert not outside, f"{module.relative_to(REPO)} imports {outside}; import from notion_sync.sdk"


@pytest.mark.parametrize("package", _packages(), ids=lambda p: p.name)
def test_every_connector_has_the_shared_module_names(package: Path) -> None:
    stems = {module.stem for module in package.glob("*.py")}
    assert SHARED_MODULES <= stems, f"{package.name} lacks {sorted(SHARED_MODULES - stems)}"
    assert "target" in stems, f"{package.name} has no target.py (its EmulatedTarget)"
    assert (package / "emulator" / "__init__.py").is_file(), f"{package.name} has no emulator/ package"


def test_core_names_no_builtin_connector() -> None:
    for module in sorted((REPO / "core").rglob("*.py")):
        relative = module.relative_to(REPO / "core")
        if relative.parts[0] == "emulator" or module.stem.startswith("demo"):
            continue
        text = module.read_text(encoding="utf-8")
        for name in BUILTINS:
            # slack_sdk, a library's logger name, is not the connector's name.
            hits = [line for line in text.splitlines() if name in line.replace("slack_sdk", "")]
            assert not hits, f"core/{relative} names {name}: {hits}"
