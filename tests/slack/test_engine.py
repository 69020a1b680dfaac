"""The Slack connector under the real engine, state file and Notion emulator."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from notion_sync.connectors.slack.connector import SlackConnector
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
        assert rep.status == "failed" and "/invite @notion-sync" in rep.error
        assert target.emulator.server.request_count("chat.") == 0
