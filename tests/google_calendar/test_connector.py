"""The connector against the emulator: exactly once, restores, updates, deletes, recovery, check."""

from __future__ import annotations

import pytest

from notion_sync.connectors.google_calendar.connector import MAX_GENERATIONS, GoogleCalendarConnector
from notion_sync.connectors.google_calendar.emulator import GoogleCalendarEmulator
from notion_sync.connectors.google_calendar.markers import MAPPING_KEY, PAGE_KEY, event_id
from notion_sync.connectors.google_calendar.settings import GoogleCalendarSettings
from notion_sync.core.adapter import DesiredItem, ExternalRef, Link
from notion_sync.core.errors import AccessError, ItemError, RetryableError
from tests.support.failure_cases import assert_clean_failure

from .conftest import CALENDAR, MakeMapping, date_prop, desired, make_row, select_prop, text_prop

OTHER = "other@group.calendar.google.com"


@pytest.fixture
def mapping(connector: GoogleCalendarConnector, make_mapping: MakeMapping):
    m = make_mapping(description="{Notes}", color="Priority", colors={"High": "tomato"})
    connector.prepare(m)
    return m


def live(emulator: GoogleCalendarEmulator, calendar: str = CALENDAR) -> list[dict]:
    return emulator.events(calendar)


def test_create_writes_the_event_with_its_markers(emulator, connector, mapping) -> None:
    row = make_row(
        "Launch", due=date_prop("2026-03-10T10:00:00.000+01:00"), Notes=text_prop("go"), Priority=select_prop("High")
    )
    ref = connector.create(desired(connector, row, mapping), mapping)
    assert ref == ExternalRef(event_id("events", row.id), {"calendar_id": CALENDAR})
    (event,) = live(emulator)
    assert event["summary"] == "Launch" and event["description"] == "go" and event["colorId"] == "11"
    assert event["start"] == {"dateTime": "2026-03-10T10:00:00+01:00", "timeZone": "Europe/Berlin"}
    assert event["extendedProperties"]["private"] == {MAPPING_KEY: "events", PAGE_KEY: row.id}
    assert event["source"]["url"] == row.url


def test_calendar_zone_is_the_default_and_time_zone_overrides(emulator, connector, make_mapping) -> None:
    row = make_row(due=date_prop("2026-03-10T10:00:00.000+01:00"))
    default = make_mapping()
    connector.prepare(default)
    assert connector.render(row, default)["start"]["timeZone"] == "Europe/Berlin"
    override = make_mapping(name="ny", time_zone="America/New_York")
    connector.prepare(override)
    assert connector.render(row, override)["start"]["timeZone"] == "America/New_York"


def test_crash_after_insert_adopts_instead_of_duplicating(emulator, connector, mapping) -> None:
    row = make_row("First")
    connector.create(desired(connector, row, mapping), mapping)  # the state never heard of it
    renamed = make_row("Renamed", page_id=row.id)
    ref = connector.create(desired(connector, renamed, mapping), mapping)
    events = live(emulator)
    assert len(events) == 1 and events[0]["id"] == ref.id and events[0]["summary"] == "Renamed"
    assert emulator.server.request_count(r"^POST .*/events$") == 2


def test_trashed_row_comes_back_on_the_same_event(emulator, connector, mapping) -> None:
    row = make_row("Back")
    item = desired(connector, row, mapping)
    ref = connector.create(item, mapping)
    assert connector.delete(Link(row.id, ref, item.payload), "delete", mapping) is None
    assert live(emulator) == []
    again = connector.create(item, mapping)
    assert again.id == ref.id
    (event,) = live(emulator)
    assert event["status"] == "confirmed" and event["summary"] == "Back"


def test_purged_id_moves_to_the_next_generation(emulator, connector, mapping) -> None:
    row = make_row("Purged")
    item = desired(connector, row, mapping)
    ref = connector.create(item, mapping)
    connector.delete(Link(row.id, ref, item.payload), "delete", mapping)
    emulator.purge(CALENDAR, ref.id)
    again = connector.create(item, mapping)
    assert again.id == event_id("events", row.id, 1)
    assert [e["id"] for e in live(emulator)] == [again.id]


def test_someone_elses_event_on_our_id_is_left_alone(emulator, connector, mapping) -> None:
    row = make_row("Mine")
    emulator.put_event(
        CALENDAR,
        {
            "id": event_id("events", row.id),
            "summary": "not ours",
            "start": {"date": "2026-01-01"},
            "end": {"date": "2026-01-02"},
        },
    )
    ref = connector.create(desired(connector, row, mapping), mapping)
    assert ref.id == event_id("events", row.id, 1)
    assert emulator.event(CALENDAR, event_id("events", row.id))["summary"] == "not ours"


