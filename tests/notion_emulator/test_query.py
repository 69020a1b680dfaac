"""Data source queries: pagination, every filter family, compound and timestamp filters, sorts, trash, the cap."""

from __future__ import annotations

from typing import Any

import notion_client
import pytest
from notion_client.helpers import collect_paginated_api, iterate_paginated_api

from notion_sync.core.emulator.notion import NotionEmulator


def names(results: list[dict[str, Any]]) -> list[str]:
    return [
        r["properties"]["Name"]["title"][0]["plain_text"] if r["properties"]["Name"]["title"] else "" for r in results
    ]


def query_names(client: notion_client.Client, ds_id: str, **kwargs: Any) -> list[str]:
    return names(collect_paginated_api(client.data_sources.query, data_source_id=ds_id, **kwargs))


@pytest.fixture
def rows(emu: NotionEmulator, ds_id: str) -> dict[str, str]:
    """Five rows, one minute apart, covering every demo property."""
    owner = emu.add_user("Ada", "ada@example.com")
    specs = {
        "alpha": {
            "Status": "Not started",
            "Due": "2026-03-01",
            "Tags": ["Bug"],
            "Notes": "Fix the Login page",
            "Owner": ["ada@example.com"],
            "Priority": "High",
            "Urgent": True,
            "Estimate": 1,
        },
        "beta": {
            "Status": "In progress",
            "Due": "2026-03-02T09:00:00+01:00",
            "Tags": ["Bug", "Feature"],
            "Notes": "",
            "Priority": "Medium",
            "Estimate": 2.5,
        },
        "gamma": {
            "Status": "Done",
            "Due": ("2026-02-20", "2026-02-25"),
            "Tags": ["Docs"],
            "Notes": "login docs",
            "Owner": [{"name": "Bob", "email": "bob@example.com"}],
            "Priority": "Low",
            "Estimate": 10,
        },
        "delta": {"Status": "Done", "Due": None, "Tags": [], "Urgent": True},
        "epsilon": {"Status": "In progress", "Due": "2026-03-01T23:30:00-05:00", "Priority": "High", "Estimate": 0},
    }
    ids = {}
    for name, values in specs.items():
        ids[name] = emu.add_page(ds_id, {"Name": name, **values})
        emu.advance(minutes=1)
    ids["owner"] = owner
    return ids


def test_pagination_over_more_than_100_rows(emu: NotionEmulator, ds_id: str, client: notion_client.Client) -> None:
    for n in range(250):
        emu.add_page(ds_id, {"Name": f"Row {n:03d}"})
    first = client.data_sources.query(ds_id)
    assert len(first["results"]) == 100 and first["has_more"] is True and first["next_cursor"]
    assert first["type"] == "page_or_data_source" and first["page_or_data_source"] == {}
    assert "request_status" not in first
    pages = list(iterate_paginated_api(client.data_sources.query, data_source_id=ds_id))
    assert len(pages) == 250 and len({p["id"] for p in pages}) == 250
    assert emu.server.request_count(r"POST /v1/data_sources/.*/query") == 4  # 1 + 3 (100, 100, 50)


def test_page_size_and_default_order_newest_first(
    emu: NotionEmulator, ds_id: str, client: notion_client.Client
) -> None:
    for n in range(5):
        emu.add_page(ds_id, {"Name": f"Row {n}"})  # same minute: creation order breaks the tie
    first = client.data_sources.query(ds_id, page_size=2)
    assert names(first["results"]) == ["Row 4", "Row 3"]
    assert query_names(client, ds_id, page_size=2) == ["Row 4", "Row 3", "Row 2", "Row 1", "Row 0"]


def test_a_cursor_is_stable_while_rows_are_added(emu: NotionEmulator, ds_id: str, client: notion_client.Client) -> None:
    for n in range(4):
        emu.add_page(ds_id, {"Name": f"Row {n}"})
    first = client.data_sources.query(ds_id, page_size=2)
    emu.add_page(ds_id, {"Name": "Late"})
    second = client.data_sources.query(ds_id, page_size=2, start_cursor=first["next_cursor"])
    assert names(second["results"]) == ["Row 1", "Row 0"] and second["has_more"] is False


