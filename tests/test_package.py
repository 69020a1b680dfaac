"""The package as users install it: one import root, a pinned public API, lazy connectors.

These run the installed command in subprocesses, as a user's shell or a plugin author's CI would.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import textwrap
import zipfile
from pathlib import Path

import pytest

import notion_sync.sdk
from notion_sync.connectors.slack.connector import SlackConnector
from notion_sync.core.sandbox import Sandbox

ROOT = Path(__file__).resolve().parents[1]
HEAVY = ("googleapiclient", "trello", "starlette", "uvicorn")
"""Libraries only some commands need: the Google and Trello clients and the emulators' web stack."""

SDK_NAMES = [
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
    "DEMO_SCHEMA",
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
    "REDACTOR",
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


def notion_sync_cmd(*args: str, cwd: Path | None = None, env: dict[str, str] | None = None, importtime: bool = False):
    flags = ["-X", "importtime"] if importtime else []
    return subprocess.run(
        [sys.executable, *flags, "-m", "notion_sync", *args],
        capture_output=True,
        text=True,
        cwd=cwd,
        env={**os.environ, **(env or {})},
        timeout=120,
    )


def imported(stderr: str) -> set[str]:
    """Top-level module names from ``-X importtime`` output."""
    names = set()
    for line in stderr.splitlines():
        if line.startswith("import time:") and "|" in line:
            names.add(line.rsplit("|", 1)[1].strip().split(".")[0])
    return names


def test_the_public_api_is_pinned():
    """Adding or dropping a name in notion_sync.sdk is an API change: do it here on purpose."""
    assert sorted(notion_sync.sdk.__all__) == sorted(SDK_NAMES)
    for name in SDK_NAMES:
        assert getattr(notion_sync.sdk, name) is not None, name


def test_lazy_sdk_names_resolve_to_the_real_classes():
    from notion_sync.core.testing.conformance import ConformanceSuite

    assert notion_sync.sdk.ConformanceSuite is ConformanceSuite
    with pytest.raises(AttributeError, match="no attribute 'Nope'"):
        _ = notion_sync.sdk.Nope  # type: ignore[attr-defined]


@pytest.mark.parametrize("args", [["--version"], ["--help"], ["connectors"], ["run", "--help"]])
def test_light_commands_import_no_connector_library(args):
    result = notion_sync_cmd(*args, importtime=True)
    assert result.returncode == 0, result.stderr[-2000:]
    loaded = imported(result.stderr)
    assert "notion_sync" in loaded
    assert not loaded & set(HEAVY), f"{args} imported {sorted(loaded & set(HEAVY))}"


def test_a_slack_only_run_imports_neither_google_nor_trello(tmp_path):
    with Sandbox(tmp_path, connectors={"slack": SlackConnector}) as box:
        result = notion_sync_cmd("run", "--config", str(box.config_path), "-q", importtime=True)
        assert result.returncode == 0, result.stderr[-3000:]
        assert box.database is not None
        assert set(box.targets["slack"].items()) == set(box.database.pages.values())
    loaded = imported(result.stderr)
    assert "slack_sdk" in loaded
    assert not loaded & set(HEAVY), sorted(loaded & set(HEAVY))


def test_python_dash_m_is_the_console_script():
    script = Path(sys.executable).with_name("notion-sync")
    if not script.exists():
        pytest.skip("the notion-sync console script is not installed beside this Python")
    for args in (["--version"], ["connectors", "--log-format", "json"]):
        via_module = notion_sync_cmd(*args)
        via_script = subprocess.run([str(script), *args], capture_output=True, text=True, timeout=60)
        assert (via_module.returncode, via_module.stdout) == (via_script.returncode, via_script.stdout)
    assert notion_sync_cmd("--version").stdout.strip() == f"notion-sync {notion_sync.__version__}"


def test_the_wheel_installs_one_top_level_package(tmp_path):
    subprocess.run(
        [
            sys.executable,
            "-m",
            "pip",
            "wheel",
            "--quiet",
            "--no-deps",
            "--no-build-isolation",
            "-w",
            str(tmp_path),
            str(ROOT),
        ],
        check=True,
        capture_output=True,
        timeout=300,
    )
    (wheel,) = tmp_path.glob("notion_sync-*.whl")
    names = zipfile.ZipFile(wheel).namelist()
    tops = {n.split("/")[0] for n in names}
    assert {t for t in tops if not t.endswith(".dist-info")} == {"notion_sync"}
    assert "notion_sync/core/engine.py" in names
    assert "notion_sync/connectors/slack/connector.py" in names
    assert "notion_sync/core/fixtures/demo.toml" in names  # what `notion-sync emulate` loads by default
    (top_level,) = [n for n in names if n.endswith("top_level.txt")]
    assert zipfile.ZipFile(wheel).read(top_level).decode().split() == ["notion_sync"]
    entry_points = zipfile.ZipFile(wheel).read(next(n for n in names if n.endswith("entry_points.txt"))).decode()
    assert "= core." not in entry_points and "= connectors." not in entry_points


def test_a_project_with_its_own_core_package_still_runs_pytest(tmp_path):
    """The Django layout: a project of the user's with a top-level ``core`` package, and
    notion-sync installed beside it (its pytest plugin loads at pytest's start)."""
    (tmp_path / "core").mkdir()
    (tmp_path / "core" / "__init__.py").write_text("")
    (tmp_path / "core" / "models.py").write_text("ANSWER = 42\n")
    (tmp_path / "tests").mkdir()
    (tmp_path / "tests" / "test_models.py").write_text(
        textwrap.dedent(
            """
            import core.models

            def test_answer(notion_emulator):
                assert core.models.ANSWER == 42
                assert notion_emulator.url.startswith("http://127.0.0.1:")
            """
        )
    )
    result = subprocess.run(
        [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", "tests"],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-3000:]
    assert "1 passed" in result.stdout


def test_a_plugin_on_the_old_import_paths_gets_the_new_import(tmp_path):
    """A 0.1 plugin doing ``from core.adapter import Connector`` is reported, with the fix, and skipped."""
    (tmp_path / "old_plugin.py").write_text("from core.adapter import Connector\n")
    dist = tmp_path / "old_plugin-0.1.dist-info"
    dist.mkdir()
    (dist / "METADATA").write_text("Metadata-Version: 2.1\nName: old-plugin\nVersion: 0.1\n")
    (dist / "entry_points.txt").write_text("[notion_sync.connectors]\nold = old_plugin:OldConnector\n")
    result = notion_sync_cmd("connectors", "--log-format", "json", env={"PYTHONPATH": str(tmp_path)}, cwd=tmp_path)
    assert result.returncode == 1
    rows = [json.loads(line) for line in result.stdout.splitlines() if line.startswith("{")]
    (broken,) = [r for r in rows if r["connector"] == "old"]
    assert broken["ok"] is False
    assert "'core'" in broken["error"] and "from notion_sync.sdk import" in broken["error"]
    assert {r["connector"] for r in rows if r["ok"]} >= {"google_calendar", "slack", "trello"}
    assert "Traceback" not in result.stderr
