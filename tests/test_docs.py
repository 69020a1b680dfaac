"""The snippets in docs/running.md and docs/writing-a-connector.md are real: the commands and
flags exist, the YAML parses, the systemd units have what systemd needs, the Python runs,
and what the docs say about a lost state file is what happens."""

from __future__ import annotations

import configparser
import re
import shutil
import subprocess
import tomllib
from pathlib import Path

import pytest
import typer
import yaml
from typer.testing import CliRunner

from notion_sync.core.cli import app
from notion_sync.core.errors import (
    EXIT_ACCESS,
    EXIT_CONFIG,
    EXIT_ITEMS_FAILED,
    EXIT_LOCKED,
    EXIT_OK,
    EXIT_STATE,
    EXIT_TEMPFAIL,
)
from tests.support.memo import with_memo

REPO = Path(__file__).resolve().parents[1]
RUNNING = REPO / "docs" / "running.md"
WRITING = REPO / "docs" / "writing-a-connector.md"
EXAMPLE = REPO / "examples" / "webhook-connector"
_FENCE = re.compile(r"^```(\w*)\n(.*?)^```", re.M | re.S)
_COMMAND = re.compile(r"(?:^|&&|bin/|run:)[ \t]*notion-sync[ \t]+([a-z][a-z-]*)([^\n#>|&;]*)", re.M)


def blocks(path: Path, lang: str) -> list[str]:
    return [body for kind, body in _FENCE.findall(path.read_text(encoding="utf-8")) if kind == lang]


def commands(text: str) -> list[tuple[str, list[str]]]:
    return [(m.group(1), m.group(2).split()) for m in _COMMAND.finditer(text)]


def check_command(name: str, args: list[str]) -> None:
    group = typer.main.get_command(app)
    assert name in group.commands, f"`notion-sync {name}` is not a command"  # type: ignore[attr-defined]
    command = group.commands[name]  # type: ignore[attr-defined]
    known = {opt for p in command.params for opt in (*p.opts, *p.secondary_opts)}
    for arg in args:
        if arg.startswith("-"):
            assert arg.split("=")[0] in known, f"`notion-sync {name}` has no option {arg}"


# --------------------------------------------------------------------------- running.md


def test_every_command_in_running_md_exists_with_its_flags():
    found = []
    for lang in ("bash", "cron", "ini", "yaml"):
        for body in blocks(RUNNING, lang):
            found.extend(commands(body))
    assert {name for name, _ in found} >= {"run", "check"}
    assert any("--quiet" in args for _, args in found)
    for name, args in found:
        check_command(name, args)


def test_the_exit_code_table_matches_the_code():
    text = RUNNING.read_text(encoding="utf-8")
    table = set(int(c) for c in re.findall(r"^\| `(\d+)` \|", text, re.M))
    assert table == {EXIT_OK, EXIT_ITEMS_FAILED, EXIT_CONFIG, EXIT_ACCESS, EXIT_STATE, EXIT_LOCKED, EXIT_TEMPFAIL}


def test_crontab_lines_have_five_schedule_fields_and_a_real_command():
    lines = [
        line
        for body in blocks(RUNNING, "cron")
        for line in body.splitlines()
        if line.strip() and not line.lstrip().startswith("#")
    ]
    assert lines
    field = re.compile(r"^(\*|\d+(-\d+)?)(/\d+)?(,(\*|\d+(-\d+)?)(/\d+)?)*$")
    for line in lines:
        parts = line.split(None, 5)
        assert all(field.match(p) for p in parts[:5]), line
        assert commands(parts[5]), line


def units() -> dict[str, configparser.ConfigParser]:
    found = {}
    for body in blocks(RUNNING, "ini"):
        name = re.match(r"# /etc/systemd/system/(\S+)", body)
        assert name, "each unit block starts with its path"
        parser = configparser.ConfigParser(interpolation=None, strict=False)
        parser.optionxform = str  # type: ignore[assignment,method-assign]
        parser.read_string(body)
        found[name.group(1)] = parser
    return found


def test_systemd_units_are_complete():
    found = units()
    service, timer = found["notion-sync.service"], found["notion-sync.timer"]
    assert service["Service"]["Type"] == "oneshot"
    assert str(EXIT_LOCKED) in service["Service"]["SuccessExitStatus"].split()
    [(name, args)] = commands(service["Service"]["ExecStart"])
    assert name == "run"
    check_command(name, args)
    assert service["Service"]["Environment"].startswith("NOTION_SYNC_STATE__PATH=")
    assert "NOTION_TOKEN" not in service["Service"]["Environment"]
    assert timer["Timer"]["OnCalendar"] and timer["Install"]["WantedBy"] == "timers.target"


