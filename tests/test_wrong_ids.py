"""A page id given where a database belongs: say it is a page, and name its database."""

from __future__ import annotations

import pytest
from typer.testing import CliRunner

from notion_sync.core.cli import app
from tests.support.failure_cases import assert_clean_failure
from tests.support.memo import with_memo

runner = CliRunner()


def cli(*args: str):
    return runner.invoke(app, list(args), catch_exceptions=False, obj=with_memo())


def with_database(box, database: str) -> None:
    data = box.config_data()
    data["mappings"][0]["database"] = database
    box.write_config(data)


@pytest.mark.failure_case("a row's page id given as database", "config error: it is a page, of database X", 2)
def test_a_row_given_as_the_database_names_its_database(box):
    row = next(iter(box.database.pages.values()))
    with_database(box, row.replace("-", ""))
    for command in ("run", "check"):
        result = cli(command, "--config", str(box.config_path))
        text = assert_clean_failure(result, 2, "is a page, not a database")
        assert box.database.database_id in text and "Team tasks" in text
        assert "not shared" not in text


@pytest.mark.failure_case("an id that is neither a database nor a page", "access error: not found, or not shared", 3)
def test_an_unknown_id_is_still_not_found_or_not_shared(box):
    with_database(box, "0123456789abcdef0123456789abcdef")
    result = cli("run", "--config", str(box.config_path))
    assert_clean_failure(result, 3, "was not found, or is not shared")
