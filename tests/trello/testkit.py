"""Helpers for the Trello connector tests: a seeded world, Notion pages as rows, desired items."""

from __future__ import annotations

import itertools
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any

import pytest

from notion_sync.connectors.trello.connector import TrelloConnector
from notion_sync.connectors.trello.emulator import TrelloEmulator
from notion_sync.connectors.trello.settings import TrelloMapping, TrelloSettings
from notion_sync.core.adapter import DesiredItem, MappingContext
from notion_sync.core.rows import Row

_counter = itertools.count(1)


@pytest.fixture
def emulator() -> Iterator[TrelloEmulator]:
    emu = TrelloEmulator().start()
    yield emu
    emu.stop()


@dataclass
class World:
    """An emulator with one board, credentials in the environment, and helpers to drive the connector."""

    emu: TrelloEmulator
    board: dict[str, Any]
    member: str
    key: str
    token: str
    key_env: str
    token_env: str

    def settings(self, **extra: Any) -> TrelloSettings:
        return TrelloSettings(api_key_env=self.key_env, token_env=self.token_env, base_url=self.emu.url, **extra)

    def connector(self, **extra: Any) -> TrelloConnector:
        return TrelloConnector(self.settings(**extra))

    def mapping(self, on_delete: str = "archive", name: str = "tasks", **keys: Any) -> MappingContext[TrelloMapping]:
        base: dict[str, Any] = {
            "board": self.board["url"],
            "list_from": "Status",
            "lists": {"Not started": "To do", "In progress": "Doing", "Done": "Done"},
            "default_list": "To do",
            "time_zone": "Europe/Paris",
            "fields": {"name": "{Name}", "desc": "{Notes}", "due": "Due", "due_complete": "Status", "labels": "Tags"},
        }
        fields = keys.pop("fields", {})
        base.update(keys)
        base["fields"] = {**base["fields"], **fields}
        return MappingContext(name=name, settings=TrelloMapping.model_validate(base), on_delete=on_delete)

    def lists_by_id(self) -> dict[str, str]:
        return {i: x["name"] for i, x in self.emu.lists.items()}

    def label_names(self, card: dict[str, Any]) -> list[str]:
        return sorted(self.emu.labels[i]["name"] for i in card["idLabels"])


@pytest.fixture
def world(emulator: TrelloEmulator, monkeypatch: pytest.MonkeyPatch) -> World:
    n = next(_counter)
    key = f"test-key-{uuid.uuid4().hex}"
    token = f"test-token-{uuid.uuid4().hex}{uuid.uuid4().hex}"
    member = emulator.add_credentials(key, token, username=f"tester{n}")
    board = emulator.add_board(
        "Tasks", lists=["To do", "Doing", "Done"], labels=[("Bug", "red")], members={member: "admin"}
    )
    monkeypatch.setenv("TEST_TRELLO_KEY", key)
    monkeypatch.setenv("TEST_TRELLO_TOKEN", token)
    return World(emulator, board, member, key, token, "TEST_TRELLO_KEY", "TEST_TRELLO_TOKEN")


def page(
    name: str = "Write docs",
    *,
    page_id: str | None = None,
    status: str | None = "Not started",
    due: dict[str, Any] | None = None,
    tags: list[tuple[str, str]] = (),  # type: ignore[assignment]
    notes: str = "",
    urgent: bool = False,
    in_trash: bool = False,
) -> Row:
    """A Notion page of the demo database, as the API returns it, turned into a Row."""
    page_id = page_id or str(uuid.uuid4())
    raw = {
        "object": "page",
        "id": page_id,
        "url": f"https://www.notion.so/{page_id.replace('-', '')}",
        "created_time": "2026-11-01T10:00:00.000Z",
        "last_edited_time": "2026-11-02T10:00:00.000Z",
        "in_trash": in_trash,
        "properties": {
            "Name": {
                "id": "title",
                "type": "title",
                "title": [{"type": "text", "plain_text": name, "text": {"content": name}}],
            },
            "Status": {
                "id": "st",
                "type": "status",
                "status": {"id": "s1", "name": status, "color": "blue"} if status else None,
            },
            "Due": {"id": "du", "type": "date", "date": due},
            "Tags": {
                "id": "tg",
                "type": "multi_select",
                "multi_select": [{"id": f"t{i}", "name": t, "color": c} for i, (t, c) in enumerate(tags)],
            },
            "Notes": {
                "id": "no",
                "type": "rich_text",
                "rich_text": ([{"type": "text", "plain_text": notes, "text": {"content": notes}}] if notes else []),
            },
            "Urgent": {"id": "ur", "type": "checkbox", "checkbox": urgent},
        },
    }
    return Row.from_page(raw)


def desired(connector: TrelloConnector, row: Row, mapping: MappingContext[TrelloMapping]) -> DesiredItem:
    """The DesiredItem the engine would build for ``row``."""
    return DesiredItem(mapping.name, row.id, row.url, row.title, connector.render(row, mapping))


Page = Callable[..., Row]
