"""Issue 8's counting targets, checked against the emulators at a small N (no timing here: see benchmarks/).

The real engine runs against the Notion, Google Calendar, Trello and Slack emulators through
``benchmarks.harness.Bench`` (no latency, no emulator-side limits; the clients' own pacing runs
1000× faster), on a database whose rows were created over the past days, with the engine's and
Notion's clocks moved 10 minutes before each run as cron would.
"""

from __future__ import annotations

import math
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from benchmarks.harness import TARGETS, Bench, Measure

N = 250
K = 10
D = 10


@pytest.fixture(scope="module")
def runs(tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, Any]]:
    """One database of N rows, all three targets, and each scenario's measure, in order."""
    out: dict[str, Any] = {}
    with Bench(tmp_path_factory.mktemp("counts"), N, 1000.0, realistic=False) as b:

        def run(name: str, **options: Any) -> None:
            b.tick()
            out[name] = b.run(**options)

        run("backfill")
        out["google_list_calls"] = b.servers["google_calendar"].request_count(
            r"^GET /calendar/v3/calendars/[^/]+/events$"
        )
        out["trello_board_reads"] = b.servers["trello"].request_count(r"^GET /1/boards/[^/]+/cards/all$")
        run("rerun")
        run("full", full=True)
        b.tick()
        b.edit(K, lambda i: {"Name": f"Renamed {i}"}, offset=3)
        run("mapped")
        b.tick()
        b.edit(K, lambda i: {"Urgent": i % 2 == 0}, offset=5)
        run("unmapped")
        b.tick()
        b.trash(D)
        run("delete", full=True)
        yield out


def _measure(runs: dict[str, Any], name: str) -> Measure:
    m, report = runs[name]
    assert all(r.status == "ok" for r in report.mappings), [r.summary() for r in report.mappings]
    return m


def test_backfill_writes_each_row_once(runs: dict[str, Any]) -> None:
    m = _measure(runs, "backfill")
    assert m.writes == {t: N for t in TARGETS}
    assert m.engine_writes == {t: N for t in TARGETS}


def test_backfill_reads_the_target_once_for_recovery(runs: dict[str, Any]) -> None:
    # recover() is called once per page of 100 creates: the bulk listing must be read once per run.
    assert runs["google_list_calls"] <= 2  # prepare's one-event read, and one listing
    assert runs["trello_board_reads"] == 1


def test_google_backfill_is_batched(runs: dict[str, Any]) -> None:
    m = _measure(runs, "backfill")
    # 50 calls per batch, pages of 100 rows: ceil(N/50) batches plus prepare's read and one listing.
    assert m.http["google_calendar"] <= math.ceil(N / 50) + 2


def test_rerun_without_change_writes_nothing_and_reads_notion_once(runs: dict[str, Any]) -> None:
    m = _measure(runs, "rerun")
    assert not any(m.full_scan.values())
    assert m.writes == {t: 0 for t in TARGETS}
    # One read of the data source for all three mappings: a single incremental query.
    assert m.http["notion"] == 1
    assert sum(m.notion_per_mapping.values()) == 1


def test_full_scan_without_change_reads_each_page_once(runs: dict[str, Any]) -> None:
    m = _measure(runs, "full")
    assert all(m.full_scan.values())
    assert m.writes == {t: 0 for t in TARGETS}
    # Three mappings, one shared full read: ceil(N/100) queries in all, and the schema, read once
    # by a full scan the render memo serves (an option renamed changes rows without editing them).
    assert m.http["notion"] == math.ceil(N / 100) + 1, m.notion_per_mapping
    assert sum(m.notion_per_mapping.values()) == math.ceil(N / 100) + 1


def test_a_full_scan_without_change_renders_only_what_the_memo_cannot_vouch_for(runs: dict[str, Any]) -> None:
    # Trello renders only from the row: a row not edited since its card was written is not rendered
    # again. Google's description shows Owner, a people property (a person's name changes without
    # the page being edited), and Slack looks users up while rendering: both render every row.
    _, report = runs["full"]
    assert {r.connector: r.rendered for r in report.mappings} == {"google_calendar": N, "trello": 0, "slack": N}
    _, backfill = runs["backfill"]
    assert {r.connector: r.rendered for r in backfill.mappings} == {t: N for t in TARGETS}


def test_k_mapped_changes_write_exactly_k(runs: dict[str, Any]) -> None:
    m = _measure(runs, "mapped")
    assert m.writes == {t: K for t in TARGETS}
    assert m.http["notion"] == 1


def test_unmapped_changes_write_nothing(runs: dict[str, Any]) -> None:
    m = _measure(runs, "unmapped")
    assert m.writes == {t: 0 for t in TARGETS}
    assert m.http["notion"] == 1


def test_trashed_rows_are_removed_once(runs: dict[str, Any]) -> None:
    m = _measure(runs, "delete")
    assert m.writes == {t: D for t in TARGETS}
    assert m.http["notion"] == math.ceil(N / 100) + 1  # the schema, as in a full scan without change


def test_google_batching_reaches_40_events_per_request(tmp_path: Path) -> None:
    with Bench(tmp_path, 1000, 1000.0, realistic=False, targets=("google_calendar",)) as b:
        m, _ = b.run()
    assert m.writes["google_calendar"] == 1000
    assert m.writes["google_calendar"] / m.http["google_calendar"] >= 40


def test_emulators_in_their_own_process_count_the_same(tmp_path: Path, runs: dict[str, Any]) -> None:
    # The benchmarks run the emulators apart (their CPU is not the engine's): the counts, the edits
    # and the clock must be exactly those of the emulators in this process.
    with Bench(tmp_path, N, 1000.0, realistic=False, apart=True) as b:
        b.tick()
        backfill, report = b.run()
        assert all(r.status == "ok" for r in report.mappings), [r.summary() for r in report.mappings]
        b.tick()
        b.edit(K, lambda i: {"Name": f"Renamed {i}"}, offset=3)
        mapped, _ = b.run()
        with pytest.raises(AttributeError, match="own process"):
            _ = b.servers
    here = _measure(runs, "backfill")
    assert backfill.emulators_apart and not here.emulators_apart
    assert (backfill.writes, backfill.http, backfill.calls) == (here.writes, here.http, here.calls)
    assert backfill.cpu_emulators > 0
    assert mapped.writes == {t: K for t in TARGETS}
    assert mapped.http["notion"] == 1
