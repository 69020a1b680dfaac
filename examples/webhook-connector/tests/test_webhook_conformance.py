"""The conformance suite every notion-sync connector passes: a few lines."""

from notion_sync_webhook.connector import WebhookConnector

from notion_sync.sdk import ConformanceSuite


class TestWebhook(ConformanceSuite):
    connector = WebhookConnector


class TestWebhookKeep(ConformanceSuite):
    """The same suite with on_delete = "keep": a trashed row's item stays where it is."""

    connector = WebhookConnector
    mapping_overrides = {"on_delete": "keep"}
