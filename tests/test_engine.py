"""The engine against the Notion emulator, through notion-client, with the memo connector, on
each state backend (SQLite, PostgreSQL)."""

from __future__ import annotations

from contextlib import contextmanager
from datetime import UTC, datetime, timedelta

import pytest

from notion_sync.core.sandbox import Sandbox
from notion_sync.core.state import StateStore
from tests.conftest import memos
from tests.support.memo import MemoConnector

pytestmark = pytest.mark.usefixtures("state_backend")

HOURLY = {"memo": {"full_scan_interval": "1h"}}
"""Most tests here are about incremental reads: the hourly full scan of large data sources,
not the every-run full scan ``"auto"`` gives the small demo database."""


@pytest.fixture
def box(tmp_path):
    with Sandbox(tmp_path, connectors={"memo": MemoConnector}, mapping_overrides=HOURLY) as sandbox:
        yield sandbox


def only(report):
    assert len(report.mappings) == 1
    return report.mappings[0]


def test_pagination_over_100_rows(tmp_path):
    rows = [{"Name": f"Task {i:03}", "Status": "Not started"} for i in range(250)]
    with Sandbox(tmp_path, connectors={"memo": MemoConnector}, rows=rows) as box:
        rep = only(box.run())
        assert rep.status == "ok" and rep.counts["created"] == 250
        assert box.notion.server.request_count(r"POST /v1/data_sources/.*/query") == 3
        assert len(memos(box)) == 250 and box.targets["memo"].item_count() == 250


def test_incremental_read_catches_same_minute_edits_and_rewrites_nothing(box):
    # Rows were seeded now; the runs happen ten minutes later, on one frozen clock for
    # Notion and notion-sync.
    t1 = datetime.now(UTC).replace(second=10, microsecond=0) + timedelta(minutes=10)
    first = only(box.run(now=lambda: t1))
    assert first.full_scan and first.counts["created"] == len(box.database.pages)
    # An edit 20 s after the run started, in the same minute: its last_edited_time rounds
    # down to before the run's start, so a strict "after the last run" would miss it.
    box.notion.set_clock(t1 + timedelta(seconds=20))
    page = box.database.pages["Ship the release notes"]
    box.notion.update_page(page, {"Name": "Ship the release notes v2"})
    queries = box.notion.server.request_count("query")
    second = only(box.run(now=lambda: t1 + timedelta(seconds=50)))
    assert not second.full_scan
    assert second.counts["updated"] == 1 and second.writes == 1
    assert box.notion.server.request_count("query") == queries + 1
    assert memos(box)[page] == "Ship the release notes v2 (In progress)"
    # The next run reads that row once more (its minute overlaps the margin), unchanged;
    # the rows edited before are never read again.
    third = only(box.run(now=lambda: t1 + timedelta(minutes=5)))
    assert third.writes == 0 and third.counts["unchanged"] == 1
    fourth = only(box.run(now=lambda: t1 + timedelta(minutes=10)))
    assert fourth.writes == 0 and sum(fourth.counts.values()) == 0 and fourth.notion_requests == 1


def test_unmapped_property_change_writes_nothing(box):
    box.run()
    box.notion.update_page(box.database.pages["Ship the release notes"], {"Notes": "changed notes"})
    rep = only(box.run())
    assert rep.writes == 0 and rep.counts["unchanged"] >= 1


def test_trashed_row_is_deleted_on_full_scan_and_incremental_leaves_it(box):
    box.run()
    page = box.database.pages["Triage backlog"]
    box.notion.trash_page(page)
    assert only(box.run()).counts["deleted"] == 0  # incremental queries cannot see trashed rows
    rep = only(box.run(full=True))
    assert rep.counts["deleted"] == 1 and page not in memos(box)


def test_auto_full_scan_removes_a_trashed_row_of_a_small_data_source_on_a_plain_run(tmp_path):
    with Sandbox(tmp_path, connectors={"memo": MemoConnector}) as box:  # full_scan_interval = "auto"
        box.run()
        page = box.database.pages["Triage backlog"]
        box.notion.trash_page(page)
        rep = only(box.run())
        assert rep.full_scan and rep.counts["deleted"] == 1 and page not in memos(box)


