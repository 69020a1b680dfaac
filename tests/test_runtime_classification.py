"""Config and permission problems found while running (a filter Notion rejects, a board, list or
channel that does not exist, a bot outside its channel) make ``run`` exit as ``check`` does:
2 for config, 3 for access, never 1 ("some items failed") when nothing was synced."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from typer.testing import CliRunner

from notion_sync.core.cli import app
from notion_sync.core.plugins import discover
from notion_sync.core.sandbox import Sandbox

runner = CliRunner()


def exit_codes(
    tmp_path: Path, connector: str, change: Callable[[Sandbox, dict[str, Any]], None]
) -> tuple[int, int, str]:
    """(run's exit code, check's exit code, run's output) after ``change`` alters the sandbox's mapping."""
    with Sandbox(tmp_path, connectors={connector: discover().connectors[connector]}) as box:
        data = box.config_data()
        change(box, data["mappings"][0])
        box.write_config(data)
        run = runner.invoke(app, ["run", "--config", str(box.config_path)], catch_exceptions=False)
        check = runner.invoke(app, ["check", "--config", str(box.config_path)], catch_exceptions=False)
        assert "Traceback" not in run.output and "unexpected" not in run.output
        return run.exit_code, check.exit_code, run.output


def slack_channel(box: Sandbox) -> str:
    return str(box.targets["slack"].channel_id)


CASES: dict[str, tuple[str, Callable[[Sandbox, dict[str, Any]], None], int, str]] = {
    "a filter Notion rejects": (
        "slack",
        lambda box, m: m.update(filter={"property": "Nope", "checkbox": {"equals": True}}),
        2,
        "filter",
    ),
    "a Trello board that does not exist": (
        "trello",
        lambda box, m: m.update(board="https://trello.com/b/QQQQQQQQ"),
        3,
        "QQQQQQQQ",
    ),
    "a Trello list that does not exist": ("trello", lambda box, m: m.update(default_list="Nowhere"), 2, "Nowhere"),
    "a Slack channel that does not exist": ("slack", lambda box, m: m.update(channel="#nowhere"), 2, "#nowhere"),
    "a Slack channel the bot is not in": (
        "slack",
        lambda box, m: box.targets["slack"].emulator.set_member(slack_channel(box), False),
        3,
        "/invite",
    ),
}


@pytest.mark.parametrize(
    "case",
    [
        pytest.param(case, marks=pytest.mark.failure_case(case, "mapping stopped, problem named with its fix", code))
        for case, (_, _, code, _) in sorted(CASES.items())
    ],
)
def test_run_classifies_runtime_problems_as_check_does(tmp_path: Path, case: str) -> None:
    connector, change, expected, named = CASES[case]
    run, check, output = exit_codes(tmp_path, connector, change)
    assert (run, check) == (expected, expected), output
    assert named in output
