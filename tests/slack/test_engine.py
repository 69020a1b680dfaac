"""The Slack connector under the real engine, state file and Notion emulator."""

from __future__ import annotations

import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from starlette.responses import JSONResponse

from notion_sync.connectors.slack.connector import SlackConnector
from notion_sync.core.retry import RetryPolicy
from notion_sync.core.sandbox import Sandbox


def sandbox(tmp_path: Path, **mapping: Any) -> Sandbox:
    return Sandbox(tmp_path, connectors={"slack": SlackConnector}, mapping_overrides={"slack": mapping})


@pytest.fixture
def notify(tmp_path: Path) -> Iterator[Sandbox]:
    with sandbox(
        tmp_path,
        mode="notify",
        notify_on=["Status"],
        on_delete="keep",
        fields={"text": "New task: *{Name}* ({Status}), owner {Owner}"},
    ) as box:
        yield box


def thread(box: Sandbox, title: str) -> tuple[Any, list[str]]:
    target = box.targets["slack"]
    [message] = [m for m in target.emulator.messages(target.channel_id) if title in m.text]
    return message, [r.text for r in target.emulator.replies(target.channel_id, message.ts)]


def test_notify_threads_status_changes_and_ignores_the_rest(notify):
    assert notify.database is not None
    pages = notify.database.pages
    first = notify.run().mappings[0]
    assert first.status == "ok" and first.counts["created"] == len(pages)
    message, replies = thread(notify, "Fix login timeout")
    assert replies == []
    assert message.text.startswith("New task: *Fix login timeout* (Not started), owner ")

    notify.notion.update_page(pages["Fix login timeout"], {"Notes": "new notes", "Name": "Fix login timeout!"})
    quiet = notify.run().mappings[0]
    assert quiet.writes == 0, quiet.counts

    notify.notion.update_page(pages["Fix login timeout"], {"Status": "In progress"})
    changed = notify.run().mappings[0]
    assert changed.counts["updated"] == 1
    message, replies = thread(notify, "Fix login timeout")
    assert replies == ["*Status*: Not started → In progress"]

    again = notify.run(full=True).mappings[0]
    assert again.writes == 0
    assert len(notify.targets["slack"].items()) == len(pages)


def test_notify_keep_then_back_posts_a_new_notification(notify):
    assert notify.database is not None
    page = notify.database.pages["Triage backlog"]
    notify.run()
    notify.notion.trash_page(page)
    notify.run(full=True)
    target = notify.targets["slack"]
    assert sum("Triage backlog" in m.text for m in target.emulator.messages(target.channel_id)) == 1
    notify.notion.restore_page(page)
    notify.run(full=True)
    assert sum("Triage backlog" in m.text for m in target.emulator.messages(target.channel_id)) == 2


def test_mirror_strike_under_the_engine(tmp_path):
    with sandbox(tmp_path, on_delete="strike") as box:
        assert box.database is not None
        page = box.database.pages["Offsite planning"]
        box.run()
        box.notion.trash_page(page)
        rep = box.run(full=True).mappings[0]
        assert rep.counts["deleted"] == 1
        target = box.targets["slack"]
        assert page not in target.items()
        [struck] = [m for m in target.emulator.messages(target.channel_id) if "Offsite" in m.text]
        assert struck.text.startswith("~Offsite planning~") and struck.blocks is None
        box.notion.restore_page(page)
        box.run(full=True)
        assert target.items()[page] == "Offsite planning"


def test_bot_not_in_channel_stops_the_mapping_before_any_write(tmp_path):
    with sandbox(tmp_path) as box:
        target = box.targets["slack"]
        target.emulator.set_member(target.channel_id, False)
        rep = box.run().mappings[0]
        assert rep.status == "access" and "/invite @notion-sync" in rep.error
        assert target.emulator.server.request_count("chat.") == 0


@pytest.mark.parametrize("body", [{"ok": False, "error": "ratelimited"}, {"ok": False}], ids=["ratelimited", "bare"])
def test_a_429_with_retry_after_is_waited_out_and_never_fails_the_item(tmp_path, monkeypatch, body):
    """Slack's 429 says Retry-After: 7. The post is tried again after those 7 s (slack-sdk waits
    out a call's first 429, the core retry the one after) and lands; no item fails. It is the status
    that says "rate limited", whatever the body names (a proxy's 429 may name nothing).

    Sleeps are recorded, not slept, so the test does not wait.

    Catches: Slack's classify no longer treating HTTP 429 as retryable (only the body's
    ``ratelimited`` code), so a 429 fails the item instead of being waited out."""
    sleeps: list[float] = []
    real_sleep = time.sleep

    def recorded(seconds: float) -> None:
        if seconds >= 1:  # the client-side pacer's own waits are milliseconds here
            sleeps.append(seconds)
        real_sleep(min(seconds, 0.002))

    with sandbox(tmp_path) as box:
        assert box.database is not None
        emu = box.targets["slack"].emulator
        slacks_own = emu.server.fault_response

        def answer(status: int, request: Any) -> Any:
            if status == 429:
                return JSONResponse(body, status_code=429, headers={"Retry-After": "7"})
            return slacks_own(status, request)

        monkeypatch.setattr(emu.server, "fault_response", answer)
        emu.faults.schedule(429, count=3, path=r"chat\.postMessage$")
        policy = RetryPolicy(attempts=5, initial=0.001, max_wait=0.01, max_retry_after=120)
        monkeypatch.setattr(time, "sleep", recorded)
        rep = box.run(retry=policy).mappings[0]
        monkeypatch.setattr(time, "sleep", real_sleep)
        assert emu.faults.injected["429"] == 3
        assert rep.status == "ok" and rep.counts["failed"] == 0, rep.errors
        assert rep.counts["created"] == len(box.database.pages)
        assert set(box.targets["slack"].items()) == set(box.database.pages.values())
        assert box.targets["slack"].item_count() == len(box.database.pages)
    # slack-sdk waits out a call's first 429 (7 s and a random fraction); the core retry the
    # call's second one, exactly 7 s; then the new call's first 429 is slack-sdk's again.
    assert len(sleeps) == 3 and all(7 <= s < 8 for s in sleeps) and 7.0 in sleeps, sleeps
