"""Trello's replies turned into notion-sync's errors: the status-to-action table.

py-trello raises ``Unauthorized`` for a 401 and ``ResourceUnavailable`` for any other
status but 200, with Trello's (mostly plain-text) reply in its message. ``requests``
raises for transport failures, and a 200 with a cut-off body fails to parse as JSON.

=======================================  ==========================================
reply                                    action
=======================================  ==========================================
401 ``invalid key`` / ``invalid token``  ``AccessError``: the fix names the key
401 ``unauthorized ... permission``      ``AccessError``: the token cannot write
403                                      ``AccessError``
404, 410                                 ``NotFound`` (an ``ItemError``; callers treat
                                         a missing card as gone)
400 ``invalid value for idList``         ``FatalError``: a list went away mid-run
other 4xx                                ``ItemError`` with Trello's text
429 (no Retry-After)                     ``RetryableError``: exponential backoff
5xx, dropped or cut-off reply            ``RetryableError``
=======================================  ==========================================
"""

from __future__ import annotations

import json
import re

import requests
from trello.exceptions import ResourceUnavailable, Unauthorized

from notion_sync.sdk import AccessError, FatalError, ItemError, NotionSyncError, RetryableError

__all__ = ["NotFound", "classify", "reply_text", "status_of", "is_ambiguous"]

_KEY_FIX = (
    "Check [trello] api_key_env/api_key_file: get the key at https://trello.com/power-ups/admin "
    "(your Power-Up > API key)."
)
_TOKEN_FIX = (
    "Check [trello] token_env/token_file: generate a token with the 'Token' link next to your API key "
    "(https://trello.com/1/authorize?expiration=never&scope=read,write&response_type=token&key=<your key>)."
)


class NotFound(ItemError):
    """Trello answered 404: the card, list or board does not exist (any more)."""


def status_of(exc: BaseException) -> int | None:
    """The HTTP status of a py-trello error, or None for transport errors."""
    if isinstance(exc, ResourceUnavailable):
        return int(exc._status)  # py-trello keeps only the status, privately
    return None


def reply_text(exc: ResourceUnavailable) -> str:
    """Trello's reply text, without the URL py-trello appends (``"<text> at <url>"``)."""
    text = re.sub(r" at https?://\S+$", "", str(exc._msg)).strip()
    if text.startswith("{"):
        # Rate-limit replies are JSON: {"error": "...", "message": "..."}.
        try:
            body = json.loads(text)
        except ValueError:
            return text[:300]
        if isinstance(body, dict):
            return str(body.get("message") or body.get("error") or text)[:300]
    return text[:300] or "(empty reply)"


def is_ambiguous(exc: BaseException) -> bool:
    """Whether a failed write may have been carried out anyway (so a retry could duplicate it).

    A 429 is refused before any work; a 5xx, a dropped connection or a cut-off reply may
    come after the write was done.
    """
    status = status_of(exc)
    if status is not None:
        return status >= 500
    return isinstance(exc, requests.RequestException)


def classify(exc: Exception) -> Exception:
    """Turn an exception from py-trello or requests into one of ``notion_sync.core.errors``."""
    if isinstance(exc, NotionSyncError):
        return exc
    if isinstance(exc, Unauthorized):
        text = reply_text(exc)
        lowered = text.lower()
        if "invalid key" in lowered:
            return AccessError(f"Trello refused the API key ({text}). {_KEY_FIX}")
        if "invalid token" in lowered or "expired token" in lowered:
            return AccessError(f"Trello refused the token ({text}). {_TOKEN_FIX}")
        if "permission" in lowered:
            return AccessError(
                f"Trello refused the request ({text}): the token's member may not do this on the board. "
                "Make the member a board member (not an observer) and use a token with scope read,write."
            )
        return AccessError(f"Trello answered 401 ({text}). {_TOKEN_FIX}")
    if isinstance(exc, ResourceUnavailable):
        status = status_of(exc) or 0
        text = reply_text(exc)
        if status == 429:
            return RetryableError(f"Trello rate limit: {text}")
        if status >= 500:
            return RetryableError(f"Trello server error {status}: {text}")
        if status == 403:
            return AccessError(f"Trello answered 403 ({text}): the token may not do this.")
        if status in (404, 410):
            return NotFound(f"not found in Trello ({text})")
        if status == 400 and "idlist" in text.lower():
            return FatalError(
                f"Trello rejected the list ({text}): a list was deleted or moved off the board during the run. "
                "Run `notion-sync check` to see the lists that exist."
            )
        return ItemError(f"Trello rejected the request ({status}: {text})")
    if isinstance(exc, requests.exceptions.JSONDecodeError):
        return RetryableError("Trello's reply was cut off")
    if isinstance(exc, requests.Timeout):
        return RetryableError("Trello did not answer in time")
    if isinstance(exc, requests.RequestException):
        return RetryableError(f"connection to Trello failed ({type(exc).__name__})")
    return exc
