"""The webhook's status-to-action table, in one place (``classify``)."""

from __future__ import annotations

import httpx

from notion_sync.sdk import AccessError, ItemError, RetryableError

__all__ = ["GoneError", "classify"]


class GoneError(ItemError):
    """The item is not there any more (404 or 410)."""


def _retry_after(response: httpx.Response) -> float | None:
    value = response.headers.get("retry-after")
    try:
        return float(value) if value is not None else None
    except ValueError:
        return None


def _snippet(response: httpx.Response) -> str:
    text = response.text.strip().replace("\n", " ")
    return text[:200] + ("…" if len(text) > 200 else "")


def classify(exc: Exception) -> Exception:
    """httpx's exceptions as notion-sync's: retry 429/5xx and dropped connections; 401/403 are access
    problems (exit 3); 404/410 mean the item is gone; any other 4xx fails the item with the reply's text."""
    if isinstance(exc, httpx.HTTPStatusError):
        response = exc.response
        status = response.status_code
        if status == 429 or status >= 500:
            return RetryableError(f"the webhook answered {status}", retry_after=_retry_after(response))
        if status in (401, 403):
            return AccessError(
                f"the webhook refused the request ({status}): check the token named by "
                "[webhook] token_env or token_file, and that it may write"
            )
        if status in (404, 410):
            return GoneError(f"the webhook says the item is gone ({status})")
        return ItemError(f"the webhook rejected the request ({status}): {_snippet(response)}")
    if isinstance(exc, httpx.TimeoutException):
        return RetryableError("the webhook did not answer in time")
    if isinstance(exc, httpx.TransportError):
        return RetryableError(f"the connection to the webhook failed: {type(exc).__name__}")
    if isinstance(exc, ValueError):
        return ItemError(f"the webhook's reply is not the JSON expected: {exc}")
    return exc
