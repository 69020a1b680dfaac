"""Mappings on one data source share one Notion read per run, each with its own filter."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from notion_sync.core.engine import RunReport
from notion_sync.core.sandbox import Sandbox
from tests.support.memo import MemoConnector


class OtherMemoConnector(MemoConnector):
    name = "memo2"


class ThirdMemoConnector(MemoConnector):
    name = "memo3"


CONNECTORS = {"memo": MemoConnector, "memo2": OtherMemoConnector, "memo3": ThirdMemoConnector}
URGENT = {"property": "Urgent", "checkbox": {"equals": True}}
DONE = {"property": "Status", "status": {"equals": "Done"}}
NOT_DONE_AND_URGENT = {"and": [URGENT, {"property": "Status", "status": {"does_not_equal": "Done"}}]}


def seed(box: Sandbox, n: int) -> None:
    """``n`` rows edited before the first run: every 3rd urgent, every 4th done."""
    box.notion.set_clock(datetime.now(UTC) - timedelta(minutes=10))
    rows = [
        {"Name": f"T{i}", "Urgent": i % 3 == 0, "Status": "Done" if i % 4 == 0 else "Not started"} for i in range(n)
    ]
    box.notion.add_pages(box.database.data_source_id, rows)
    box.notion.set_clock(None)


QUERIES = r"^POST /v1/data_sources/[^/]+/query$"


def first_run(box: Sandbox, rows: int) -> RunReport:
    """Seed ``rows`` rows and run once; every mapping must succeed."""
    seed(box, rows)
    report = box.run()
    assert [m.status for m in report.mappings] == ["ok"] * len(report.mappings), [m.error for m in report.mappings]
    return report


def texts(box: Sandbox, connector: str) -> set[str]:
    return {t.split(" ")[0] for t in box.targets[connector].items().values()}


def test_three_filters_on_one_data_source_cost_one_read(tmp_path: Path) -> None:
    hourly = {"full_scan_interval": "1h"}  # incremental runs: the hourly full scan of a large data source
    overrides = {
        "memo": {"filter": URGENT, **hourly},
        "memo2": {"filter": DONE, **hourly},
        "memo3": {"filter": NOT_DONE_AND_URGENT, **hourly},
    }
    with Sandbox(tmp_path, connectors=CONNECTORS, rows=[], mapping_overrides=overrides) as box:
        report = first_run(box, 250)
        # Written by hand from the seed, not by the evaluator.
        assert texts(box, "memo") == {f"T{i}" for i in range(250) if i % 3 == 0}
        assert texts(box, "memo2") == {f"T{i}" for i in range(250) if i % 4 == 0}
        assert texts(box, "memo3") == {f"T{i}" for i in range(250) if i % 3 == 0 and i % 4 != 0}
        # One full read with no filter (the filters differ and one is compound): 3 pages of 100.
        assert box.notion.server.request_count(QUERIES) == 3
        assert sum(m.notion_requests for m in report.mappings) == 3 + 2  # + the database and its schema

        before = box.notion.server.request_count(QUERIES)
        again = box.run()
        assert [m.writes for m in again.mappings] == [0, 0, 0]
        assert box.notion.server.request_count(QUERIES) - before == 1  # one incremental query for all three
        assert sum(m.notion_requests for m in again.mappings) == 1

        before = box.notion.server.request_count(QUERIES)
        full = box.run(full=True)
        assert all(m.full_scan for m in full.mappings) and [m.writes for m in full.mappings] == [0, 0, 0]
        assert box.notion.server.request_count(QUERIES) - before == 3


def test_a_relative_date_filter_keeps_its_own_query(tmp_path: Path) -> None:
    recent = {"property": "Due", "date": {"past_week": {}}}
    overrides = {"memo": {"filter": URGENT}, "memo2": {"filter": DONE}, "memo3": {"filter": recent}}
    with Sandbox(tmp_path, connectors=CONNECTORS, rows=[], mapping_overrides=overrides) as box:
        report = first_run(box, 150)
        # memo and memo2 share one read: their filters OR-ed select 75 rows, one page; memo3 reads
        # alone (one empty page).
        assert box.notion.server.request_count(QUERIES) == 1 + 1
        assert sum(m.notion_requests for m in report.mappings) == 2 + 2  # + the database and its schema, once
        assert texts(box, "memo") == {f"T{i}" for i in range(150) if i % 3 == 0}
        assert texts(box, "memo2") == {f"T{i}" for i in range(150) if i % 4 == 0}
        assert texts(box, "memo3") == set()


def test_a_bad_filter_stops_only_its_mapping(tmp_path: Path) -> None:
    overrides = {"memo": {"filter": URGENT}, "memo2": {"filter": {"property": "Nope", "checkbox": {"equals": True}}}}
    connectors = {"memo": MemoConnector, "memo2": OtherMemoConnector}
    with Sandbox(tmp_path, connectors=connectors, rows=[], mapping_overrides=overrides) as box:
        seed(box, 30)
        report = box.run()
        assert [m.status for m in report.mappings] == ["ok", "config"]
        assert "[mappings.tasks-to-memo2] filter" in report.mappings[1].error
        assert "Nope" in report.mappings[1].error
        assert texts(box, "memo") == {f"T{i}" for i in range(30) if i % 3 == 0}


class BrokenMemoConnector(MemoConnector):
    name = "memo2"

    def prepare(self, mapping: Any) -> None:
        raise RuntimeError("a bug in prepare")


def test_a_connector_bug_before_the_read_is_raised_and_nothing_waits_for_it(tmp_path: Path) -> None:
    connectors = {"memo": MemoConnector, "memo2": BrokenMemoConnector}
    with Sandbox(tmp_path, connectors=connectors, rows=[]) as box:
        seed(box, 10)
        with pytest.raises(RuntimeError, match="a bug in prepare"):
            box.run()


def test_a_filter_nested_two_levels_deep_still_works_on_incremental_runs(tmp_path: Path) -> None:
    # Notion allows two levels of nesting; the incremental read adds its own condition, which
    # would make three: such a filter is applied to the read here instead.
    deep = {"or": [{"and": [URGENT, DONE]}, {"property": "Name", "title": {"equals": "T1"}}]}
    with Sandbox(
        tmp_path,
        connectors={"memo": MemoConnector},
        rows=[],
        mapping_overrides={"memo": {"filter": deep, "full_scan_interval": "1h"}},
    ) as box:
        first_run(box, 30)
        expected = {f"T{i}" for i in range(30) if i % 12 == 0} | {"T1"}
        assert texts(box, "memo") == expected
        box.notion.update_page(next(iter(box.targets["memo"].items())), {"Urgent": False})
        again = box.run()
        assert [m.status for m in again.mappings] == ["ok"], [m.error for m in again.mappings]
        assert not again.mappings[0].full_scan
