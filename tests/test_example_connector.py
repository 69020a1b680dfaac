"""The example third-party connector, as an outsider would use it: installed with pip, found
through its entry point, and passing the conformance suite in its own test run.

It is installed into a temporary folder (``pip install --target``) rather than into this
environment, so the test leaves the environment as it found it; the folder goes first on
``PYTHONPATH`` of the subprocesses, where ``importlib.metadata`` finds its entry point.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import tomllib
from collections.abc import Iterator
from importlib.metadata import PackageNotFoundError, version
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]
EXAMPLE = REPO / "examples" / "webhook-connector"


def _offline_build_possible() -> bool:
    """Whether setuptools can build a wheel here without downloading anything."""
    try:
        import wheel  # noqa: F401

        return True
    except ImportError:
        pass
    try:
        major, minor = (int(p) for p in version("setuptools").split(".")[:2])
    except (PackageNotFoundError, ValueError):
        return False
    return (major, minor) >= (70, 1)  # setuptools has its own bdist_wheel since 70.1


def _pip(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "pip", *args],
        capture_output=True,
        text=True,
        timeout=300,
        env={**os.environ, "PIP_DISABLE_PIP_VERSION_CHECK": "1"},
    )


@pytest.fixture(scope="module")
def installed(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Path]:
    """The example, pip-installed (non-editable) into a folder of its own."""
    if _pip("--version").returncode != 0:
        pytest.skip("pip is not available in this environment: cannot install the example connector")
    work = tmp_path_factory.mktemp("webhook")
    source = work / "src"
    # A copy, so the build's egg-info and build/ folders never land in the repository.
    shutil.copytree(EXAMPLE, source, ignore=shutil.ignore_patterns("__pycache__", "*.egg-info", "build"))
    target = work / "site"
    if _offline_build_possible():
        result = _pip(
            "install", "--no-deps", "--no-build-isolation", "--no-index", "--target", str(target), str(source)
        )
    else:
        # Too old a setuptools to build offline: let pip fetch the build backend (a local index works).
        result = _pip("install", "--no-deps", "--retries", "0", "--timeout", "15", "--target", str(target), str(source))
        if result.returncode != 0:
            pytest.skip(
                "cannot build the example without network: install `wheel` or setuptools>=70.1 "
                f"(pip said: {result.stderr.strip().splitlines()[-1:]})"
            )
    assert result.returncode == 0, result.stdout + result.stderr
    yield target


def _env(site: Path) -> dict[str, str]:
    paths = [str(site), *filter(None, [os.environ.get("PYTHONPATH")])]
    return {**os.environ, "PYTHONPATH": os.pathsep.join(paths), "PYTHONDONTWRITEBYTECODE": "1"}


def test_pip_installed_the_package_with_its_entry_point(installed: Path) -> None:
    dist = next(installed.glob("notion_sync_webhook-*.dist-info"))
    entry_points = (dist / "entry_points.txt").read_text()
    assert "[notion_sync.connectors]" in entry_points
    assert "webhook = notion_sync_webhook:spec" in entry_points


def test_notion_sync_connectors_finds_it_through_the_entry_point(installed: Path, tmp_path: Path) -> None:
    result = subprocess.run(
        [sys.executable, "-m", "notion_sync", "connectors", "--log-format", "json"],
        capture_output=True,
        text=True,
        env=_env(installed),
        cwd=tmp_path,
        timeout=120,
    )
    rows = [json.loads(line) for line in result.stdout.splitlines() if line.strip()]
    webhook = next((r for r in rows if r.get("connector") == "webhook"), None)
    assert webhook is not None, result.stdout + result.stderr
    assert webhook["ok"] and webhook["origin"] == "notion_sync_webhook:spec"
    assert webhook["on_delete"] == ["delete", "keep"]


def test_its_own_tests_and_the_conformance_suite_pass(installed: Path, tmp_path: Path) -> None:
    # Run from elsewhere, so the installed package is imported, not the source folder.
    probe = subprocess.run(
        [sys.executable, "-c", "import notion_sync_webhook; print(notion_sync_webhook.__file__)"],
        capture_output=True,
        text=True,
        env=_env(installed),
        cwd=tmp_path,
        timeout=60,
    )
    assert Path(probe.stdout.strip()).is_relative_to(installed), probe.stdout + probe.stderr
    tests = installed.parent / "src" / "tests"
    result = subprocess.run(
        [sys.executable, "-m", "pytest", "-v", "-p", "no:cacheprovider", "--rootdir", str(tests.parent), str(tests)],
        capture_output=True,
        text=True,
        env=_env(installed),
        cwd=tmp_path,
        timeout=300,
    )
    assert result.returncode == 0, result.stdout[-4000:] + result.stderr[-2000:]
    for name in (
        "test_first_run_creates_one_item_per_row",
        # The state-dependent tests run on SQLite and on PostgreSQL.
        "test_lost_state_relinks_without_duplicates[sqlite]",
        "test_lost_state_relinks_without_duplicates[postgres]",
        "test_crash_between_create_and_state_write_makes_no_duplicate[postgres]",
    ):
        assert f"test_webhook_conformance.py::TestWebhook::{name} PASSED" in result.stdout, name
    summary = result.stdout.strip().splitlines()[-1]
    assert " passed" in summary and "failed" not in summary and "skipped" not in summary, summary


def test_init_offers_it_with_its_own_starter_mapping(installed: Path, tmp_path: Path) -> None:
    from notion_sync.core.demo_data import seed_demo_database
    from notion_sync.core.emulator.notion import NotionEmulator

    token = "ntn_example_connector_test_token_000000"
    out = tmp_path / "notion-sync.toml"
    with NotionEmulator(token=token) as notion:
        db = seed_demo_database(notion)
        result = subprocess.run(
            [
                sys.executable,
                "-m",
                "notion_sync",
                "init",
                "--database",
                db.url,
                "--base-url",
                notion.url,
                "--target",
                "webhook",
                "--set",
                "webhook.url=https://hooks.example.com/notion",
                "--out",
                str(out),
                "--yes",
            ],
            capture_output=True,
            text=True,
            env={**_env(installed), "NOTION_TOKEN": token},
            cwd=tmp_path,
            timeout=120,
        )
    assert result.returncode == 0, result.stdout + result.stderr
    data = tomllib.loads(out.read_text())
    assert data["webhook"] == {"url": "https://hooks.example.com/notion", "token_env": "WEBHOOK_TOKEN"}
    assert data["mappings"][0]["connector"] == "webhook"
    assert data["mappings"][0]["fields"] == {"title": "{Name}", "body": "{Notes}", "date": "Due"}
    assert token not in out.read_text()
