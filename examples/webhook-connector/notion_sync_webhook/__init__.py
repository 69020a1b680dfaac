"""notion-sync-webhook: an example third-party connector for notion-sync.

It sends each row of a Notion database as JSON to a webhook URL, keeps the link
through the reply's ``id``, and updates and deletes the item there. It is found by
notion-sync through its entry point (``pyproject.toml``)::

    [project.entry-points."notion_sync.connectors"]
    webhook = "notion_sync_webhook:WebhookConnector"
"""

from notion_sync_webhook.connector import WebhookConnector

__all__ = ["WebhookConnector"]
__version__ = "0.1.0"
