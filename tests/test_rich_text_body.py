"""``{Property:rich}``, ``{body}`` and ``{body:rich}`` through the CLI, against the Notion, Slack,
Trello and Google Calendar emulators: each target's markup, escaping, body changes, truncation."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import pytest
from typer.testing import CliRunner

from notion_sync.connectors.google_calendar.connector import GoogleCalendarConnector
from notion_sync.connectors.google_calendar.target import DEMO_CALENDAR
from notion_sync.connectors.slack.connector import SlackConnector
from notion_sync.connectors.trello.connector import TrelloConnector
from notion_sync.core.cli import app
from notion_sync.core.sandbox import Sandbox

runner = CliRunner()


def _t(text: str, **notes: bool) -> dict[str, Any]:
    return {"type": "text", "text": {"content": text, "link": None}, "annotations": notes}


def _link(text: str, url: str) -> dict[str, Any]:
    return {"type": "text", "text": {"content": text, "link": {"url": url}}}


NOTES = [
    _t("Ship "),
    _t("now", bold=True),
    _t(", see "),
    _link("the plan", "https://example.com/plan"),
    _t(": 2 * 3 is a_b <ok> "),
    _t("run()", code=True),
    _t(" "),
    _t("maybe", italic=True),
    _t(" "),
    _t("old", strikethrough=True),
]
ROWS: list[dict[str, Any]] = [
    {"Name": "Launch", "Notes": NOTES, "Due": "2026-03-10", "Status": "Not started"},
    {"Name": "Plain", "Notes": "a *star* and a_b and <b>", "Due": "2026-03-11", "Status": "Not started"},
]
CONNECTORS = {"slack": SlackConnector, "trello": TrelloConnector, "google_calendar": GoogleCalendarConnector}


@contextmanager
def sandbox(tmp_path: Path, slack: str, trello: str, google: str) -> Iterator[Sandbox]:
    """The three targets, the Slack message as its text alone (no card)."""
    with Sandbox(
        tmp_path,
        connectors=CONNECTORS,
        rows=ROWS,
        mapping_overrides={
            "slack": {"fields": {"text": slack}},
            "trello": {"fields": {"name": "{Name}", "desc": trello, "due": "Due"}},
            "google_calendar": {"fields": {"summary": "{Name}", "start": "Due", "description": google}},
        },
    ) as box:
        data = box.config_data()
        for mapping in data["mappings"]:
            if mapping["connector"] == "slack":
                del mapping["layout"], mapping["card_properties"]
        box.write_config(data)
        yield box


@pytest.fixture
def rich(tmp_path: Path) -> Iterator[Sandbox]:
    with sandbox(tmp_path, "{Name}: {Notes:rich}", "{Notes:rich}", "{Notes:rich}") as box:
        yield box


@pytest.fixture
def body(tmp_path: Path) -> Iterator[Sandbox]:
    with sandbox(tmp_path, "{Name}\n{body:rich}", "{body:rich}", "{body:rich}") as box:
        yield box


def cli(box: Sandbox, *args: str) -> str:
    result = runner.invoke(
        app, ["run", "--config", str(box.config_path), *args], catch_exceptions=False, obj=box.discovery
    )
    assert result.exit_code == 0, result.output
    return result.stdout


def texts(box: Sandbox) -> dict[str, dict[str, str]]:
    """What each target shows, by row name."""
    slack = box.targets["slack"]
    messages = {m.text.split(":")[0].split("\n")[0]: m.text for m in slack.emulator.messages(slack.channel_id)}
    trello = {c["name"]: c["desc"].split("\n\n---")[0] for c in box.targets["trello"].emulator.cards()}
    google = {
        e["summary"]: e.get("description", "") for e in box.targets["google_calendar"].emulator.events(DEMO_CALENDAR)
    }
    return {"slack": messages, "trello": trello, "google": google}


def test_rich_text_is_written_in_each_targets_markup(rich: Sandbox) -> None:
    out = cli(rich)
    assert out.count("2 created") == 3, out
    shown = texts(rich)
    assert shown["slack"]["Launch"] == (
        "Launch: Ship *now*, see <https://example.com/plan|the plan>: 2 \u2217 3 is a\u02cdb &lt;ok&gt; "
        "`run()` _maybe_ ~old~"
    )
    assert shown["trello"]["Launch"].startswith(
        r"Ship **now**, see [the plan](https://example.com/plan): 2 \* 3 is a\_b \<ok\> `run()` *maybe* ~~old~~"
    )
    assert shown["google"]["Launch"] == (
        'Ship <b>now</b>, see <a href="https://example.com/plan">the plan</a>: 2 * 3 is a_b &lt;ok&gt; '
        "<code>run()</code> <i>maybe</i> <s>old</s>"
    )


def test_a_formatting_character_in_a_plain_segment_stays_literal(rich: Sandbox) -> None:
    cli(rich)
    shown = texts(rich)
    # Slack cannot escape: a lookalike star never makes bold text.
    assert shown["slack"]["Plain"] == "Plain: a \u2217star\u2217 and a\u02cdb and &lt;b&gt;"
    assert shown["trello"]["Plain"].startswith(r"a \*star\* and a\_b and \<b\>")
    assert shown["google"]["Plain"] == "a *star* and a_b and &lt;b&gt;"


def test_plain_placeholders_stay_plain_text(tmp_path: Path) -> None:
    with sandbox(tmp_path, "{Name}: {Notes}", "{Notes}", "{Notes}") as box:
        cli(box)
        shown = texts(box)
    assert shown["google"]["Launch"] == "Ship now, see the plan: 2 * 3 is a_b <ok> run() maybe old"
    assert shown["trello"]["Plain"].startswith("a *star* and a_b and <b>")


BODY = [
    {"type": "heading_2", "text": "Plan"},
    {"type": "paragraph", "text": [_t("Do it "), _t("today", bold=True)]},
    {"type": "bulleted_list_item", "text": "first", "children": [{"type": "paragraph", "text": "nested"}]},
    {"type": "numbered_list_item", "text": "one"},
    {"type": "numbered_list_item", "text": "two"},
    {"type": "to_do", "text": "buy milk", "checked": True},
    {"type": "to_do", "text": "call Ada"},
    {"type": "quote", "text": "be kind"},
    {"type": "callout", "text": "heads up"},
    {"type": "code", "text": "x = 1 * 2"},
    {"type": "divider"},
]


def test_the_page_body_renders_in_each_target_and_a_body_change_alone_updates(body: Sandbox) -> None:
    assert body.database is not None
    page = body.database.pages["Launch"]
    [_, _, bullet, *_, todo, _, _, _, _] = body.notion.add_blocks(page, BODY)
    cli(body)
    shown = texts(body)
    assert shown["slack"]["Launch"] == (
        "Launch\n*Plan*\nDo it *today*\n• first\n    nested\n1. one\n2. two\n☑ buy milk\n☐ call Ada\n"
        ">be kind\nheads up\n```\nx = 1 * 2\n```\n———"
    )
    assert shown["trello"]["Launch"].startswith(
        "## Plan\nDo it **today**\n- first\n    nested\n1. one\n2. two\n☑ buy milk\n☐ call Ada\n> be kind\n"
        "heads up\n```\nx = 1 * 2\n```\n---"
    )
    assert shown["google"]["Launch"] == (
        "<b>Plan</b>\nDo it <b>today</b>\n• first\n    nested\n1. one\n2. two\n☑ buy milk\n☐ call Ada\n"
        "<blockquote>be kind</blockquote>\nheads up\n<pre>x = 1 * 2</pre>\n<hr>"
    )
    assert "nested" in shown["slack"]["Launch"]

    again = cli(body)
    assert again.count("0 updated") == 3 and again.count("2 unchanged") == 3, again

    body.notion.set_block(todo, checked=True)
    changed = cli(body)
    assert changed.count("1 updated") == 3, changed
    assert "☑ call Ada" in texts(body)["google"]["Launch"]

    body.notion.set_block(bullet, text="first, edited")
    cli(body)
    assert "• first, edited" in texts(body)["slack"]["Launch"]


def test_an_unedited_page_is_not_read_again(body: Sandbox) -> None:
    assert body.database is not None
    body.notion.add_blocks(body.database.pages["Launch"], [{"type": "paragraph", "text": "hello"}])
    cli(body)
    before = body.notion.requests.get(("GET", "/v1/blocks/{block_id}/children"), 0)
    cli(body, "--full")
    cli(body, "--full")
    after = body.notion.requests.get(("GET", "/v1/blocks/{block_id}/children"), 0)
    # The first run read each page in the minute of its last edit: one more read settles it.
    assert after - before <= 2 * 3
    cli(body, "--full")
    assert body.notion.requests.get(("GET", "/v1/blocks/{block_id}/children"), 0) == after


def test_a_long_body_is_cut_with_the_page_link(body: Sandbox) -> None:
    assert body.database is not None
    page = body.database.pages["Launch"]
    body.notion.add_blocks(page, [{"type": "paragraph", "text": f"line {i} " + "x" * 90} for i in range(200)])
    cli(body)
    event = texts(body)["google"]["Launch"]
    assert len(event) <= 8192
    assert event.endswith('">… more in Notion</a>') and "line 0 " in event and "line 199" not in event
    card = texts(body)["trello"]["Launch"]
    assert "line 150" in card and "[… more in Notion](https://" in card
