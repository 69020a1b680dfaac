"""The pure planner and the state store (on SQLite and PostgreSQL where the backend matters not)."""

import sqlite3
from pathlib import Path

from notion_sync.core.adapter import DesiredItem, ExternalRef
from notion_sync.core.planner import changed_fields, plan_departures, plan_rows
from notion_sync.core.state import SCHEMA_VERSION, StateStore, payload_hash
from tests.test_planner import MIXED_LINKS, MIXED_PLAN, MIXED_ROWS


def item(pid, **payload):
    return DesiredItem("m", pid, f"https://app.notion.com/p/{pid}", pid.upper(), payload)


def test_plan_create_update_unchanged_skip_fail(state_location):
    state = StateStore.open(state_location)
    for pid, link in MIXED_LINKS.items():
        action = "archive" if link.archived else "created"
        state.save_link("m", pid, link.ref, link.payload, archived=link.archived, action=action)
    links = state.get_links("m", [r.page_id for r in MIXED_ROWS])
    assert {a.page_id: (a.kind, a.reason, a.changed) for a in plan_rows(MIXED_ROWS, links)} == MIXED_PLAN


def test_the_payload_hash_is_the_one_every_stored_link_was_recorded_with():
    """The hash is of sorted compact JSON (``default=str``, non-ASCII kept). Changing its text
    would make every stored item look changed, and the next run rewrite them all."""
    import datetime
    import hashlib
    import json

    payloads = [
        {},
        {"title": "Fix login", "due": None, "done": True, "n": 3, "x": 1.5, "big": 10**30},
        {"z": 'é ☃ \u2028 "quoted" \n', "a": [{"b": 1, "a": [2.0, None]}], "m": {"k": "v"}},
        {"when": datetime.date(2026, 1, 1), "at": datetime.datetime(2026, 1, 1, 9, tzinfo=datetime.UTC)},
    ]
    for payload in payloads:
        text = json.dumps(payload, sort_keys=True, separators=(",", ":"), ensure_ascii=False, default=str)
        assert payload_hash(payload) == hashlib.sha256(text.encode()).hexdigest()
    assert payload_hash({"a": 1}) == "015abd7f5cc57a2dd94b7590f04ad8084273905ee33ec5cebeae62276a97f862"


def test_only_mapped_output_decides_an_update():
    assert payload_hash({"a": 1, "b": [1, 2]}) == payload_hash({"b": [1, 2], "a": 1})
    assert payload_hash({"a": 1}) != payload_hash({"a": 2})
    assert changed_fields({"a": 1, "b": 2}, {"a": 1, "b": 3, "c": 0}) == ("b", "c")
    assert changed_fields(None, {"x": 1}) == ("x",)


def test_departures_skip_rows_seen_and_archived_links(state_location):
    state = StateStore.open(state_location)
    for pid in "abc":
        state.save_link("m", pid, ExternalRef(pid.upper()), {"t": pid}, action="created")
    state.save_link("m", "z", ExternalRef("Z"), {"t": "z"}, archived=True, action="archive")
    state.save_link("other", "q", ExternalRef("Q"), {}, action="created")
    actions = plan_departures(state.iter_links("m"), seen={"a"})
    assert sorted(a.page_id for a in actions) == ["b", "c"]
    assert all(a.kind == "delete" and a.left for a in actions)


def test_state_records_links_intents_failures_and_history(state_location):
    state = StateStore.open(state_location)
    state.start_run("ntn_…abcd")
    state.record_intent("m", ["p1", "p2"])
    assert state.pending_intents("m") == {"p1", "p2"}
    assert state.record_failure("m", "p2", "boom") == 1
    assert state.record_failure("m", "p2", "boom again") == 2
    state.save_link("m", "p1", ExternalRef("X1", {"list": "L"}), {"name": "n"}, action="created")
    assert state.pending_intents("m") == {"p2"}
    link = state.get_links("m", ["p1"])["p1"]
    assert link.link.ref == ExternalRef("X1", {"list": "L"}) and link.link.payload == {"name": "n"}
    assert link.hash == payload_hash({"name": "n"})
    state.remove_link("m", "p1", "X1")
    assert state.get_links("m", ["p1"]) == {}
    actions = [r["action"] for r in state.history("m")]
    assert actions == ["deleted", "created", "failed", "failed"]
    assert [r["attempts"] for r in state.failures("m")] == [2]
    state.close()
    if not isinstance(state_location, Path):
        return
    raw = sqlite3.connect(state_location)
    assert raw.execute("PRAGMA user_version").fetchone()[0] == SCHEMA_VERSION
    assert raw.execute("PRAGMA journal_mode").fetchone()[0] == "wal"


def test_readonly_state_never_creates_the_file(tmp_path):
    path = tmp_path / "absent.sqlite3"
    state = StateStore.open(path, readonly=True)
    assert state.get_links("m", ["x"]) == {}
    state.close()
    assert not path.exists()


def test_reopening_keeps_data_and_schema(state_location):
    path = state_location
    StateStore.open(path).save_link("m", "p", ExternalRef("E"), {"a": 1}, action="created")
    again = StateStore.open(path)
    assert again.count_links("m") == 1
