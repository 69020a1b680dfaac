"""notion-sync-webhook: an example third-party connector for notion-sync.

It sends each row of a Notion database as JSON to a webhook URL, keeps the link
through the reply's ``id``, and updates and deletes the item there. It is found by
notion-sync through its entry point (``pyproject.toml``), which names ``spec``: a thin
declaration, so notion-sync imports the implementation (``connector.WebhookConnector``)
only when a command uses it::

    [project.entry-points."notion_sync.connectors"]
    webhook = "notion_sync_webhook:spec"

The modules, as in notion-sync's built-in connectors: ``settings`` (and ``init``'s starter),
``render``, ``markers``, ``client``, ``connector``, ``errors``, ``checks`` and ``emulator``.
"""

from notion_sync.sdk import ConnectorSpec

from .settings import WebhookMapping, WebhookSettings

__all__ = ["spec"]
__version__ = "0.1.0"

spec = ConnectorSpec(
    name="webhook",
    summary="example plugin: each row as JSON at a webhook URL (POST, PUT, DELETE)",
    Settings=WebhookSettings,
    MappingSettings=WebhookMapping,
    on_delete_modes=("delete", "keep"),
    implementation="notion_sync_webhook.connector:WebhookConnector",
)
