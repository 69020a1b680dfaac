"""The Slack emulator as an ``EmulatedTarget``: for ``notion-sync demo`` and the conformance suite."""

from __future__ import annotations

import datetime as dt
import re
from typing import Any

from pydantic import BaseModel, ConfigDict, Field

from notion_sync.sdk import EmulatedTarget, OperationKind

from . import mrkdwn
from .emulator import SlackEmulator

__all__ = ["SlackTarget", "TOKEN_ENV", "CHANNEL"]

TOKEN_ENV = "NOTION_SYNC_DEMO_SLACK_TOKEN"
CHANNEL = "notion-sync"


class ChannelSeed(BaseModel):
    """A channel in a seed fixture's ``[slack]`` table."""

    model_config = ConfigDict(extra="forbid")
    name: str
    private: bool = False
    archived: bool = False
    bot_member: bool = True
    """Whether the bot is in the channel (posting elsewhere answers not_in_channel)."""


class MemberSeed(BaseModel):
    """A workspace member, found by email (``mention_people``)."""

    model_config = ConfigDict(extra="forbid")
    email: str
    name: str
    real_name: str = ""


class SlackSeed(BaseModel):
    """``[slack]`` in a seed fixture: ``channels = [{ name }]``, ``members = [{ email, name }]``."""

    model_config = ConfigDict(extra="forbid")
    channels: list[ChannelSeed] = Field(default_factory=list)
    members: list[MemberSeed] = Field(default_factory=list)


class SlackTarget(EmulatedTarget):
    """A running emulator with a ``#notion-sync`` channel the bot is in, and settings for it.

    The mapping is ``mirror`` mode with ``{Name}`` as the text and the card layout; pass
    ``mapping`` overrides (``{"mode": "notify", "notify_on": ["Status"]}``) for other runs.
    """

    emulator: SlackEmulator

    def __init__(self, emulator: SlackEmulator, mapping: dict[str, Any] | None = None) -> None:
        self.emulator = emulator
        self.channel_id = emulator.add_channel(CHANNEL)
        # Members the demo database's owners map to, so mention_people shows @mentions.
        emulator.add_user("ada@example.com", "ada", "Ada Lovelace")
        emulator.add_user("grace@example.com", "grace", "Grace Hopper")
        self.service_settings = {"token_env": TOKEN_ENV, "base_url": emulator.api_url, "pacing_scale": 1000.0}
        self.env = {TOKEN_ENV: emulator.token}
        self.mapping = {
            "channel": f"#{CHANNEL}",
            "mode": "mirror",
            "fields": {"text": "{Name}"},
            "layout": "card",
            "card_properties": ["Status", "Due", "Owner"],
            "mention_people": True,
            **(mapping or {}),
        }

    seed_model = SlackSeed

    def seed(self, section: Any) -> None:
        """Add the fixture's channels and members."""
        for channel in section.channels:
            self.emulator.add_channel(
                channel.name, member=channel.bot_member, private=channel.private, archived=channel.archived
            )
        for member in section.members:
            self.emulator.add_user(member.email, member.name, member.real_name)

    @classmethod
    def start(cls, mapping: dict[str, Any] | None = None) -> SlackTarget:
        """Start an emulator and return the target around it."""
        return cls(SlackEmulator().start(), mapping)

    def write_request(self, kind: OperationKind) -> tuple[str | None, str] | None:
        """``chat.postMessage`` creates; an update is ``chat.update`` (or, in notify mode, a thread reply)."""
        if kind == "create":
            return "POST", r"/chat\.postMessage$"
        return "POST", r"/chat\.(update|postMessage)$"

    def _live(self) -> list[tuple[str, str]]:
        """(page id, text) of every live message with our marker, oldest first. In notify mode
        an item is a thread: its text is the notification followed by the change replies."""
        out = []
        for message in self.emulator.messages(self.channel_id):
            meta = message.metadata or {}
            payload = meta.get("event_payload") or {}
            if meta.get("event_type") != "notion_sync_row" or payload.get("removed"):
                continue
            thread = [message.text] + [r.text for r in self.emulator.replies(self.channel_id, message.ts)]
            out.append((str(payload.get("page_id")), mrkdwn.plain("\n".join(thread))))
        return out

    def items(self) -> dict[str, str]:
        """Page id -> message text (as a reader sees it) of every live, not struck, message."""
        return dict(self._live())

    def item_count(self) -> int:
        """Live messages with our marker, duplicates included."""
        return len(self._live())

    def render(self) -> Any:
        """The channel as a reader would see it, threads indented."""
        from rich.table import Table

        table = Table(show_header=False, box=None, padding=(0, 1), title=f"#{CHANNEL}", title_justify="left")
        table.add_column(style="dim", no_wrap=True)
        table.add_column()
        for message in self.emulator.messages(self.channel_id):
            when = dt.datetime.fromtimestamp(float(message.ts)).strftime("%H:%M:%S")
            table.add_row(when, f"[bold]@{self.emulator.bot.name}[/] {self._shown(message.text)}")
            details = _fields(message.blocks)
            if details:
                table.add_row("", f"[dim]{self._shown(details)}[/]")
            for reply in self.emulator.replies(self.channel_id, message.ts):
                table.add_row("", f"  ↳ {self._shown(reply.text)}")
        if not table.rows:
            table.add_row("", "[dim](no messages)[/]")
        return table

    def _shown(self, text: str) -> str:
        """mrkdwn as a reader sees it: links as their labels, mentions as @names."""
        from rich.markup import escape

        names = {u.id: u.name for u in self.emulator.users.values()}
        text = re.sub(r"<@([A-Z0-9]+)>", lambda m: f"@{names.get(m.group(1), m.group(1))}", text)
        text = re.sub(r"<([^<>|]+)\|([^<>]+)>", r"\2", text)
        return escape(mrkdwn.plain(text).replace("*", ""))

    def close(self) -> None:
        """Stop the emulator."""
        self.emulator.stop()


def _fields(blocks: list[dict[str, Any]] | None) -> str:
    """The card's fields on one line: "Status: Done · Owner: Ada"."""
    parts = []
    for block in blocks or []:
        for item in block.get("fields") or []:
            name, _, value = str(item.get("text", "")).partition("\n")
            parts.append(f"{name}: {value}")
    return " · ".join(parts)
