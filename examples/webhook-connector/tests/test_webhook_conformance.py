"""The conformance suite every notion-sync connector passes: a few lines."""

from core.testing.conformance import ConformanceSuite
from notion_sync_webhook import WebhookConnector


class TestWebhook(ConformanceSuite):
    connector = WebhookConnector