def test_never_fails_forever_on_409(emulator, connector, mapping) -> None:
    row = make_row("Stubborn")
    for generation in range(MAX_GENERATIONS):
        emulator.put_event(
            CALENDAR,
            {
                "id": event_id("events", row.id, generation),
                "summary": "x",
                "start": {"date": "2026-01-01"},
                "end": {"date": "2026-01-02"},
            },
        )
    ref = connector.create(desired(connector, row, mapping), mapping)
    event = emulator.event(CALENDAR, ref.id)
    assert event["summary"] == "Stubborn" and event["extendedProperties"]["private"][PAGE_KEY] == row.id
    assert connector.recover([desired(connector, row, mapping)], mapping) == {row.id: ref}


def test_update_writes_only_owned_fields(emulator, connector, mapping) -> None:
    row = make_row("A", Notes=text_prop("n1"), Priority=select_prop("High"))
    item = desired(connector, row, mapping)
    ref = connector.create(item, mapping)
    event = emulator.event(CALENDAR, ref.id)
    emulator.edit_event(CALENDAR, ref.id, {"location": "Room 1", "extendedProperties": {"private": {"note": "theirs"}}})
    changed = make_row("B", page_id=row.id, Notes=text_prop(""), Priority=select_prop(None))
    connector.update(Link(row.id, ref, item.payload), desired(connector, changed, mapping), mapping)
    after = emulator.event(CALENDAR, ref.id)
    assert after["summary"] == "B" and after["description"] == "" and "colorId" not in after
    assert after["location"] == "Room 1" and after["extendedProperties"]["private"]["note"] == "theirs"
    assert event["etag"] != after["etag"]


def test_update_switches_between_all_day_and_timed(emulator, connector, mapping) -> None:
    row = make_row(due=date_prop("2026-03-10"))
    item = desired(connector, row, mapping)
    ref = connector.create(item, mapping)
    timed = desired(connector, make_row(page_id=row.id, due=date_prop("2026-03-10T09:00:00.000+01:00")), mapping)
    connector.update(Link(row.id, ref, item.payload), timed, mapping)
    assert emulator.event(CALENDAR, ref.id)["start"] == {
        "dateTime": "2026-03-10T09:00:00+01:00",
        "timeZone": "Europe/Berlin",
    }
    connector.update(Link(row.id, ref, timed.payload), item, mapping)
    assert emulator.event(CALENDAR, ref.id)["start"] == {"date": "2026-03-10"}


def test_update_restores_an_event_deleted_in_google(emulator, connector, mapping) -> None:
    row = make_row("Keep me")
    item = desired(connector, row, mapping)
    ref = connector.create(item, mapping)
    connector.delete(Link(row.id, ref, item.payload), "delete", mapping)
    connector.update(Link(row.id, ref, item.payload, archived=True), item, mapping)
    assert [e["id"] for e in live(emulator)] == [ref.id]


def test_update_of_a_missing_event_creates_it(emulator, connector, mapping) -> None:
    row = make_row("Lost")
    item = desired(connector, row, mapping)
    ref = connector.update(Link(row.id, ExternalRef("unknownid0000"), None), item, mapping)
    assert ref.id == event_id("events", row.id) and len(live(emulator)) == 1


def test_moving_a_mapping_to_another_calendar(emulator, connector, make_mapping) -> None:
    emulator.add_calendar(OTHER, time_zone="UTC")
    first = make_mapping()
    connector.prepare(first)
    row = make_row("Mover")
    item = desired(connector, row, first)
    ref = connector.create(item, first)
    moved = make_mapping(calendar_id=OTHER)
    connector.prepare(moved)
    new_ref = connector.update(Link(row.id, ref, item.payload), desired(connector, row, moved), moved)
    assert new_ref.extra["calendar_id"] == OTHER
    assert live(emulator) == [] and [e["summary"] for e in live(emulator, OTHER)] == ["Mover"]


def test_delete_is_done_when_already_gone(emulator, connector, mapping) -> None:
    row = make_row()
    item = desired(connector, row, mapping)
    ref = connector.create(item, mapping)
    link = Link(row.id, ref, item.payload)
    assert connector.delete(link, "delete", mapping) is None
    assert connector.delete(link, "delete", mapping) is None  # 410
    assert connector.delete(Link(row.id, ExternalRef("neverexisted"), None), "delete", mapping) is None  # 404


