"""A stateful Slack Web API emulator that slack-sdk's ``WebClient`` talks to.

``service`` holds the emulator (its methods, auth, scheduled errors and lost answers),
``models`` the workspace's records (users, messages, channels).
"""

from __future__ import annotations

from .models import MAX_TEXT, EmuChannel, EmuMessage, EmuUser
from .service import SlackEmulator

__all__ = ["MAX_TEXT", "EmuChannel", "EmuMessage", "EmuUser", "SlackEmulator"]
