"""The command line: exit codes, output for cron, JSON logs, the lock, and no secret in any output."""

from __future__ import annotations

import json
import re
import subprocess
import sys

import pytest
from typer.testing import CliRunner

from notion_sync.core.cli import app
from notion_sync.core.lock import FileMappingLock
from notion_sync.core.sandbox import DEMO_TOKEN
from tests.support.failure_cases import assert_clean_failure
from tests.support.memo import with_memo

runner = CliRunner()


def cli(*args: str):
    return runner.invoke(app, list(args), catch_exceptions=False, obj=with_memo())


def test_run_prints_one_summary_line_per_mapping_and_exits_0(box):
    result = cli("run", "--config", str(box.config_path))
    assert result.exit_code == 0, result.output
    lines = [line for line in result.stdout.splitlines() if line.strip()]
    assert lines == [
        f"tasks-to-memo → memo: {len(box.database.pages)} created, 0 updated, 0 deleted, "
        "0 unchanged, 0 skipped, 0 failed"
    ]


def test_quiet_prints_nothing_when_all_is_well(box):
    result = cli("run", "--config", str(box.config_path), "--quiet")
    assert result.exit_code == 0 and result.output == ""


def test_dry_run_shows_the_plan_and_writes_nothing(box):
    result = cli("run", "--config", str(box.config_path), "--dry-run")
    assert result.exit_code == 0, result.output
    assert "+ create" in result.stdout and "Ship the release notes" in result.stdout
    assert "dry run: would make" in result.stdout
    assert not box.state_path.exists() and box.targets["memo"].item_count() == 0


def test_json_log_format_is_one_object_per_line(box):
    result = cli("run", "--config", str(box.config_path), "--log-format", "json")
    assert result.exit_code == 0
    events = [json.loads(line) for line in result.stdout.splitlines()]
    assert events[0]["event"] == "mapping" and events[0]["created"] == len(box.database.pages)


def test_env_var_names_the_config(box, monkeypatch):
    monkeypatch.setenv("NOTION_SYNC_CONFIG", str(box.config_path))
    assert cli("run", "--quiet").exit_code == 0


@pytest.mark.failure_case("the target rejects one item (400)", "row error on stderr; retried next run", 1)
def test_item_failures_exit_1_and_are_listed_on_stderr(box):
    box.targets["memo"].emulator.server.faults.schedule(400, count=1, path="/memos", method="POST")
    result = cli("run", "--config", str(box.config_path))
    assert_clean_failure(result, 1)
    assert "1 failed" in result.stderr and "row " in result.stderr


@pytest.mark.failure_case("unknown key in the config ([state] pth)", "config error: file, key, did-you-mean", 2)
def test_config_error_exits_2_with_the_file_and_key(box):
    box.config_path.write_text(box.config_path.read_text().replace("[state]", "[state]\npth = 'x'"))
    result = cli("run", "--config", str(box.config_path))
    assert_clean_failure(result, 2)
    assert (
        "notion-sync.toml" in result.stderr and "state.pth" in result.stderr and "did you mean 'path'" in result.stderr
    )
    assert "Traceback" not in result.output


@pytest.mark.failure_case("config file does not exist", "config error: create it, or --config", 2)
def test_missing_config_file_exits_2(tmp_path):
    result = cli("run", "--config", str(tmp_path / "absent.toml"))
    assert_clean_failure(result, 2, "does not exist")


@pytest.mark.failure_case("revoked Notion token", "access error: invalid or revoked, and the fix", 3)
def test_access_problem_exits_3(box):
    box.notion.revoke_token(DEMO_TOKEN)
    result = cli("run", "--config", str(box.config_path))
    assert_clean_failure(result, 3, "invalid or was revoked")


@pytest.mark.failure_case("another run holds the lock", "locked: exits at once, does nothing", 75)
def test_a_second_run_exits_75_while_the_lock_is_held(box):
    with FileMappingLock(box.state_path, box.mapping_name("memo")):
        result = cli("run", "--config", str(box.config_path))
    assert_clean_failure(result, 75, "another notion-sync run")
    assert cli("run", "--config", str(box.config_path), "-q").exit_code == 0