FILTER_CASES: list[tuple[dict[str, Any], set[str]]] = [
    ({"property": "Name", "title": {"equals": "beta"}}, {"beta"}),
    ({"property": "Name", "title": {"contains": "LTA"}}, {"delta"}),
    ({"property": "Name", "title": {"starts_with": "e"}}, {"epsilon"}),
    ({"property": "Name", "title": {"ends_with": "ta"}}, {"beta", "delta"}),
    ({"property": "Name", "title": {"does_not_equal": "beta"}}, {"alpha", "gamma", "delta", "epsilon"}),
    ({"property": "Notes", "rich_text": {"contains": "login"}}, {"alpha", "gamma"}),
    ({"property": "Notes", "rich_text": {"does_not_contain": "login"}}, {"beta", "delta", "epsilon"}),
    ({"property": "Notes", "rich_text": {"is_empty": True}}, {"beta", "delta", "epsilon"}),
    ({"property": "Notes", "rich_text": {"is_not_empty": True}}, {"alpha", "gamma"}),
    ({"property": "Status", "status": {"equals": "Done"}}, {"gamma", "delta"}),
    ({"property": "Status", "status": {"does_not_equal": "Done"}}, {"alpha", "beta", "epsilon"}),
    ({"property": "Priority", "select": {"equals": "High"}}, {"alpha", "epsilon"}),
    ({"property": "Priority", "select": {"is_empty": True}}, {"delta"}),
    ({"property": "Priority", "select": {"is_not_empty": True}}, {"alpha", "beta", "gamma", "epsilon"}),
    ({"property": "Tags", "multi_select": {"contains": "Bug"}}, {"alpha", "beta"}),
    ({"property": "Tags", "multi_select": {"does_not_contain": "Bug"}}, {"gamma", "delta", "epsilon"}),
    ({"property": "Tags", "multi_select": {"is_empty": True}}, {"delta", "epsilon"}),
    ({"property": "Urgent", "checkbox": {"equals": True}}, {"alpha", "delta"}),
    ({"property": "Urgent", "checkbox": {"does_not_equal": True}}, {"beta", "gamma", "epsilon"}),
    ({"property": "Estimate", "number": {"greater_than": 1}}, {"beta", "gamma"}),
    ({"property": "Estimate", "number": {"less_than_or_equal_to": 1}}, {"alpha", "epsilon"}),
    ({"property": "Estimate", "number": {"equals": 0}}, {"epsilon"}),
    ({"property": "Estimate", "number": {"is_empty": True}}, {"delta"}),
    ({"property": "Due", "date": {"equals": "2026-03-01"}}, {"alpha", "epsilon"}),
    ({"property": "Due", "date": {"before": "2026-03-01"}}, {"gamma"}),
    ({"property": "Due", "date": {"on_or_before": "2026-03-01"}}, {"alpha", "gamma", "epsilon"}),
    ({"property": "Due", "date": {"after": "2026-03-01"}}, {"beta"}),
    ({"property": "Due", "date": {"on_or_after": "2026-03-01"}}, {"alpha", "beta", "epsilon"}),
    ({"property": "Due", "date": {"after": "2026-03-02T07:00:00Z"}}, {"beta"}),
    ({"property": "Due", "date": {"before": "2026-03-02T07:00:00Z"}}, {"alpha", "gamma", "epsilon"}),
    ({"property": "Due", "date": {"is_empty": True}}, {"delta"}),
    ({"property": "Due", "date": {"is_not_empty": True}}, {"alpha", "beta", "gamma", "epsilon"}),
    (
        {
            "and": [
                {"property": "Status", "status": {"equals": "Done"}},
                {"property": "Urgent", "checkbox": {"equals": True}},
            ]
        },
        {"delta"},
    ),
    (
        {
            "or": [
                {"property": "Priority", "select": {"equals": "Low"}},
                {"property": "Estimate", "number": {"equals": 0}},
            ]
        },
        {"gamma", "epsilon"},
    ),
    (
        {
            "or": [
                {"property": "Name", "title": {"equals": "alpha"}},
                {
                    "and": [
                        {"property": "Status", "status": {"equals": "In progress"}},
                        {"property": "Priority", "select": {"equals": "High"}},
                    ]
                },
            ]
        },
        {"alpha", "epsilon"},
    ),
]
"""Filters and the rows of ``rows`` they select, written by hand from Notion's documented
semantics (not computed by the evaluator): they pin the emulator's queries here and the
engine's client-side filtering of shared reads (``test_client_side_filters.py``)."""


