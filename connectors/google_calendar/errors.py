"""Google Calendar's errors, turned into notion-sync's (the status → action table).

=====================================  ==========================================
Google says                            notion-sync does
=====================================  ==========================================
401 ``authError``, a refused refresh   ``AccessError``: fix the credentials
403 ``rateLimitExceeded``,             ``RetryableError`` (honouring Retry-After)
``userRateLimitExceeded``, 429
403 anything else                      ``AccessError``: share the calendar
5xx, dropped connections, timeouts     ``RetryableError``
400, 404, 409, 410 and the rest        ``ItemError`` (callers handle 404/409/410
                                       first where they mean something)
=====================================  ==========================================
"""

from __future__ import annotations

import http.client
import json
from typing import Any

import httplib2
from google.auth import exceptions as auth_exceptions
from googleapiclient.errors import BatchError, HttpError

from notion_sync.sdk import AccessError, ItemError, RetryableError

__all__ = ["RATE_LIMIT_REASONS", "classify", "error_message", "error_reason", "http_status"]

RATE_LIMIT_REASONS = frozenset({"rateLimitExceeded", "userRateLimitExceeded"})


def http_status(exc: BaseException) -> int | None:
    """The HTTP status of a client error, or None when it is not an HTTP reply."""
    if isinstance(exc, HttpError) and not isinstance(exc, BatchError):
        return int(exc.resp.status)
    return None


def _error_body(exc: HttpError) -> dict[str, Any]:
    try:
        content = exc.content.decode("utf-8") if isinstance(exc.content, bytes) else str(exc.content)
        body = json.loads(content)
    except (ValueError, UnicodeDecodeError):
        return {}
    error = body.get("error") if isinstance(body, dict) else None
    return error if isinstance(error, dict) else {}


def error_reason(exc: BaseException) -> str:
    """The first ``errors[].reason`` of Google's error body ("" if none)."""
    if http_status(exc) is None:
        return ""
    errors = _error_body(exc).get("errors") or []
    return str(errors[0].get("reason", "")) if errors and isinstance(errors[0], dict) else ""


def error_message(exc: BaseException) -> str:
    """Google's own message for an error reply, else the exception's text."""
    if isinstance(exc, HttpError) and http_status(exc) is not None:
        message = _error_body(exc).get("message")
        return str(message) if message else (exc.resp.reason or f"HTTP {exc.resp.status}")
    return str(exc) or type(exc).__name__


def _retry_after(exc: HttpError) -> float | None:
    value = exc.resp.get("retry-after")
    try:
        return float(value) if value is not None else None
    except ValueError:
        return None


def classify(
    exc: Exception,
    *,
    identity: str = "the Google identity in credentials_file",
    calendar_id: str | None = None,
) -> Exception:
    """Turn a client-library exception into notion-sync's; return it unchanged when unknown.

    ``identity`` (a service account's email...) and ``calendar_id`` only make the
    messages' fixes precise.
    """
    calendar = f"calendar {calendar_id!r}" if calendar_id else "the calendar"
    if isinstance(exc, BatchError):
        # A batch reply that is not multipart: a cut-off or garbled response.
        return RetryableError(f"Google's batch reply could not be read: {exc.reason}")
    if isinstance(exc, HttpError):
        status = int(exc.resp.status)
        reason = error_reason(exc)
        message = error_message(exc)
        if status == 401:
            return AccessError(
                f"Google rejected the credentials (401 {reason or 'authError'}: {message}). "
                "Fix: check credentials_file; for an authorized-user file run "
                "`notion-sync auth google --client-secrets FILE` again, for a service account create a new key"
            )
        if status == 429 or (status == 403 and reason in RATE_LIMIT_REASONS):
            return RetryableError(
                f"Google rate limit ({status} {reason or 'rateLimitExceeded'})", retry_after=_retry_after(exc)
            )
        if status == 403:
            return AccessError(
                f"Google refused access to {calendar} (403 {reason}: {message}). "
                f"Fix: share the calendar with {identity} with 'Make changes to events'"
            )
        if status >= 500:
            return RetryableError(
                f"Google answered {status} ({reason or 'backendError'}: {message})", retry_after=_retry_after(exc)
            )
        return ItemError(f"Google answered {status} {reason}: {message}".replace("  ", " "))
    if isinstance(exc, auth_exceptions.RefreshError):
        if getattr(exc, "retryable", False):
            return RetryableError(f"refreshing the Google access token failed for now: {type(exc).__name__}")
        return AccessError(
            "Google refused to refresh the access token: the authorization was revoked or the key disabled. "
            "Fix: run `notion-sync auth google --client-secrets FILE` again, or create a new service-account key"
        )
    if isinstance(exc, auth_exceptions.TransportError):
        return RetryableError(f"could not reach Google's token endpoint: {type(exc).__name__}")
    if isinstance(exc, auth_exceptions.GoogleAuthError):
        return AccessError(
            f"Google rejected the credentials ({type(exc).__name__}: {exc}). "
            "Fix: set credentials_file to a valid service-account key or authorized-user file"
        )
    if isinstance(exc, httplib2.HttpLib2Error | http.client.HTTPException | OSError):
        return RetryableError(f"connection to Google failed: {type(exc).__name__}: {exc}")
    return exc
