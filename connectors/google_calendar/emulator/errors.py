"""Google's error replies, as the emulator sends them."""

from __future__ import annotations

from typing import Any

__all__ = ["Fail", "Reply", "bad", "google_error", "not_found"]

Reply = tuple[int, Any, dict[str, str]]
"""(status, JSON body or None, extra headers)."""


def google_error(status: int, reason: str, message: str, *, domain: str = "global", **extra: str) -> dict[str, Any]:
    """Google's error body for one error."""
    return {
        "error": {
            "errors": [{"domain": domain, "reason": reason, "message": message, **extra}],
            "code": status,
            "message": message,
        }
    }


class Fail(Exception):
    """Raised inside a handler: the call ends with Google's error reply."""

    def __init__(self, status: int, reason: str, message: str, **extra: str) -> None:
        super().__init__(message)
        self.reply: Reply = (status, google_error(status, reason, message, **extra), {})


def not_found() -> Fail:
    """Google's 404."""
    return Fail(404, "notFound", "Not Found")


def bad(message: str, reason: str = "invalid") -> Fail:
    """Google's 400 for an invalid value."""
    return Fail(400, reason, message)
