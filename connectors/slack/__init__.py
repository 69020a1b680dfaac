"""Slack connector: Notion rows as Slack messages, kept current (mirror) or posted as notifications (notify).

The entry point ``slack`` names ``spec``, a declaration; the implementation
(``connector.SlackConnector``, with slack-sdk) is imported only when a command uses it. The
modules, as in every connector: ``settings`` (and ``init``'s starter), ``render``, ``markers``
(the messages' metadata), ``client``, ``connector``, ``errors``, ``checks``, and the emulator.
Slack's own extra: ``mrkdwn``, escaping and mentions in Slack's markup, which ``render`` and
``connector`` share.
"""

from notion_sync.sdk import ConnectorSpec

from .settings import SlackMapping, SlackSettings

__all__ = ["spec"]

spec = ConnectorSpec(
    name="slack",
    summary="Slack messages: a live board per channel (mirror) or notifications with threaded changes (notify)",
    Settings=SlackSettings,
    MappingSettings=SlackMapping,
    on_delete_modes=("delete", "strike", "keep"),
    implementation="notion_sync.connectors.slack.connector:SlackConnector",
)
