"""Templates and typed rows, from page JSON as Notion sends it."""

from datetime import UTC, date, datetime, timedelta

import pytest

from notion_sync.core.rows import DateValue, Row, parse_property, report_unknown_types
from notion_sync.core.templates import render_template, template_properties


def page(**props):
    return {
        "object": "page",
        "id": "0b7c9d3e-1111-4222-8333-444455556666",
        "url": "https://app.notion.com/p/Task-0b7c9d3e111142228333444455556666",
        "created_time": "2026-07-04T09:09:00.000Z",
        "last_edited_time": "2026-07-04T10:11:00.000Z",
        "in_trash": False,
        "properties": props,
    }


def rt(text):
    return [
        {"type": "text", "text": {"content": text, "link": None}, "plain_text": text, "href": None, "annotations": {}}
    ]


def test_template_fills_names_with_spaces_punctuation_and_non_ascii():
    row = Row.from_page(
        page(
            **{
                "Name": {"id": "title", "type": "title", "title": rt("Ship it")},
                "Due date (UTC)": {
                    "id": "a",
                    "type": "date",
                    "date": {"start": "2026-03-01", "end": None, "time_zone": None},
                },
                "Équipe": {"id": "b", "type": "select", "select": {"id": "x", "name": "Ops", "color": "red"}},
            }
        )
    )
    out = render_template("{Name} – {Due date (UTC)} [{Équipe}] {{literal}} {url} {id} {Missing}", row)
    assert out == (
        "Ship it – 2026-03-01 [Ops] {literal} "
        "https://app.notion.com/p/Task-0b7c9d3e111142228333444455556666 "
        "0b7c9d3e-1111-4222-8333-444455556666 "
    )
    assert template_properties("{Name} {url} {Due date (UTC)} {Name} {{x}}") == ["Name", "Due date (UTC)"]


def test_template_escape_applies_to_values_only():
    row = Row.from_page(page(Name={"id": "title", "type": "title", "title": rt("a < b & c")}))
    escape = lambda s: s.replace("&", "&amp;").replace("<", "&lt;")  # noqa: E731
    assert render_template("<{Name}>", row, escape=escape) == "<a &lt; b &amp; c>"


ALL_TYPES = {
    "title": ({"title": rt("T")}, "T", "T"),
    "rich_text": ({"rich_text": rt("hello ") + rt("world")}, "hello world", "hello world"),
    "number": ({"number": 3.0}, 3.0, "3"),
    "select": ({"select": {"id": "1", "name": "A", "color": "red"}}, "A", "A"),
    "status": ({"status": {"id": "1", "name": "Done", "color": "green"}}, "Done", "Done"),
    "multi_select": (
        {"multi_select": [{"id": "1", "name": "x", "color": "red"}, {"id": "2", "name": "y", "color": "blue"}]},
        ["x", "y"],
        "x, y",
    ),
    "people": (
        {"people": [{"object": "user", "id": "u1", "name": "Ada", "person": {"email": "a@x.io"}}]},
        ["Ada"],
        "Ada",
    ),
    "files": (
        {"files": [{"name": "f.pdf", "type": "external", "external": {"url": "https://x/f.pdf"}}]},
        ["https://x/f.pdf"],
        "f.pdf",
    ),
    "checkbox": ({"checkbox": True}, True, "Yes"),
    "url": ({"url": "https://example.com"}, "https://example.com", "https://example.com"),
    "email": ({"email": "a@b.c"}, "a@b.c", "a@b.c"),
    "phone_number": ({"phone_number": "+1 555"}, "+1 555", "+1 555"),
    "formula": ({"formula": {"type": "number", "number": 42}}, 42, "42"),
    "relation": ({"relation": [{"id": "r1"}, {"id": "r2"}], "has_more": False}, ["r1", "r2"], "r1, r2"),
    "rollup": ({"rollup": {"type": "number", "number": 7, "function": "sum"}}, 7, "7"),
    "created_time": (
        {"created_time": "2026-07-04T09:09:00.000Z"},
        datetime(2026, 7, 4, 9, 9, tzinfo=UTC),
        "2026-07-04T09:09:00.000Z",
    ),
    "last_edited_time": (
        {"last_edited_time": "2026-07-04T09:10:00.000Z"},
        datetime(2026, 7, 4, 9, 10, tzinfo=UTC),
        "2026-07-04T09:10:00.000Z",
    ),
    "created_by": ({"created_by": {"object": "user", "id": "u1", "name": "Ada"}}, "Ada", "Ada"),
    "last_edited_by": ({"last_edited_by": {"object": "user", "id": "u2"}}, "u2", "u2"),
    "unique_id": ({"unique_id": {"prefix": "TASK", "number": 12}}, "TASK-12", "TASK-12"),
    "verification": (
        {"verification": {"state": "verified", "date": None, "verified_by": None}},
        "verified",
        "verified",
    ),
    "button": ({"button": {}}, None, ""),
    "place": (
        {"place": {"lat": 52.5, "lon": 13.4, "name": "Berlin"}},
        {"lat": 52.5, "lon": 13.4, "name": "Berlin"},
        "Berlin",
    ),
}


@pytest.mark.parametrize("kind", sorted(ALL_TYPES))
def test_every_documented_property_type(kind):
    data, value, text = ALL_TYPES[kind]
    prop = parse_property("P", {"id": "p", "type": kind, **data})
    assert prop.type == kind
    assert prop.value == value
    assert prop.text == text


