"""Pacing: a normal backfill stays under each service's documented rate, counted by the emulators'
token buckets (``faults.rate_limit``) rather than by timing: the bucket answers 429 to any request
over the limit, so "no 429" means no window ever held more requests than the service allows.

Each test makes more requests than one bucket holds, so without pacing the bucket would have
answered 429s. Windows are scaled down where the connector lets them be (Trello's rate_window,
Slack's pacing_scale) to keep the suite fast; the ratios are the documented ones.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from notion_sync.core.engine import Engine, RunOptions
from notion_sync.core.pacing import Pacer
from notion_sync.core.plugins import discover
from notion_sync.core.sandbox import Sandbox
from tests.support.memo import MemoConnector


def rows(n: int, *, due: bool = False) -> list[dict[str, str]]:
    return [
        {"Name": f"Row {i:03}", "Status": "Not started", **({"Due": "2026-03-10"} if due else {})} for i in range(n)
    ]


def test_notion_reads_average_3_per_second(tmp_path: Path) -> None:
    # Notion: "an average of three requests per second", bursts allowed: a bucket of 6 per 2 s.
    with Sandbox(tmp_path, connectors={"memo": MemoConnector}, rows=rows(800)) as box:
        data = box.config_data()
        data["notion"]["requests_per_second"] = 3.0  # the default (the sandbox raises it)
        box.write_config(data)
        faults = box.notion.server.faults
        faults.rate_limit = (6, 2.0)
        rep = box.run(dry_run=True).mappings[0]  # reads every row, writes nothing
        assert rep.status == "ok" and rep.counts["created"] == 800
        sent = box.notion.server.request_count("")
        assert sent > 6, "the backfill must need more requests than one bucket holds"
        assert faults.injected["429"] == 0, f"{faults.injected['429']} of {sent} Notion requests were over the rate"


def test_trello_stays_under_100_per_10_seconds_per_token(tmp_path: Path) -> None:
    # 100 per 10 s and the default 90 per rate_window, with the window scaled to 1 s.
    trello = discover().connectors["trello"]
    with Sandbox(tmp_path, connectors={"trello": trello}, rows=rows(130)) as box:
        data = box.config_data()
        data["trello"]["rate_window"] = 1.0
        box.write_config(data)
        emulator = box.targets["trello"].emulator  # type: ignore[attr-defined]
        emulator.token_limit = (100, 1.0)  # the emulator's own per-token limit (Trello's reply)
        faults = emulator.server.faults
        faults.rate_limit = (100, 1.0)  # and the generic bucket, counting every request
        rep = box.run().mappings[0]
        assert rep.status == "ok" and rep.counts["created"] == 130 and rep.counts["failed"] == 0
        sent = box.targets["trello"].emulator.server.request_count("")  # type: ignore[attr-defined]
        assert sent > 100
        assert faults.injected["429"] == 0, f"{faults.injected['429']} of {sent} Trello requests were over the rate"
        assert not any(emulator.rate_limited.values()), emulator.rate_limited


def test_slack_posts_at_most_1_per_second_per_channel(tmp_path: Path) -> None:
    # 1 message per second per channel, scaled 2x: 1 per 0.5 s. The connector paces 10% below
    # (1 per 0.55 s); a larger scale would shrink that margin below a loaded machine's scheduling
    # jitter, and the test would measure the machine, not the pacing.
    slack = discover().connectors["slack"]
    with Sandbox(tmp_path, connectors={"slack": slack}, rows=rows(12)) as box:
        data = box.config_data()
        data["slack"]["pacing_scale"] = 2.0
        box.write_config(data)
        faults = box.targets["slack"].emulator.server.faults  # type: ignore[attr-defined]
        faults.rate_limit, faults.rate_limit_path = (1, 0.5), r"chat\.postMessage"
        rep = box.run().mappings[0]
        assert rep.status == "ok" and rep.counts["created"] == 12 and rep.counts["failed"] == 0
        # Exactly one message per row whatever the timing: a post retried after a timeout would show here.
        assert box.targets["slack"].item_count() == 12
        posts = box.targets["slack"].emulator.server.request_count("chat.postMessage")  # type: ignore[attr-defined]
        assert (posts, faults.injected["429"]) == (12, 0)


def test_google_paces_every_call_including_those_inside_batches(tmp_path: Path) -> None:
    # Google's per-user quota is about 600 per minute; the connector paces at 540 per 60 s. A
    # minute-long test is too slow, so this counts instead that every call the emulator saw,
    # alone or inside a batch request, went through that pacer.
    google = discover().connectors["google_calendar"]
    with Sandbox(tmp_path, connectors={"google_calendar": google}, rows=rows(120, due=True)) as box:
        server = box.targets["google_calendar"].emulator.server  # type: ignore[attr-defined]
        server.faults.rate_limit, server.faults.rate_limit_path = (600, 60.0), r"/calendar/v3/"
        engine = Engine(box.config())
        pacer = engine.connector("google_calendar")._pacer  # type: ignore[attr-defined]
        rep = engine.run(RunOptions()).mappings[0]
        assert rep.status == "ok" and rep.counts["created"] == 120
        calls = server.request_count(r" /calendar/v3/")  # single calls and the calls inside batches
        assert (pacer.limit, pacer.window) == (540, 60.0)
        assert sum(len(granted) for granted in pacer._calls.values()) == calls
        assert server.request_count(r"/batch/") == 2  # 120 creates: a batch per page of rows (100 and 20)
        assert server.faults.injected["429"] == 0


def test_a_pacer_takes_several_slots_at_once_and_says_how_many_are_left() -> None:
    pacer = Pacer(10, 3600.0)  # an hour-long window: nothing expires during the test
    assert pacer.room("a") == 10
    pacer.wait("a", 7)
    assert (pacer.room("a"), pacer.room("b")) == (3, 10)  # keys are separate budgets
    pacer.wait("a", 3)
    assert pacer.room("a") == 0 and pacer.waited == 0.0
    with pytest.raises(ValueError, match="cannot take 11 at once"):
        pacer.wait("b", 11)  # could never fit: an error, not a wait forever
    pacer.hold("b", 3600.0)
    assert pacer.room("b") == 0  # held: the service said the window is spent
