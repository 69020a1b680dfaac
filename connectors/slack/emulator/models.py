"""The Slack workspace's records as the emulator stores them: users, messages, channels."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

__all__ = ["APP_ID", "DEFAULT_SCOPES", "MAX_TEXT", "TEAM_ID", "TEAM_NAME", "EmuChannel", "EmuMessage", "EmuUser"]

MAX_TEXT = 40_000
TEAM_ID = "T0EMU00001"
TEAM_NAME = "Emulated Workspace"
APP_ID = "A0EMUAPP01"
"""The Slack app the emulated bot belongs to (``app_id`` and ``bot_profile.app_id`` on its messages)."""
DEFAULT_SCOPES = "chat:write,channels:read,channels:history,users:read,users:read.email"


@dataclass
class EmuUser:
    """A workspace member."""

    id: str
    name: str
    email: str
    real_name: str = ""
    is_bot: bool = False


@dataclass
class EmuMessage:
    """A message as the emulator stores it."""

    ts: str
    user: str
    text: str
    bot_id: str | None = None
    blocks: list[dict[str, Any]] | None = None
    metadata: dict[str, Any] | None = None
    thread_ts: str | None = None
    edited: str | None = None
    replies: list[str] = field(default_factory=list)
    bot_profile: dict[str, Any] | None = None
    """A bot's profile as Slack embeds it in the bot's messages (https://docs.slack.dev/reference/objects/message-object)."""

    def to_api(self, *, with_metadata: bool = False) -> dict[str, Any]:
        """The message as Slack's API shows it (metadata only when asked for)."""
        out: dict[str, Any] = {"type": "message", "text": self.text, "user": self.user, "ts": self.ts, "team": TEAM_ID}
        if self.bot_id:
            out["bot_id"] = self.bot_id
            if self.bot_profile is not None:
                out["app_id"] = self.bot_profile["app_id"]
                out["bot_profile"] = dict(self.bot_profile)
        if self.edited:
            # a bot's edit names the bot, as recorded replies of chat.update show
            out["edited"] = {"user": self.bot_id or self.user, "ts": self.edited}
        if self.blocks:
            out["blocks"] = self.blocks
        if self.thread_ts:
            out["thread_ts"] = self.thread_ts
        if self.replies:
            out["reply_count"] = len(self.replies)
            out["reply_users_count"] = 1
            out["latest_reply"] = self.replies[-1]
            out["reply_users"] = [self.user]
        if with_metadata and self.metadata is not None:
            out["metadata"] = self.metadata
        return out


@dataclass
class EmuChannel:
    """A conversation: its messages in posting order, and whether the bot is a member."""

    id: str
    name: str
    is_private: bool = False
    is_archived: bool = False
    bot_member: bool = True
    created: int = 0
    """Seconds since the epoch, from the emulator's clock."""
    messages: list[EmuMessage] = field(default_factory=list)

    def find(self, ts: str) -> EmuMessage | None:
        """The message (thread replies included) with this ``ts``, or None."""
        for message in self.messages:
            if message.ts == ts:
                return message
        return None

    def to_api(self) -> dict[str, Any]:
        """The conversation object as ``conversations.info`` returns it."""
        empty = {"value": "", "creator": "", "last_set": 0}
        return {
            "id": self.id,
            "name": self.name,
            "name_normalized": self.name,
            "created": self.created,
            "creator": "U0EMUADMIN",
            "is_archived": self.is_archived,
            "is_channel": not self.is_private,
            "is_general": self.name == "general",
            "is_mpim": False,
            "is_group": self.is_private,
            "is_org_shared": False,
            "is_im": False,
            "is_shared": False,
            "is_ext_shared": False,
            "is_private": self.is_private,
            "is_member": self.bot_member,
            "topic": dict(empty),
            "purpose": dict(empty),
            "num_members": 2 if self.bot_member else 1,
        }