def test_dates_keep_offsets_and_ranges():
    all_day = parse_property(
        "D", {"id": "d", "type": "date", "date": {"start": "2026-03-01", "end": None, "time_zone": None}}
    )
    assert all_day.value == DateValue(date(2026, 3, 1)) and all_day.value.all_day
    timed = parse_property(
        "D",
        {
            "id": "d",
            "type": "date",
            "date": {
                "start": "2026-03-01T09:00:00.000+01:00",
                "end": "2026-03-01T10:30:00.000+01:00",
                "time_zone": None,
            },
        },
    )
    assert not timed.value.all_day
    assert timed.value.start.utcoffset() == timedelta(hours=1)
    assert timed.value.end - timed.value.start == timedelta(minutes=90)
    empty = parse_property("D", {"id": "d", "type": "date", "date": None})
    assert empty.value is None and empty.text == ""
    formula_date = parse_property(
        "F",
        {
            "id": "f",
            "type": "formula",
            "formula": {"type": "date", "date": {"start": "2026-05-05", "end": None, "time_zone": None}},
        },
    )
    assert formula_date.value == DateValue(date(2026, 5, 5))


def test_unknown_type_is_kept_raw_and_reported_once(caplog):
    raw = {"id": "z", "type": "hologram", "hologram": {"spin": 3}}
    first = parse_property("H", raw)
    second = parse_property("H2", raw)
    assert first.value == {"spin": 3} and first.text == "" and second.raw == raw
    reported: set[str] = set()  # the engine keeps one per run
    report_unknown_types({"H": "hologram", "Name": "title"}, reported)
    report_unknown_types({"H2": "hologram"}, reported)
    assert sum("hologram" in r.getMessage() for r in caplog.records) == 1
    assert not any("title" in r.getMessage() for r in caplog.records)


def test_row_fields_and_trash_flag():
    row = Row.from_page({**page(Name={"id": "title", "type": "title", "title": rt("X")}), "in_trash": True})
    assert row.in_trash and row.title == "X"
    assert row.last_edited_time == datetime(2026, 7, 4, 10, 11, tzinfo=UTC)


def test_rows_made_for_speed_are_the_same_frozen_objects():
    """Row.from_page and parse_property skip the dataclasses' __init__ (core/frozen.py): the
    objects must still compare, hash, print and refuse changes as the dataclasses do."""
    import dataclasses

    from notion_sync.core.rows import PropertyValue, Row, parse_property

    raw = {"type": "rich_text", "rich_text": [{"plain_text": "a"}, {"plain_text": "b"}]}
    fast = parse_property("Notes", raw)
    assert fast == PropertyValue(name="Notes", type="rich_text", value="ab", text="ab", raw=raw)
    assert repr(fast).startswith("PropertyValue(name='Notes'")
    with pytest.raises(dataclasses.FrozenInstanceError):
        fast.text = "changed"  # type: ignore[misc]
    page = {
        "id": "p1",
        "url": "https://example.invalid/p1",
        "created_time": "2026-01-01T00:00:00.000Z",
        "last_edited_time": "2026-01-02T00:00:00.000Z",
        "properties": {"Notes": raw, "Name": {"type": "title", "title": [{"plain_text": "T"}]}},
    }
    row = Row.from_page(page)
    assert row.title == "T" and row.get("Notes") == fast
    assert dataclasses.replace(row, url="x").url == "x"
    with pytest.raises(dataclasses.FrozenInstanceError):
        row.id = "other"  # type: ignore[misc]


def _page(properties: dict) -> dict:
    return {
        "id": "p1",
        "url": "https://www.notion.so/p1",
        "created_time": "2026-01-01T00:00:00.000Z",
        "last_edited_time": "2026-01-02T00:00:00.000Z",
        "in_trash": False,
        "properties": properties,
    }


def _spans(*texts: str) -> list[dict]:
    return [{"type": "text", "text": {"content": t}, "plain_text": t} for t in texts]


@pytest.mark.parametrize(
    "prop",
    [
        {"type": "title", "title": _spans("Fix ", "login")},
        {"type": "title", "title": _spans("One")},
        {"type": "title", "title": []},
        {"type": "rich_text", "rich_text": _spans("a & <b>")},
        {"type": "select", "select": {"name": "Done"}},
        {"type": "select", "select": None},
        {"type": "status", "status": {"name": "In progress"}},
        {"type": "number", "number": 3.0},
        {"type": "date", "date": {"start": "2026-03-01T09:00:00.000+01:00"}},
    ],
)
def test_a_template_shows_the_same_text_as_the_parsed_property(prop: dict) -> None:
    """Templates take the text of text, title, select and status properties without parsing them
    into a ``PropertyValue``: the text must be the parsed property's, whichever way it is read."""
    row = Row.from_page(_page({"P": prop}))
    parsed = parse_property("P", prop).text
    assert render_template("[{P}]", row) == f"[{parsed}]"
    assert row.get("P").text == parsed
    assert render_template("[{P}]", Row.from_page(_page({"P": prop}))) == f"[{parsed}]"


@pytest.mark.parametrize("data", [{"0": {"plain_text": "x"}}, [{"plain_text": 7}], "text"])
def test_a_bad_text_value_fails_its_row_naming_the_property(data: object) -> None:
    from notion_sync.core.errors import BadValue

    row = Row.from_page(_page({"Notes": {"type": "rich_text", "rich_text": data}}))
    with pytest.raises(BadValue, match="property 'Notes'"):
        render_template("{Notes}", row)
