"""``checklist = true`` through the CLI: the page's to-dos as the card's "Notion" checklist, one
request per changed item."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from typer.testing import CliRunner

from notion_sync.connectors.trello.connector import TrelloConnector
from notion_sync.core.cli import app
from notion_sync.core.sandbox import Sandbox

runner = CliRunner()
ROWS: list[dict[str, Any]] = [{"Name": "Launch", "Due": "2026-03-10"}, {"Name": "Quiet", "Due": "2026-03-11"}]


@pytest.fixture
def box(tmp_path: Path) -> Iterator[Sandbox]:
    with Sandbox(
        tmp_path, connectors={"trello": TrelloConnector}, rows=ROWS, mapping_overrides={"trello": {"checklist": True}}
    ) as made:
        yield made


def run(box: Sandbox) -> str:
    result = runner.invoke(app, ["run", "--config", str(box.config_path)], catch_exceptions=False, obj=box.discovery)
    assert result.exit_code == 0, result.output
    return result.stdout


def checklist(box: Sandbox, name: str) -> list[tuple[str, bool]]:
    emulator = box.targets["trello"].emulator
    [card] = [c for c in emulator.cards() if c["name"] == name]
    lists = [c for c in emulator.card_checklists(card["id"]) if c["name"] == "Notion"]
    if not lists:
        return []
    return [(i["name"], i["state"] == "complete") for i in sorted(lists[0]["checkItems"], key=lambda i: i["pos"])]


def writes(box: Sandbox) -> dict[str, int]:
    server = box.targets["trello"].emulator.server
    return {
        "tick": server.request_count(r"^PUT /1/cards/\w+/checkItem/"),
        "add": server.request_count(r"^POST /1/checklists/\w+/checkItems"),
        "remove": server.request_count(r"^DELETE /1/checklists/"),
        "card": server.request_count(r"^PUT /1/cards/\w+$"),
    }


def test_to_dos_become_the_notion_checklist_one_request_per_changed_item(box: Sandbox) -> None:
    assert box.database is not None
    page = box.database.pages["Launch"]
    milk, ada, _ = box.notion.add_blocks(
        page,
        [
            {"type": "to_do", "text": "buy milk", "checked": True},
            {"type": "to_do", "text": "call Ada"},
            {"type": "paragraph", "text": "not a to-do", "children": [{"type": "to_do", "text": "nested"}]},
        ],
    )
    run(box)
    assert checklist(box, "Launch") == [("buy milk", True), ("call Ada", False), ("nested", False)]
    assert checklist(box, "Quiet") == []  # no to-dos, no checklist

    before = writes(box)
    box.notion.set_block(ada, checked=True)
    assert "1 updated" in run(box)
    after = writes(box)
    assert checklist(box, "Launch")[1] == ("call Ada", True)
    assert {k: after[k] - before[k] for k in after} == {"tick": 1, "add": 0, "remove": 0, "card": 0}

    box.notion.add_blocks(page, [{"type": "to_do", "text": "ship it"}])
    run(box)
    final = writes(box)
    assert checklist(box, "Launch")[-1] == ("ship it", False)
    assert {k: final[k] - after[k] for k in final} == {"tick": 0, "add": 1, "remove": 0, "card": 0}

    for block in (milk, ada):
        box.notion.set_block(block, text="done")
    run(box)
    assert [text for text, _ in checklist(box, "Launch")] == ["done", "done", "nested", "ship it"]
    assert "0 updated" in run(box)
