"""Odd values Notion can return (an impossible date, a year past 9999, a time zone that does not
exist) fail their row with a message naming the row, the property and the value; never a
traceback, and never a row whose mapping does not use the property. Rows are named by title and
page id in failures and in ``history``."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from typer.testing import CliRunner

from notion_sync.core.cli import app
from notion_sync.core.plugins import discover
from notion_sync.core.sandbox import Sandbox

runner = CliRunner()

BAD_DATES = {
    "an impossible date": ({"start": "2026-02-30"}, "'2026-02-30' is not a valid date"),
    "a time past year 9999": ({"start": "9999-12-31T23:30:00.000Z"}, "'9999-12-31T23:30:00.000Z' is out of the range"),
    "a time zone that does not exist": (
        {"start": "2026-03-01T10:00:00.000", "time_zone": "Mars/Olympus"},
        "the time zone 'Mars/Olympus' does not exist",
    ),
}


def cli(*args: str) -> Any:
    return runner.invoke(app, list(args), catch_exceptions=False)


@pytest.fixture
def calendar(tmp_path: Path) -> Iterator[Sandbox]:
    with Sandbox(tmp_path, connectors={"google_calendar": discover().connectors["google_calendar"]}) as box:
        yield box


def set_raw_due(box: Sandbox, date: dict[str, Any]) -> tuple[str, str]:
    """Give the first row a date value exactly as Notion could send it, edited a few minutes ago
    (an edit after a failure retries at once); returns its (title, id)."""
    assert box.database is not None
    title, page_id = next(iter(box.database.pages.items()))
    box.notion.clock.set(datetime.now(UTC) - timedelta(minutes=5))
    box.notion.update_page(page_id, {"Due": {"type": "date", "date": date}})
    box.notion.clock.set(None)
    return title, page_id


@pytest.mark.failure_case("a Notion date that cannot be used", "row error naming the row, property and value", 1)
@pytest.mark.parametrize("case", sorted(BAD_DATES))
def test_an_odd_date_is_a_row_error_naming_row_property_and_value(calendar: Sandbox, case: str) -> None:
    raw, said = BAD_DATES[case]
    title, page_id = set_raw_due(calendar, raw)
    result = cli("run", "--quiet", "--config", str(calendar.config_path))
    assert result.exit_code == 1, result.output
    line = next(ln for ln in result.stderr.splitlines() if page_id in ln)
    assert f'"{title}" ({page_id})' in line and "property 'Due'" in line and said in line, line
    assert "Traceback" not in result.output and "unexpected" not in result.output
    # Waiting for its retry: the row is not tried again, and still nothing crashes.
    result = cli("run", "--config", str(calendar.config_path))
    assert "Traceback" not in result.output and "unexpected" not in result.output
    assert result.exit_code == 0 and "1 deferred" in result.output, result.output
    history = cli("history", "--failed", "--config", str(calendar.config_path), "--log-format", "json")
    assert title in history.output and said.split(" ")[0] in history.output


@pytest.mark.failure_case("a bad value in a property the mapping does not use", "the row syncs", 0)
def test_a_bad_value_in_an_unused_property_never_fails_the_row(tmp_path: Path) -> None:
    slack = discover().connectors["slack"]
    with Sandbox(tmp_path, connectors={"slack": slack}) as box:
        data = box.config_data()
        mapping = data["mappings"][0]
        mapping.pop("layout", None)
        mapping.pop("card_properties", None)
        mapping["fields"] = {"text": "{Name}"}
        box.write_config(data)
        title, page_id = set_raw_due(box, {"start": "2026-02-30"})
        result = cli("run", "--config", str(box.config_path))
        assert result.exit_code == 0, result.output
        assert title in box.targets["slack"].items()[page_id]


@pytest.mark.failure_case("a row failing in the target", "row error and history naming the row by title and id", 1)
def test_failures_and_history_name_the_row_by_title(calendar: Sandbox) -> None:
    assert calendar.database is not None
    title, page_id = next(iter(calendar.database.pages.items()))
    calendar.notion.update_page(page_id, {"Due": ("2026-03-02T10:00:00.000+00:00", "2026-03-02T09:00:00.000+00:00")})
    result = cli("run", "--config", str(calendar.config_path))
    assert result.exit_code == 1
    assert f'row "{title}" ({page_id}):' in result.stderr
    history = cli("history", "--config", str(calendar.config_path))
    assert title in history.output
    failed = cli("history", "--failed", "--config", str(calendar.config_path))
    assert title in failed.output
