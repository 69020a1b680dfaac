"""The Trello connector: Notion rows as Trello cards, through py-trello.

The entry point ``trello`` names ``spec``, a declaration; the implementation
(``connector.TrelloConnector``) is imported only when a command uses it.
"""

from notion_sync.connectors.trello.settings import TrelloMapping, TrelloSettings
from notion_sync.sdk import ConnectorSpec

__all__ = ["spec"]

spec = ConnectorSpec(
    name="trello",
    summary="Notion rows as Trello cards, in the list their status picks, with labels and due dates",
    Settings=TrelloSettings,
    MappingSettings=TrelloMapping,
    on_delete_modes=("archive", "delete", "keep"),
    implementation="notion_sync.connectors.trello.connector:TrelloConnector",
)