@pytest.mark.parametrize(("flt", "expected"), FILTER_CASES)
def test_property_filters(
    rows: dict[str, str], ds_id: str, client: notion_client.Client, flt: dict[str, Any], expected: set[str]
) -> None:
    assert set(query_names(client, ds_id, filter=flt)) == expected


def test_filters_by_property_id_and_people(
    emu: NotionEmulator, rows: dict[str, str], ds_id: str, client: notion_client.Client
) -> None:
    status_id = emu.schema(ds_id)["Status"]["id"]
    assert set(query_names(client, ds_id, filter={"property": status_id, "status": {"equals": "Done"}})) == {
        "gamma",
        "delta",
    }
    assert query_names(client, ds_id, filter={"property": "Owner", "people": {"contains": rows["owner"]}}) == ["alpha"]
    assert set(query_names(client, ds_id, filter={"property": "Owner", "people": {"is_empty": True}})) == {
        "beta",
        "delta",
        "epsilon",
    }


def test_timestamp_filters_compare_minute_rounded_values(
    emu: NotionEmulator, ds_id: str, client: notion_client.Client
) -> None:
    early = emu.add_page(ds_id, {"Name": "early"})  # created 09:09:44 -> 09:09:00
    emu.advance(seconds=10)  # 09:09:54, same minute
    emu.update_page(early, {"Notes": "edited"})
    emu.advance(minutes=1)  # 09:10:54
    emu.add_page(ds_id, {"Name": "late"})
    watermark = "2026-07-04T09:09:00.000Z"
    after = {"timestamp": "last_edited_time", "last_edited_time": {"after": watermark}}
    on_or_after = {"timestamp": "last_edited_time", "last_edited_time": {"on_or_after": watermark}}
    assert query_names(client, ds_id, filter=after) == ["late"]  # the same-minute edit is lost
    assert set(query_names(client, ds_id, filter=on_or_after)) == {"early", "late"}
    created = {"timestamp": "created_time", "created_time": {"before": "2026-07-04T09:10:00Z"}}
    assert query_names(client, ds_id, filter=created) == ["early"]
    combined = {"and": [on_or_after, {"property": "Notes", "rich_text": {"is_not_empty": True}}]}
    assert query_names(client, ds_id, filter=combined) == ["early"]


def test_last_edited_time_moves_on_update(emu: NotionEmulator, ds_id: str, client: notion_client.Client) -> None:
    page_id = emu.add_page(ds_id, {"Name": "x"})
    emu.advance(minutes=3)
    emu.update_page(page_id, {"Urgent": True})
    page = client.pages.retrieve(page_id)
    assert page["created_time"] == "2026-07-04T09:09:00.000Z"
    assert page["last_edited_time"] == "2026-07-04T09:12:00.000Z"