@pytest.mark.parametrize("count", [2, 12])
def test_recover_finds_live_events_by_marker(emulator, connector, mapping, make_mapping, count: int) -> None:
    rows = [make_row(f"r{i}") for i in range(count)]
    items = [desired(connector, r, mapping) for r in rows]
    refs = {i.page_id: connector.create(i, mapping) for i in items}
    gone = items[0]
    connector.delete(Link(gone.page_id, refs[gone.page_id], gone.payload), "delete", mapping)
    other = make_mapping(name="other")
    connector.prepare(other)
    connector.create(desired(connector, rows[1], other), other)  # same page, another mapping
    unknown = desired(connector, make_row("never written"), mapping)
    found = connector.recover([*items, unknown], mapping)
    assert found == {i.page_id: refs[i.page_id] for i in items[1:]}


@pytest.mark.failure_case("Google calendar shared read-only", "access error: Make changes to events", 3)
def test_prepare_reads_the_zone_and_refuses_read_only(emulator, connector, make_mapping) -> None:
    emulator.add_calendar(OTHER, time_zone="Asia/Tokyo", access_role="reader")
    m = make_mapping(calendar_id=OTHER)
    with pytest.raises(AccessError, match="only 'reader' access.*Make changes to events") as info:
        connector.prepare(m)
    assert_clean_failure(info.value, 3)
    emulator.set_access(OTHER, "writer")
    connector.prepare(m)
    assert (
        connector.render(make_row(due=date_prop("2026-03-10T10:00:00.000+09:00")), m)["start"]["timeZone"]
        == "Asia/Tokyo"
    )


@pytest.mark.failure_case("Google calendar not found or not shared", "access error: share the calendar with X", 3)
def test_prepare_on_a_missing_calendar_says_how_to_fix(connector, make_mapping) -> None:
    with pytest.raises(AccessError, match="nobody@example.com.*not found.*share the calendar with") as info:
        connector.prepare(make_mapping(calendar_id="nobody@example.com"))
    assert_clean_failure(info.value, 3)


def test_check_all_good(connector, make_mapping) -> None:
    results = connector.check(make_mapping())
    assert [r.ok for r in results] == [True, True, True]
    assert "Europe/Berlin" in results[1].detail and "owner" in results[2].detail


def test_check_read_only_and_missing(emulator, connector, make_mapping) -> None:
    emulator.set_access(CALENDAR, "reader")
    results = connector.check(make_mapping())
    assert [r.ok for r in results] == [True, True, False]
    assert "Make changes to events" in results[2].fix
    emulator.set_access(CALENDAR, "none")
    results = connector.check(make_mapping())
    assert [r.ok for r in results] == [True, False]
    assert "share the calendar" in results[1].fix and results[1].access


def test_check_bad_credentials(emulator, connector, make_mapping) -> None:
    emulator.reject_credentials = True
    (result,) = connector.check(make_mapping())
    assert not result.ok and result.access and "credentials" in result.name.lower()


def test_check_unreadable_credentials_file(tmp_path, make_mapping) -> None:
    conn = GoogleCalendarConnector(GoogleCalendarSettings(credentials_file=tmp_path / "missing.json"))
    (result,) = conn.check(make_mapping())
    assert not result.ok and not result.access and "does not exist" in result.detail


def test_transient_errors_are_retried(emulator, connector, mapping) -> None:
    emulator.faults.schedule(503, count=1, path=r"/events$", method="POST")
    emulator.faults.schedule(0, count=1, path=r"/events$", method="POST")  # a dropped connection
    connector.create(desired(connector, make_row(), mapping), mapping)
    assert len(live(emulator)) == 1


def test_rate_limit_that_never_ends_fails_the_item(emulator, connector, mapping) -> None:
    emulator.faults.schedule(403, count=50, path=r"/events$", method="POST")
    with pytest.raises(RetryableError, match="rate limit"):
        connector.create(desired(connector, make_row(), mapping), mapping)


def test_google_rejecting_a_row_is_an_item_error(emulator, connector, mapping) -> None:
    bad = DesiredItem(
        "events", "0" * 32, "", "x", {"summary": "x", "start": {"date": "2026-03-10"}, "end": {"date": "2026-03-10"}}
    )
    with pytest.raises(ItemError, match="400.*time range is empty"):
        connector.create(bad, mapping)


def test_calendar_unshared_mid_run_stops_the_mapping(emulator, connector, mapping) -> None:
    emulator.set_access(CALENDAR, "none")
    with pytest.raises(AccessError, match="not found.*share the calendar"):
        connector.create(desired(connector, make_row(), mapping), mapping)


def test_revoked_credentials_stop_the_mapping(emulator, connector, mapping) -> None:
    emulator.reject_credentials = True
    with pytest.raises(AccessError, match="credentials"):
        connector.create(desired(connector, make_row(), mapping), mapping)
