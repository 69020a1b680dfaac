"""The Slack emulator as an ``EmulatedTarget``: for ``notion-sync demo`` and the conformance suite."""

from __future__ import annotations

import datetime as dt
from typing import Any

from core.adapter import EmulatedTarget

from . import mrkdwn
from .emulator import SlackEmulator

__all__ = ["SlackTarget", "TOKEN_ENV", "CHANNEL"]

TOKEN_ENV = "NOTION_SYNC_DEMO_SLACK_TOKEN"
CHANNEL = "notion-sync"


class SlackTarget(EmulatedTarget):
    """A running emulator with a ``#notion-sync`` channel the bot is in, and settings for it.

    The mapping is ``mirror`` mode with ``{Name}`` as the text and the card layout; pass
    ``mapping`` overrides (``{"mode": "notify", "notify_on": ["Status"]}``) for other runs.
    """

    def __init__(self, emulator: SlackEmulator, mapping: dict[str, Any] | None = None) -> None:
        self.emulator = emulator
        self.channel_id = emulator.add_channel(CHANNEL)
        self.service_settings = {"token_env": TOKEN_ENV, "base_url": emulator.api_url, "pacing_scale": 1000.0}
        self.env = {TOKEN_ENV: emulator.token}
        self.mapping = {
            "channel": f"#{CHANNEL}",
            "mode": "mirror",
            "fields": {"text": "{Name}"},
            "layout": "card",
            "card_properties": ["Status", "Due", "Owner"],
            **(mapping or {}),
        }

    @classmethod
    def start(cls, mapping: dict[str, Any] | None = None) -> SlackTarget:
        """Start an emulator and return the target around it."""
        return cls(SlackEmulator().start(), mapping)

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
        from rich.panel import Panel
        from rich.table import Table

        table = Table(show_header=False, box=None, padding=(0, 1))
        table.add_column(style="dim", no_wrap=True)
        table.add_column()
        for message in self.emulator.messages(self.channel_id):
            when = dt.datetime.fromtimestamp(float(message.ts)).strftime("%H:%M:%S")
            table.add_row(when, f"[bold]@{self.emulator.bot.name}[/] {_shown(message.text)}")
            for reply in self.emulator.replies(self.channel_id, message.ts):
                table.add_row("", f"  ↳ {_shown(reply.text)}")
        if not table.rows:
            table.add_row("", "[dim](no messages)[/]")
        return Panel(table, title=f"Slack #{CHANNEL}", title_align="left")

    def close(self) -> None:
        """Stop the emulator."""
        self.emulator.stop()


def _shown(text: str) -> str:
    from rich.markup import escape

    return escape(mrkdwn.plain(text))