def test_lock_of_a_dead_process_is_taken_over(box):
    code = (
        "from notion_sync.core.lock import FileMappingLock; import os; "
        f"l = FileMappingLock({str(box.state_path)!r}, {box.mapping_name('memo')!r}).__enter__(); os._exit(0)"
    )
    subprocess.run([sys.executable, "-c", code], check=True)
    assert cli("run", "--config", str(box.config_path), "-q").exit_code == 0


@pytest.mark.failure_case("database not shared with the integration (check)", "check: ✗ with the Connections fix", 3)
def test_check_passes_and_fails_with_the_right_codes(box):
    result = cli("check", "--config", str(box.config_path))
    assert result.exit_code == 0, result.output
    assert "✓" in result.stdout and "notion-sync demo" in result.stdout
    box.notion.share(box.database.database_id, shared=False)
    result = cli("check", "--config", str(box.config_path))
    assert_clean_failure(result, 3, "✗", "Connections")


def test_connectors_lists_plugins_and_broken_ones(monkeypatch):
    result = cli("connectors", "--log-format", "json")
    rows = [json.loads(line) for line in result.stdout.splitlines()]
    assert {"connector": "memo", "ok": True}.items() <= next(r for r in rows if r["connector"] == "memo").items()


def test_no_secret_in_any_output_or_file(box, monkeypatch):
    canary = "ntn_canary" + "Z" * 30
    monkeypatch.setenv("NOTION_SYNC_DEMO_NOTION_TOKEN", canary)
    box.notion.add_token(canary)
    box.notion.share(box.database.database_id, canary)
    outputs = []
    for args in (["run", "--dry-run"], ["run", "--log-format", "json"], ["run", "-v"], ["check"]):
        outputs.append(cli(*args, "--config", str(box.config_path)).output)
    box.notion.revoke_token(canary)
    outputs.append(cli("run", "-v", "--config", str(box.config_path)).output)
    outputs.append(cli("check", "--config", str(box.config_path)).output)
    joined = "\n".join(outputs)
    assert canary not in joined and canary[-12:] not in joined
    for path in box.workdir.rglob("*"):
        if path.is_file():
            assert canary.encode() not in path.read_bytes(), path


def test_version():
    result = cli("--version")
    assert result.exit_code == 0 and re.match(r"notion-sync \d+\.\d+", result.stdout)


@pytest.mark.failure_case("auth for a service that has none", "usage error listing the services", 2)
@pytest.mark.failure_case("auth google with a missing client-secrets file", "usage error naming the file", 2)
@pytest.mark.failure_case("auth google without --client-secrets", "usage error naming the option", 2)
def test_auth_dispatches_to_the_service_and_reports_usage_errors(tmp_path):
    assert_clean_failure(cli("auth", "nope"), 2, "no auth command for 'nope'")
    result = cli("auth", "google", "--client-secrets", str(tmp_path / "missing.json"))
    assert_clean_failure(result, 2, "does not exist")
    result = cli("auth", "google")
    assert_clean_failure(result, 2, "--client-secrets")


def _commands():
    import typer.main

    root = typer.main.get_command(app)
    for name, command in root.commands.items():
        sub = getattr(command, "commands", None)
        if sub:
            yield from ([name, child] for child in sub)
        elif name != "auth":  # a pass-through to the service's own command: tested below
            yield [name]


def test_every_command_takes_log_format_json():
    missing = [" ".join(c) for c in _commands() if runner.invoke(app, [*c, "--log-format", "json", "--help"]).exit_code]
    assert missing == []


def test_auth_takes_log_format_json_too():
    result = runner.invoke(app, ["auth", "nope", "--log-format", "json"])
    assert result.exit_code == 2
    assert json.loads(result.stderr.splitlines()[-1])["level"] == "error"