def test_auto_keeps_the_hourly_full_scan_for_a_data_source_over_ten_query_pages(tmp_path):
    rows = [{"Name": f"Task {i:04}", "Status": "Not started"} for i in range(1001)]
    with Sandbox(tmp_path, connectors={"memo": MemoConnector}, rows=rows) as box:
        assert only(box.run()).full_scan
        page = box.notion.page_ids(box.database.data_source_id)[0]
        box.notion.trash_page(page)
        rep = only(box.run())
        assert not rep.full_scan and rep.counts["deleted"] == 0


def test_full_scan_interval_triggers_reconcile(box):
    box.run()
    data = box.config_data()
    data["mappings"][0]["full_scan_interval"] = "0s"
    box.write_config(data)
    box.run(full=True)  # the config changed: records the new config hash
    box.notion.trash_page(box.database.pages["Triage backlog"])
    rep = only(box.run())
    assert rep.full_scan and rep.counts["deleted"] == 1


def test_filter_is_passed_through_and_rows_leaving_it_are_deleted(box):
    data = box.config_data()
    data["mappings"][0]["filter"] = {"property": "Status", "status": {"does_not_equal": "Done"}}
    box.write_config(data)
    rep = only(box.run())
    assert rep.counts["created"] == len(box.database.pages) - 1
    assert box.database.pages["Write onboarding guide"] not in memos(box)
    page = box.database.pages["Fix login timeout"]
    box.notion.update_page(page, {"Status": "Done"})
    rep = only(box.run(full=True))
    assert rep.counts["deleted"] == 1 and page not in memos(box)


def _synced_long_ago(box):
    """A first run, then an incremental one that reads nothing: the clock is well past the seeding,
    so only a full read sees the rows again. Returns the clock of the next run."""
    t1 = datetime.now(UTC) + timedelta(minutes=10)
    assert only(box.run(now=lambda: t1)).counts["created"] == len(box.database.pages)
    again = only(box.run(now=lambda: t1 + timedelta(minutes=5)))
    assert not again.full_scan and sum(again.counts.values()) == 0
    return t1 + timedelta(minutes=10)


def test_changed_fields_re_render_every_row_at_the_next_run(box):
    """Catches: a changed mapping config no longer forcing a full read at the next run, so rows
    not edited since keep items rendered by the old fields."""
    later = _synced_long_ago(box)
    data = box.config_data()
    data["mappings"][0]["fields"] = {"text": "[{Status}] {Name}"}
    box.write_config(data)
    rep = only(box.run(now=lambda: later))
    assert rep.status == "ok"
    assert rep.counts["updated"] == len(box.database.pages), rep.counts
    assert all(text.startswith("[") for text in memos(box).values()), memos(box)
    assert rep.full_scan


def test_rows_leaving_a_changed_filter_follow_on_delete_at_the_next_run(box):
    """Catches: a changed filter no longer forcing a full read at the next run, so the rows that
    left the new filter are never seen to leave and keep their items."""
    later = _synced_long_ago(box)
    done = box.database.pages["Write onboarding guide"]
    data = box.config_data()
    data["mappings"][0]["filter"] = {"property": "Status", "status": {"does_not_equal": "Done"}}
    box.write_config(data)
    rep = only(box.run(now=lambda: later))
    assert rep.status == "ok"
    assert rep.counts["deleted"] == 1 and rep.writes == 1, rep.counts
    assert done not in memos(box) and len(memos(box)) == len(box.database.pages) - 1
    assert rep.full_scan


def test_compound_user_filter_keeps_its_nesting_on_incremental_runs(box):
    data = box.config_data()
    data["mappings"][0]["filter"] = {
        "and": [
            {"property": "Status", "status": {"does_not_equal": "Done"}},
            {
                "or": [
                    {"property": "Priority", "select": {"equals": "High"}},
                    {"property": "Priority", "select": {"equals": "Low"}},
                ]
            },
        ]
    }
    box.write_config(data)
    assert only(box.run()).counts["created"] == 4  # not Done, and High or Low
    box.notion.update_page(box.database.pages["Offsite planning"], {"Name": "Offsite"})
    rep = only(box.run())
    assert rep.status == "ok" and rep.counts["updated"] == 1


