"""Building the HTTP client: JSON, a timeout, and the bearer token if the settings name one."""

from __future__ import annotations

import httpx

from notion_sync.sdk import resolve_secret

from .settings import WebhookSettings

__all__ = ["build_client"]


def build_client(settings: WebhookSettings) -> httpx.Client:
    """The ``httpx`` client for the ``[webhook]`` table (the token is read only now)."""
    token = resolve_secret(
        "webhook.token", env=settings.token_env, file=settings.token_file, required=False, base_dir=settings.base_dir
    )
    headers = {"Accept": "application/json", "User-Agent": "notion-sync-webhook/0.1"}
    if token is not None:
        headers["Authorization"] = f"Bearer {token.reveal()}"
    return httpx.Client(headers=headers, timeout=settings.timeout)
