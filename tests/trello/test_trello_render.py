"""Rendering rows into card payloads, and the settings' validation: pure, no emulator."""

from __future__ import annotations

import pytest
from pydantic import ValidationError

from notion_sync.connectors.trello.markers import card_desc, parse_marker, strip_marker
from notion_sync.connectors.trello.render import MAX_TEXT, render_card
from notion_sync.connectors.trello.settings import TrelloMapping
from notion_sync.core.errors import ItemError

from .testkit import page


def mapping(**keys: object) -> TrelloMapping:
    base: dict[str, object] = {
        "board": "https://trello.com/b/AbCd1234/tasks",
        "list_from": "Status",
        "lists": {"Not started": "To do", "In progress": "Doing", "Done": "Done"},
        "default_list": "To do",
        "time_zone": "Europe/Paris",
        "fields": {"name": "{Name}", "desc": "{Notes}", "due": "Due", "due_complete": "Status", "labels": "Tags"},
    }
    base.update(keys)
    return TrelloMapping.model_validate(base)


def test_status_picks_the_list_and_unknown_status_uses_default() -> None:
    assert render_card(page(status="In progress"), mapping())["list"] == "Doing"
    assert render_card(page(status="Blocked"), mapping())["list"] == "To do"
    assert render_card(page(status=None), mapping())["list"] == "To do"


def test_status_without_list_and_no_default_is_an_item_error() -> None:
    settings = mapping(default_list=None)
    with pytest.raises(ItemError, match="'Blocked', which has no list"):
        render_card(page(status="Blocked"), settings)


def test_date_only_is_due_at_end_of_day_in_time_zone() -> None:
    payload = render_card(page(due={"start": "2026-07-14", "end": None}), mapping())
    # 23:59 in Paris in summer is 21:59 UTC.
    assert payload["due"] == "2026-07-14T21:59:00.000Z"
    assert payload["start"] is None


def test_timed_date_keeps_its_instant() -> None:
    payload = render_card(page(due={"start": "2026-11-25T09:30:00.000-05:00", "end": None}), mapping())
    assert payload["due"] == "2026-11-25T14:30:00.000Z"


def test_range_sets_start_and_due() -> None:
    payload = render_card(page(due={"start": "2026-01-10", "end": "2026-01-12"}), mapping())
    assert payload["start"] == "2026-01-09T23:00:00.000Z"  # midnight in Paris (UTC+1)
    assert payload["due"] == "2026-01-12T22:59:00.000Z"


def test_range_ending_before_it_starts_fails_the_item() -> None:
    with pytest.raises(ItemError, match="ends"):
        render_card(page(due={"start": "2026-01-12", "end": "2026-01-10"}), mapping())


def test_due_complete_from_status_and_from_checkbox() -> None:
    assert render_card(page(status="Done"), mapping())["due_complete"] is True
    assert render_card(page(status="In progress"), mapping())["due_complete"] is False
    custom = mapping(complete_statuses=["Shipped"], lists={"Shipped": "Done"})
    assert render_card(page(status="Shipped"), custom)["due_complete"] is True
    checkbox = mapping(fields={"name": "{Name}", "due_complete": "Urgent"})
    assert render_card(page(urgent=True), checkbox)["due_complete"] is True
    assert render_card(page(urgent=False), checkbox)["due_complete"] is False


def test_labels_are_sorted_names_with_colours_only_when_created() -> None:
    row = page(tags=[("Feature", "blue"), ("Bug", "red"), ("Old", "brown"), ("Misc", "gray")])
    plain = render_card(row, mapping())
    assert plain["labels"] == ["Bug", "Feature", "Misc", "Old"]
    assert "label_colors" not in plain
    created = render_card(row, mapping(create_labels=True))
    assert created["label_colors"] == {"Feature": "blue", "Bug": "red", "Old": None, "Misc": "black"}


def test_name_and_description_templates() -> None:
    settings = mapping(fields={"name": "{Name} ({Status})", "desc": "{Notes}\n{url}"})
    row = page("Ship it", status="Done", notes="Before Friday")
    payload = render_card(row, settings)
    assert payload["name"] == "Ship it (Done)"
    assert payload["desc"] == f"Before Friday\n{row.url}"


def test_marker_round_trip_and_truncation() -> None:
    page_id = "0b7e1f1c-6f53-4f4e-9a34-4d3c2b1a0f9e"
    desc = card_desc("Some notes\nover lines", "my tasks", page_id)
    assert desc.endswith(f"\n\nnotion-sync: my tasks {page_id}")
    assert parse_marker(desc) == ("my tasks", page_id)
    assert strip_marker(desc) == "Some notes\nover lines"
    assert parse_marker(card_desc("", "m", page_id)) == ("m", page_id)
    assert parse_marker("notion-sync: a b\nnot a marker") is None
    long = card_desc("x" * 20000, "m", page_id)
    assert len(long) <= MAX_TEXT and parse_marker(long) == ("m", page_id)


def test_settings_errors_name_the_key_and_fix() -> None:
    with pytest.raises(ValidationError, match="lists needs list_from"):
        TrelloMapping.model_validate({"board": "x", "lists": {"A": "B"}, "default_list": "B"})
    with pytest.raises(ValidationError, match="set default_list"):
        TrelloMapping.model_validate({"board": "x"})
    with pytest.raises(ValidationError, match="unknown time zone"):
        TrelloMapping.model_validate({"board": "x", "default_list": "A", "time_zone": "Mars/Olympus"})
    with pytest.raises(ValidationError, match="position"):
        TrelloMapping.model_validate({"board": "x", "default_list": "A", "fields": {"position": "middle"}})
    with pytest.raises(ValidationError, match="extra"):
        TrelloMapping.model_validate({"board": "x", "default_list": "A", "colour": "red"})


def test_a_status_in_notions_complete_group_marks_the_card_complete(tmp_path):
    """The Complete group comes from the data source's schema, read by the engine."""
    from notion_sync.connectors.trello.connector import TrelloConnector
    from notion_sync.core.demo_data import DEMO_SCHEMA
    from notion_sync.core.sandbox import Sandbox

    with Sandbox(
        tmp_path,
        connectors={"trello": TrelloConnector},
        rows=[],
        mapping_overrides={"trello": {"complete_statuses": []}},
    ) as box:
        ds = box.database.data_source_id
        box.notion.add_property(
            ds,
            "Stage",
            {
                "type": "status",
                "options": [
                    *DEMO_SCHEMA["Status"]["options"],
                    {"name": "Shipped", "color": "purple", "group": "Complete"},
                ],
            },
        )
        box.notion.add_page(ds, {"Name": "Released", "Stage": "Shipped"})
        box.notion.add_page(ds, {"Name": "Pending", "Stage": "In progress"})
        data = box.config_data()
        data["mappings"][0]["fields"]["due_complete"] = "Stage"
        box.write_config(data)
        assert box.run().mappings[0].counts["created"] == 2
        cards = {c["name"]: c for c in box.targets["trello"].emulator.cards()}
        assert cards["Released"]["dueComplete"] is True and cards["Pending"]["dueComplete"] is False