def test_the_timer_schedule_is_valid_for_systemd():
    analyze = shutil.which("systemd-analyze")
    if analyze is None:
        pytest.skip("systemd-analyze is not installed here")
    spec = units()["notion-sync.timer"]["Timer"]["OnCalendar"]
    result = subprocess.run([analyze, "calendar", spec], capture_output=True, text=True, timeout=30)
    assert result.returncode == 0, result.stderr


def test_the_github_workflow_parses_and_keeps_secrets_and_state_right():
    [body] = blocks(RUNNING, "yaml")
    workflow = yaml.safe_load(body)
    triggers = workflow[True] if True in workflow else workflow["on"]  # YAML 1.1 reads `on` as true
    assert triggers["schedule"][0]["cron"].count(" ") == 4
    assert workflow["concurrency"]["cancel-in-progress"] is False
    steps = workflow["jobs"]["sync"]["steps"]
    uses = [s.get("uses", "") for s in steps]
    restore = next(s for s in steps if s.get("uses", "").startswith("actions/cache/restore"))
    save = next(s for s in steps if s.get("uses", "").startswith("actions/cache/save"))
    sync = next(s for s in steps if "notion-sync run" in s.get("run", ""))
    assert uses.index(restore["uses"]) < steps.index(sync) < steps.index(save)
    assert save["if"] == "always()", "the state must be saved even when a run fails an item"
    assert restore["with"]["path"] == save["with"]["path"] == "notion-sync.sqlite3"
    assert restore["with"]["restore-keys"] and restore["with"]["key"] == save["with"]["key"]
    for name, value in sync["env"].items():
        assert value == "${{ secrets." + name + " }}", "every secret comes from the repository's secrets"
    [(name, args)] = commands("run: " + sync["run"])
    check_command(name, args)


# --------------------------------------------------------------------------- writing-a-connector.md


def test_python_snippets_of_the_connector_guide_run(monkeypatch):
    monkeypatch.syspath_prepend(str(EXAMPLE))
    snippets = blocks(WRITING, "python")
    assert len(snippets) >= 3
    for code in snippets:
        exec(compile(code, str(WRITING), "exec"), {"__name__": "docs_snippet"})  # noqa: S102


def test_the_entry_point_snippet_is_the_examples_own():
    [snippet] = blocks(WRITING, "toml")
    documented = tomllib.loads(snippet)["project"]["entry-points"]["notion_sync.connectors"]
    real = tomllib.loads((EXAMPLE / "pyproject.toml").read_text())["project"]["entry-points"]
    assert documented == real["notion_sync.connectors"]


def test_commands_in_the_connector_guide_exist():
    found = [c for body in blocks(WRITING, "bash") for c in commands(body)]
    assert {name for name, _ in found} == {"connectors", "init"}
    for name, args in found:
        check_command(name, args)


def test_every_file_in_the_guides_tree_exists():
    [tree] = [b for kind, b in _FENCE.findall(WRITING.read_text()) if kind == "" and "├──" in b]
    names = re.findall(r"[├└]── (\S+)", tree)
    for name in names:
        assert list(EXAMPLE.rglob(name.rstrip("/"))), f"{name} is not in {EXAMPLE}"


# --------------------------------------------------------------------------- the lost state file


def test_a_lost_state_file_relinks_without_a_write_and_the_next_run_writes_nothing(box):
    """running.md, "What happens if the state file is lost", step by step, through the CLI."""
    runner = CliRunner()
    memo = with_memo()
    rows = len(box.database.pages)
    first = runner.invoke(app, ["run", "--config", str(box.config_path)], obj=memo)
    assert f"{rows} created" in first.stdout
    for suffix in ("", "-wal", "-shm"):
        Path(f"{box.state_path}{suffix}").unlink(missing_ok=True)
    recovery = runner.invoke(app, ["run", "--config", str(box.config_path)], obj=memo)
    assert recovery.exit_code == 0, recovery.output
    # Every memo is found, compared, and adopted as it is: nothing is rewritten.
    assert f"0 created, 0 updated, 0 deleted, {rows} unchanged" in recovery.stdout
    assert box.targets["memo"].item_count() == rows
    again = runner.invoke(app, ["run", "--config", str(box.config_path)], obj=memo)
    assert f"0 created, 0 updated, 0 deleted, {rows} unchanged" in again.stdout


def test_items_of_rows_trashed_while_the_state_was_lost_stay(box):
    """The cost the docs admit: nothing remembers those items any more."""
    box.run()
    for suffix in ("", "-wal", "-shm"):
        Path(f"{box.state_path}{suffix}").unlink(missing_ok=True)
    gone = box.database.pages["Triage backlog"]
    box.notion.trash_page(gone)
    rep = box.run(full=True).mappings[0]
    assert rep.counts["created"] == 0 and rep.counts["deleted"] == 0
    assert gone in box.targets["memo"].items()
