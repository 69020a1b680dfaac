"""A shared read's client-side filters select exactly the rows Notion's own query selects.

The expected rows are the hand-written ``FILTER_CASES`` of ``test_query.py``, not the evaluator's
output: the engine and the emulator share ``notion_sync.core.notion_filters``, so a test that
compared one with the other could not fail. Each case is checked here on the pages of one
unfiltered query, as the engine sees them.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import notion_client
import pytest
from notion_client.helpers import collect_paginated_api

from notion_sync.core.emulator.notion import NotionEmulator
from notion_sync.core.errors import ConfigError
from notion_sync.core.shared_read import page_filter
from tests.notion_emulator.test_query import FILTER_CASES, names, rows  # noqa: F401 - rows is a fixture

NOW = datetime(2026, 7, 4, 9, 30, tzinfo=UTC)


def everything(client: notion_client.Client, ds_id: str) -> list[dict[str, Any]]:
    return collect_paginated_api(client.data_sources.query, data_source_id=ds_id)


@pytest.mark.usefixtures("rows")
@pytest.mark.parametrize(("flt", "expected"), FILTER_CASES)
def test_client_side_filters_match_notion(
    ds_id: str, client: notion_client.Client, flt: dict[str, Any], expected: set[str]
) -> None:
    schema = client.data_sources.retrieve(ds_id)["properties"]
    keep = page_filter("tasks", flt, schema, NOW)
    assert set(names(keep(everything(client, ds_id)))) == expected


def test_client_side_timestamp_filters_compare_minute_rounded_values(
    emu: NotionEmulator, ds_id: str, client: notion_client.Client
) -> None:
    early = emu.add_page(ds_id, {"Name": "early"})  # created 09:09:44 -> 09:09:00
    emu.advance(seconds=10)
    emu.update_page(early, {"Notes": "edited"})
    emu.advance(minutes=1)
    emu.add_page(ds_id, {"Name": "late"})
    schema = client.data_sources.retrieve(ds_id)["properties"]
    pages = everything(client, ds_id)
    after = {"timestamp": "last_edited_time", "last_edited_time": {"after": "2026-07-04T09:09:00.000Z"}}
    on_or_after = {"timestamp": "last_edited_time", "last_edited_time": {"on_or_after": "2026-07-04T09:09:00.000Z"}}
    assert names(page_filter("tasks", after, schema, NOW)(pages)) == ["late"]
    assert set(names(page_filter("tasks", on_or_after, schema, NOW)(pages))) == {"early", "late"}


def test_a_filter_notion_would_refuse_names_the_mapping(ds_id: str, client: notion_client.Client) -> None:
    schema = client.data_sources.retrieve(ds_id)["properties"]
    with pytest.raises(ConfigError, match=r"\[mappings.tasks\] filter: .*Nope"):
        page_filter("tasks", {"property": "Nope", "checkbox": {"equals": True}}, schema, NOW)