def test_several_data_sources_need_a_name(box):
    box.notion.add_data_source(box.database.database_id, "Archive")
    rep = only(box.run())
    assert rep.status == "config"
    assert "2 data sources" in rep.error and "'Archive'" in rep.error and "data_source" in rep.error
    data = box.config_data()
    data["mappings"][0]["data_source"] = "Team tasks"
    box.write_config(data)
    rep = only(box.run())
    assert rep.status == "ok" and rep.counts["created"] == len(box.database.pages)
    data["mappings"][0]["data_source"] = "Nope"
    box.write_config(data)
    assert "no data source 'Nope'" in only(box.run()).error


def test_query_cap_is_split_by_created_time_without_loss_or_duplicates(tmp_path):
    rows = [{"Name": f"Row {i:03}"} for i in range(75)]
    with Sandbox(tmp_path, connectors={"memo": MemoConnector}, rows=[]) as box:
        box.notion.query_cap = 30
        start = datetime(2026, 1, 1, 8, 0, tzinfo=UTC)
        for i, values in enumerate(rows):
            box.notion.set_clock(start + timedelta(seconds=20 * i))  # three rows per created_time minute
            box.notion.add_page(box.database.data_source_id, values)
        box.notion.set_clock(None)
        rep = only(box.run())
        assert rep.status == "ok" and rep.counts["created"] == 75
        assert box.targets["memo"].item_count() == 75
        assert only(box.run(full=True)).writes == 0


def test_request_status_on_a_page_before_the_last_still_reads_every_row_once(tmp_path):
    # A cap above one page (100 rows): Notion marks the first pages incomplete already.
    with Sandbox(tmp_path, connectors={"memo": MemoConnector}, rows=[]) as box:
        box.notion.query_cap = 150
        start = datetime(2026, 1, 1, 8, 0, tzinfo=UTC)
        for i in range(320):
            box.notion.set_clock(start + timedelta(seconds=20 * i))
            box.notion.add_page(box.database.data_source_id, {"Name": f"Row {i:03}"})
        box.notion.set_clock(None)
        rep = only(box.run())
        assert rep.status == "ok" and rep.counts["created"] == 320
        assert box.targets["memo"].item_count() == 320
        assert only(box.run(full=True)).writes == 0


def test_more_rows_than_the_cap_in_one_minute_is_an_error_not_a_silent_cut(tmp_path):
    with Sandbox(tmp_path, connectors={"memo": MemoConnector}, rows=[]) as box:
        box.notion.query_cap = 5
        box.notion.set_clock(datetime(2026, 1, 1, 8, 0, tzinfo=UTC))
        for i in range(8):
            box.notion.add_page(box.database.data_source_id, {"Name": f"R{i}"})
        rep = only(box.run())
        assert rep.status == "failed" and "10,000" in rep.error


def test_transient_notion_errors_are_retried_including_the_query_post(box):
    box.notion.server.faults.schedule(503, count=2, path="/query")
    box.notion.server.faults.schedule(529, count=1, path="/query")
    box.notion.server.faults.schedule(429, count=1, path="/databases/")
    box.notion.server.faults.schedule(0, count=1, path="/query")  # a dropped connection
    rep = only(box.run())
    assert rep.status == "ok" and rep.counts["created"] == len(box.database.pages)
    assert box.notion.server.faults.injected["503"] == 2 and box.notion.server.faults.injected["drop"] == 1


def test_unshared_database_and_bad_token_are_access_errors(box):
    box.notion.share(box.database.database_id, shared=False)
    report = box.run()
    rep = only(report)
    assert rep.status == "access" and report.exit_code == 3
    assert 'Connections → add "notion-sync demo"' in rep.error
    box.notion.share(box.database.database_id, shared=True)
    box.notion.revoke_token(box.notion.token)
    rep = only(box.run())
    assert rep.status == "access" and "invalid or was revoked" in rep.error


