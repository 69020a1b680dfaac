"""Building the slack-sdk client: the bot token, the base URL and which retries slack-sdk may do."""

from __future__ import annotations

import logging

from slack_sdk import WebClient
from slack_sdk.http_retry.builtin_handlers import RateLimitErrorRetryHandler

from notion_sync.sdk import secret_setting

from .settings import SlackSettings

__all__ = ["SDK_LOG", "build_client"]

SDK_LOG = logging.getLogger("notion_sync.slack_sdk")
# slack-sdk logs every failed request at ERROR before raising it; the error reaches us, is
# classified and retried, so that line would only alarm cron (--quiet prints errors).
SDK_LOG.setLevel(logging.CRITICAL)


def build_client(settings: SlackSettings) -> WebClient:
    """The slack-sdk client for the ``[slack]`` table (the token is read only now)."""
    secret = secret_setting(settings, "token", "slack.token")
    # No connection-error retry handler: a lost answer to chat.postMessage must be
    # looked up before posting again (see SlackConnector._post); 429s are safe to repeat.
    # slack-sdk types timeout as int, but hands it to urllib, which takes seconds as a float.
    return WebClient(
        token=secret.reveal(),
        base_url=settings.base_url,
        timeout=settings.timeout,  # type: ignore[arg-type]
        retry_handlers=[RateLimitErrorRetryHandler(max_retry_count=1)],
        logger=SDK_LOG,
    )
