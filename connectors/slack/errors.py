"""Slack's errors, and what notion-sync does with each: the status→action table.

Slack answers most errors with HTTP 200 and ``{"ok": false, "error": "<code>"}``;
slack-sdk raises ``SlackApiError`` for them and for any non-200 status. ``classify``
turns them into ``notion_sync.core.errors``:

=====================================================  ==============================
``invalid_auth``, ``not_authed``, ``token_revoked``…    ``AccessError`` (exit 3)
``missing_scope``                                       ``AccessError`` naming the scope
``channel_not_found``, ``is_archived``                  ``ConfigError`` for the mapping (exit 2)
``not_in_channel``                                      ``AccessError`` with ``/invite @bot``
429 ``ratelimited``, 5xx, ``fatal_error``, network      ``RetryableError`` (Retry-After)
anything else (``msg_too_long``, ``invalid_blocks``…)   ``SlackItemError`` with the code
=====================================================  ==============================

``message_not_found`` is an ``SlackItemError`` too; ``delete`` treats it as "already gone".
"""

from __future__ import annotations

import socket
from dataclasses import dataclass
from http.client import HTTPException
from urllib.error import URLError

from slack_sdk.errors import SlackApiError, SlackClientError, SlackRequestError

from notion_sync.sdk import AccessError, ConfigError, ItemError, NotionSyncError, RetryableError

__all__ = ["SlackItemError", "ErrorContext", "classify", "error_code"]

AUTH_ERRORS = frozenset(
    {
        "invalid_auth",
        "not_authed",
        "token_revoked",
        "token_expired",
        "account_inactive",
        "no_permission",
        "ekm_access_denied",
        "not_allowed_token_type",
        "team_access_not_granted",
    }
)
RETRY_ERRORS = frozenset(
    {
        "ratelimited",
        "rate_limited",
        "fatal_error",
        "internal_error",
        "request_timeout",
        "service_unavailable",
    }
)


class SlackItemError(ItemError):
    """Slack rejected one message; ``code`` is Slack's error code (``msg_too_long``...)."""

    def __init__(self, message: str, *, code: str) -> None:
        super().__init__(message)
        self.code = code


@dataclass(frozen=True)
class ErrorContext:
    """What an error message needs to say where the problem is and how to fix it."""

    what: str = "Slack call"
    channel: str = ""
    """The channel as the user wrote it (``#releases`` or an id)."""
    bot: str = ""
    """The bot's user name, for ``/invite @bot``."""


def error_code(exc: BaseException) -> str:
    """Slack's error code of a ``SlackApiError`` (``""`` for anything else)."""
    if isinstance(exc, SlackApiError):
        data = getattr(exc.response, "data", None)
        if isinstance(data, dict):
            return str(data.get("error") or "")
    return ""


def _retry_after(exc: SlackApiError) -> float | None:
    headers = getattr(exc.response, "headers", None) or {}
    for key, value in dict(headers).items():
        if key.lower() == "retry-after":
            raw = value[0] if isinstance(value, list) else value
            try:
                return float(raw)
            except (TypeError, ValueError):
                return None
    return None


def classify(exc: Exception, context: ErrorContext | None = None) -> Exception:
    """Map a slack-sdk (or network) exception to the error class that decides its fate."""
    ctx = context or ErrorContext()
    if isinstance(exc, NotionSyncError):
        return exc
    if isinstance(exc, SlackApiError):
        status = int(getattr(exc.response, "status_code", 200) or 200)
        code = error_code(exc)
        where = f"{ctx.what}: Slack answered {code or f'HTTP {status}'}"
        channel = ctx.channel or "the channel"
        if status == 429 or code in RETRY_ERRORS or status >= 500:
            return RetryableError(where, retry_after=_retry_after(exc))
        if code in AUTH_ERRORS or status in (401, 403):
            return AccessError(
                f"{where}: the bot token is not valid (wrong, revoked, or its app was uninstalled); "
                "reinstall the Slack app and put its Bot User OAuth Token (xoxb-…) in slack.token_env or "
                "slack.token_file"
            )
        if code == "missing_scope":
            data = exc.response.data if isinstance(exc.response.data, dict) else {}
            needed = data.get("needed") or "the scope this method needs"
            return AccessError(
                f"{where}: the Slack app lacks the {needed} scope; add it under OAuth & Permissions, "
                "reinstall the app, and use the new token"
            )
        if code == "channel_not_found":
            return ConfigError(
                f"{where}: the channel {channel} does not exist or the bot cannot see it; check the mapping's "
                "channel (a private channel needs its id and the bot invited)"
            )
        if code == "is_archived":
            return ConfigError(f"{where}: the channel {channel} is archived; unarchive it or choose another channel")
        if code == "not_in_channel":
            bot = f"@{ctx.bot}" if ctx.bot else "@<your bot>"
            return AccessError(
                f"{where}: the bot is not a member of {channel}; in Slack, open {channel} and type: /invite {bot}"
            )
        return SlackItemError(f"{where}", code=code or f"http_{status}")
    if isinstance(exc, URLError | HTTPException | socket.timeout | ConnectionError | TimeoutError):
        return RetryableError(f"{ctx.what}: network error talking to Slack ({type(exc).__name__})")
    if isinstance(exc, SlackRequestError | SlackClientError):
        return ItemError(f"{ctx.what}: {exc}")
    if isinstance(exc, ValueError) and "JSON" in str(exc):
        # A body cut short (a dropped connection) fails JSON parsing in slack-sdk.
        return RetryableError(f"{ctx.what}: Slack's answer was cut short")
    return exc