def test_renamed_property_stops_only_that_mapping_and_deletes_nothing(box):
    box.run()
    box.notion.rename_property(box.database.data_source_id, "Name", "Title")
    report = box.run(full=True)
    rep = only(report)
    assert rep.status == "config" and report.exit_code == 2
    assert "{Name}" in rep.error and "Title" in rep.error
    assert len(memos(box)) == len(box.database.pages)


def test_mass_delete_guard(tmp_path):
    rows = [{"Name": f"T{i}", "Status": "Not started"} for i in range(12)]
    with Sandbox(tmp_path, connectors={"memo": MemoConnector}, rows=rows) as box:
        box.run()
        for page in list(box.database.pages.values())[:7]:
            box.notion.trash_page(page)
        rep = only(box.run(full=True))
        assert rep.status == "failed" and "--allow-mass-delete" in rep.error
        assert len(memos(box)) == 12
        rep = only(box.run(full=True, allow_mass_delete=True))
        assert rep.counts["deleted"] == 7 and len(memos(box)) == 5


@contextmanager
def rows_edited_earlier(tmp_path, count):
    """A sandbox whose rows were last edited ten minutes ago, well before any failure."""
    with Sandbox(tmp_path, connectors={"memo": MemoConnector}, rows=[]) as box:
        box.notion.set_clock(datetime.now(UTC) - timedelta(minutes=10))
        for i in range(count):
            box.notion.add_page(box.database.data_source_id, {"Name": f"Row {i}"})
        box.notion.set_clock(None)
        yield box


def test_failed_item_is_recorded_retried_and_does_not_stop_others(tmp_path):
    with rows_edited_earlier(tmp_path, 5) as box:
        box.targets["memo"].emulator.server.faults.schedule(400, count=1, path="/memos", method="POST")
        rep = only(box.run())
        assert rep.counts["failed"] == 1 and rep.counts["created"] == 4
        state = box.open_state(readonly=True)
        assert len(state.failures("tasks-to-memo")) == 1
        state.close()
        rep = only(box.run())  # read again (the watermark was held back), but it waits for its retry time
        assert rep.counts["deferred"] == 1 and rep.writes == 0
        later = datetime.now(UTC) + timedelta(minutes=2)
        rep = only(box.run(now=lambda: later))
        assert rep.counts["created"] == 1 and rep.counts["failed"] == 0
        assert len(memos(box)) == 5


def test_a_failed_row_edited_since_is_retried_at_once(box):
    box.targets["memo"].emulator.server.faults.schedule(400, count=1, path="/memos", method="POST")
    rep = only(box.run())
    assert rep.counts["failed"] == 1
    (failed,) = rep.errors
    failed_page = failed.page_id
    box.notion.update_page(failed_page, {"Notes": "fixed"})
    rep = only(box.run())
    assert rep.counts["created"] == 1 and rep.counts["deferred"] == 0


def test_an_item_failing_max_attempts_times_is_parked_until_retry(tmp_path):
    with rows_edited_earlier(tmp_path, 3) as box:
        data = box.config_data()
        data["mappings"][0]["max_attempts"] = 2
        box.write_config(data)
        faults = box.targets["memo"].emulator.server.faults
        clock = [datetime.now(UTC)]
        faults.schedule(400, count=1, path="/memos", method="POST")
        assert only(box.run(now=lambda: clock[0])).counts["failed"] == 1
        clock[0] += timedelta(hours=2)
        faults.schedule(400, count=1, path="/memos", method="POST")
        assert only(box.run(now=lambda: clock[0])).counts["failed"] == 1
        clock[0] += timedelta(hours=2)
        rep = only(box.run(now=lambda: clock[0]))
        assert rep.counts["parked"] == 1 and rep.writes == 0 and "1 parked" in rep.summary()
        state = box.open_state()
        assert [r["parked"] for r in state.failures()] == [1]
        assert state.requeue() == 1
        state.close()
        rep = only(box.run(now=lambda: clock[0]))
        assert rep.counts["created"] == 1 and rep.counts["parked"] == 0