@pytest.mark.parametrize(
    ("sorts", "expected"),
    [
        ([{"property": "Name", "direction": "ascending"}], ["alpha", "beta", "delta", "epsilon", "gamma"]),
        ([{"property": "Estimate", "direction": "descending"}], ["gamma", "beta", "alpha", "epsilon", "delta"]),
        ([{"property": "Estimate", "direction": "ascending"}], ["epsilon", "alpha", "beta", "gamma", "delta"]),
        ([{"property": "Due", "direction": "ascending"}], ["gamma", "alpha", "epsilon", "beta", "delta"]),
        (
            [{"property": "Status", "direction": "ascending"}, {"property": "Name", "direction": "descending"}],
            ["alpha", "epsilon", "beta", "gamma", "delta"],
        ),
        ([{"timestamp": "created_time", "direction": "ascending"}], ["alpha", "beta", "gamma", "delta", "epsilon"]),
        (
            [{"timestamp": "last_edited_time", "direction": "descending"}],
            ["epsilon", "delta", "gamma", "beta", "alpha"],
        ),
    ],
)
def test_sorts(
    rows: dict[str, str], ds_id: str, client: notion_client.Client, sorts: list[dict[str, Any]], expected: list[str]
) -> None:
    assert query_names(client, ds_id, sorts=sorts) == expected


def test_trashed_rows_never_come_back_from_a_query(
    emu: NotionEmulator, rows: dict[str, str], ds_id: str, client: notion_client.Client
) -> None:
    emu.trash_page(rows["beta"])
    assert "beta" not in query_names(client, ds_id)
    assert "beta" not in query_names(client, ds_id, filter={"property": "Tags", "multi_select": {"contains": "Bug"}})
    trashed = client.pages.retrieve(rows["beta"])
    assert trashed["in_trash"] is True and trashed["archived"] is True
    emu.restore_page(rows["beta"])
    assert "beta" in query_names(client, ds_id)


def test_every_page_of_a_capped_query_carries_request_status(
    emu: NotionEmulator, ds_id: str, client: notion_client.Client
) -> None:
    emu.query_cap = 25
    for n in range(40):
        emu.add_page(ds_id, {"Name": f"Row {n}"})
    responses = []
    cursor = None
    while True:
        response = client.data_sources.query(ds_id, page_size=10, start_cursor=cursor)
        responses.append(response)
        if not response["has_more"]:
            break
        cursor = response["next_cursor"]
    assert [len(r["results"]) for r in responses] == [10, 10, 5]
    assert responses[-1]["has_more"] is False and responses[-1]["next_cursor"] is None
    # "Every page of a query response can include a request_status ... even if that signal
    # appears before the last page" (developers.notion.com/guides/data-apis/query-large-data-sources)
    incomplete = {"type": "incomplete", "incomplete_reason": "query_result_limit_reached"}
    assert all(r["request_status"] == incomplete for r in responses)
    assert responses[0]["has_more"] is True


def test_no_request_status_when_the_cap_is_met_exactly(
    emu: NotionEmulator, ds_id: str, client: notion_client.Client
) -> None:
    emu.query_cap = 20
    for n in range(20):
        emu.add_page(ds_id, {"Name": f"Row {n}"})
    last = client.data_sources.query(ds_id, page_size=20)
    assert len(last["results"]) == 20 and last["has_more"] is False and "request_status" not in last


def test_filter_properties_limits_properties(
    emu: NotionEmulator, rows: dict[str, str], ds_id: str, client: notion_client.Client
) -> None:
    due_id = emu.schema(ds_id)["Due"]["id"]
    result = client.data_sources.query(ds_id, filter_properties=["title", due_id])["results"][0]
    assert set(result["properties"]) == {"Name", "Due"}


def test_rows_of_another_data_source_stay_out(
    emu: NotionEmulator, demo: Any, ds_id: str, client: notion_client.Client
) -> None:
    other = emu.add_data_source(demo.id, "Backlog")
    emu.add_page(ds_id, {"Name": "main"})
    emu.add_page(other, {"Name": "backlog"})
    assert query_names(client, ds_id) == ["main"]
    assert query_names(client, other) == ["backlog"]
