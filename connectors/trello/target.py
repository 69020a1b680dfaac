"""The Trello emulator with a demo board, for ``notion-sync demo`` and the conformance suite."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

from pydantic import BaseModel, ConfigDict, Field

from notion_sync.sdk import EmulatedTarget, OperationKind

from .emulator import TrelloEmulator
from .markers import parse_marker

__all__ = ["DEMO_LISTS", "TrelloEmulatedTarget"]

DEMO_LISTS = ("To do", "Doing", "Done")
_KEY = "demo-trello-key-0123456789abcdef"
_TOKEN = "demo-trello-token-0123456789abcdef0123456789abcdef"


class LabelSeed(BaseModel):
    """A board label: a name and one of Trello's colours (or none)."""

    model_config = ConfigDict(extra="forbid")
    name: str
    color: str | None = None


class BoardSeed(BaseModel):
    """A board in a seed fixture's ``[trello]`` table, with its lists and labels."""

    model_config = ConfigDict(extra="forbid")
    name: str
    lists: list[str] = Field(default_factory=list)
    labels: list[LabelSeed] = Field(default_factory=list)


class TrelloSeed(BaseModel):
    """``[trello]`` in a seed fixture: ``boards = [{ name, lists, labels }]`` (the demo
    credentials are members of each)."""

    model_config = ConfigDict(extra="forbid")
    boards: list[BoardSeed] = Field(default_factory=list)


class TrelloEmulatedTarget(EmulatedTarget):
    """A running emulator holding one board, "notion-sync demo", with To do / Doing / Done lists."""

    emulator: TrelloEmulator

    env = {"TRELLO_API_KEY": _KEY, "TRELLO_TOKEN": _TOKEN}

    seed_model = TrelloSeed

    def __init__(self, emulator: TrelloEmulator) -> None:
        self.emulator = emulator
        member = emulator.add_credentials(_KEY, _TOKEN, username="demo")
        self.member = member
        self.board = emulator.add_board("notion-sync demo", lists=list(DEMO_LISTS), members={member: "admin"})
        self.service_settings: dict[str, Any] = {
            "api_key_env": "TRELLO_API_KEY",
            "token_env": "TRELLO_TOKEN",
            "base_url": emulator.url,
        }
        self.mapping: dict[str, Any] = {
            "board": self.board["url"],
            "list_from": "Status",
            "lists": {"Not started": "To do", "In progress": "Doing", "Done": "Done"},
            "default_list": "To do",
            "create_labels": True,
            "fields": {"name": "{Name}", "desc": "{Notes}", "due": "Due", "due_complete": "Status", "labels": "Tags"},
        }

    def seed(self, section: Any) -> None:
        """Add the fixture's boards, with the demo member as admin of each."""
        for board in section.boards:
            self.emulator.add_board(
                board.name,
                lists=list(board.lists),
                labels=[(label.name, label.color) for label in board.labels],
                members={self.member: "admin"},
            )

    @classmethod
    def start(cls) -> TrelloEmulatedTarget:
        """Start an emulator and seed the demo board."""
        return cls(TrelloEmulator().start())

    def write_request(self, kind: OperationKind) -> tuple[str | None, str] | None:
        """A card is created by ``POST /1/cards`` and updated by ``PUT /1/cards/{id}``."""
        return ("POST", r"^/1/cards$") if kind == "create" else ("PUT", r"^/1/cards/[^/]+$")

    def items(self) -> dict[str, str]:
        """Open cards with a marker: Notion page id -> card name."""
        out: dict[str, str] = {}
        for card in self.emulator.cards(self.board["id"], closed=False):
            mark = parse_marker(card["desc"])
            if mark is not None:
                out[mark[1]] = card["name"]
        return out

    def card_for(self, page_id: str) -> dict[str, Any]:
        """The open card whose marker names ``page_id``."""
        for card in self.emulator.cards(self.board["id"], closed=False):
            mark = parse_marker(card["desc"])
            if mark is not None and mark[1] == page_id:
                return card
        raise KeyError(f"no card for page {page_id}")

    def edit_as_user(self, page_id: str, field: str) -> None:
        """As a board member would: drag the card to the next list, push its due a day later,
        rename it, or tick (untick) it complete."""
        card = self.card_for(page_id)
        if field == "list":
            names = list(DEMO_LISTS)
            here = self.emulator.list_name(card["idList"])
            self.emulator.move_card(
                card["id"], names[(names.index(here) + 1) % len(names)] if here in names else "Done"
            )
        elif field == "due":
            due = datetime.fromisoformat(str(card["due"]).replace("Z", "+00:00")) if card["due"] else datetime.now(UTC)
            self.emulator.edit_card(card["id"], {"due": (due + timedelta(days=1)).isoformat()})
        elif field == "name":
            self.emulator.edit_card(card["id"], {"name": card["name"] + " (edited in Trello)"})
        elif field == "due_complete":
            self.emulator.edit_card(card["id"], {"dueComplete": not card["dueComplete"]})
        else:
            raise ValueError(f"Trello has no write-back field {field!r}")

    def item_count(self) -> int:
        """Open cards carrying a marker, duplicates included."""
        return sum(1 for c in self.emulator.cards(self.board["id"], closed=False) if parse_marker(c["desc"]))

    def render(self) -> Any:
        """The board as Trello shows it: one column per list, its open cards in order."""
        from rich.table import Table

        table = Table(title=f"Trello board {self.board['name']!r}")
        lists = [
            x
            for x in sorted(self.emulator.lists.values(), key=lambda x: x["pos"])
            if x["idBoard"] == self.board["id"] and not x["closed"]
        ]
        columns: list[list[str]] = []
        for item in lists:
            table.add_column(item["name"])
            live = self.emulator.cards(self.board["id"], closed=False)
            cards = sorted((c for c in live if c["idList"] == item["id"]), key=lambda c: c["pos"])
            columns.append([self._cell(c) for c in cards])
        for i in range(max((len(c) for c in columns), default=0)):
            table.add_row(*(col[i] if i < len(col) else "" for col in columns))
        return table

    def _cell(self, card: dict[str, Any]) -> str:
        parts = [("✓ " if card["dueComplete"] else "") + card["name"]]
        labels = [self.emulator.labels[i]["name"] for i in card["idLabels"] if i in self.emulator.labels]
        if labels:
            parts.append("[" + ", ".join(labels) + "]")
        if card["due"]:
            parts.append("due " + card["due"][:16].replace("T", " ") + " UTC")
        return "\n".join(parts)

    def close(self) -> None:
        """Stop the emulator."""
        self.emulator.stop()