def test_people_and_relations_over_25_are_fetched_in_full(box):
    ds = box.database.data_source_id
    box.notion.add_property(ds, "Links", {"type": "relation"})
    targets = [box.notion.add_page(ds, {"Name": f"Target {i}"}) for i in range(30)]
    page = box.notion.add_page(ds, {"Name": "Hub", "Links": targets})
    data = box.config_data()
    data["mappings"][0]["fields"] = {"text": "{Name}: {Links}"}
    box.write_config(data)
    box.run()
    assert memos(box)[page].count(",") == 29


@pytest.mark.parametrize("kind", ["people", "relation"])
@pytest.mark.parametrize("size", [24, 25, 26])
def test_people_and_relations_at_and_over_the_inline_limit_are_fetched_in_full(box, kind, size):
    """Notion shows at most 25 people or relation references in a page; people say nothing of
    the rest, so a value showing exactly 25 may have been cut and is fetched in full.

    Catches: completion only for values showing more than 25 (``>`` for ``>=``): a people value
    of 26 shows 25, is taken as complete, and the item silently lacks the 26th person."""
    ds = box.database.data_source_id
    box.notion.add_property(ds, "Many", {"type": kind})
    if kind == "people":
        refs = [box.notion.add_user(f"Person {i:02}", f"person{i:02}@example.com") for i in range(size)]
    else:
        refs = [box.notion.add_page(ds, {"Name": f"Target {i:02}"}) for i in range(size)]
    page = box.notion.add_page(ds, {"Name": "Hub", "Many": refs})
    data = box.config_data()
    data["mappings"][0]["fields"] = {"text": "{Name}: {Many}"}
    box.write_config(data)
    rep = only(box.run())
    assert rep.status == "ok" and rep.counts["failed"] == 0, rep.errors
    text = memos(box)[page]
    assert text.count(",") == size - 1, text
    if kind == "people":
        assert f"Person {size - 1:02}" in text, text


def test_a_create_lost_in_a_crash_whose_row_then_left_is_removed(box, monkeypatch):
    """Crash after the external create, before the state write; the row is trashed before the
    next run: the full scan finds the orphan through the connector's marker and removes it."""
    original = StateStore.save_link

    def crash(self, *args, **kwargs):
        raise KeyboardInterrupt("killed")

    monkeypatch.setattr(StateStore, "save_link", crash)
    with pytest.raises(KeyboardInterrupt):
        box.run()
    monkeypatch.setattr(StateStore, "save_link", original)
    written = set(memos(box))
    assert len(written) == 1  # the first create went out, and nothing recorded it
    (page,) = written
    box.notion.trash_page(page)
    rep = only(box.run(full=True))
    assert rep.status == "ok" and rep.counts["deleted"] == 1
    assert page not in memos(box) and len(memos(box)) == len(box.database.pages) - 1
    state = box.open_state(readonly=True)
    assert state.pending_intents("tasks-to-memo") == set()
    state.close()


def test_the_notion_reader_the_state_store_and_the_retry_policy_are_handed_in(box):
    """The seams: the engine uses what it is given, so nothing needs patching."""
    from notion_sync.core.engine import Engine, RunOptions
    from notion_sync.core.notion_source import NotionSource
    from notion_sync.core.retry import RetryPolicy

    readers: list[NotionSource] = []
    opened: list[tuple[str, bool]] = []

    def notion(token, **options):
        readers.append(NotionSource(token, **options))
        return readers[-1]

    def state(path, *, readonly=False):
        opened.append((str(path), readonly))
        return StateStore.open(path, readonly=readonly)

    policy = RetryPolicy(attempts=2, initial=0.0, max_wait=0.0)
    engine = Engine(box.config(), notion=notion, state=state, retry=policy)
    report = engine.run(RunOptions())
    assert report.mappings[0].counts["created"] == len(box.database.pages) == len(memos(box))
    assert len(readers) == 1 and readers[0].retry == policy and readers[0].requests > 0
    assert opened == [(str(box.config().state_location), False)] * 2  # the run's, and the connector group's
    assert engine.connector("memo").retry_policy == policy
