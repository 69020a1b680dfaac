"""The Trello connector: Notion rows as Trello cards, through py-trello.

The entry point ``trello`` names ``spec``, a declaration; the implementation
(``connector.TrelloConnector``) is imported only when a command uses it. The modules, as in
every connector: ``settings`` (and ``init``'s starter), ``render``, ``markers`` (the card's
marker line), ``client`` (py-trello over a paced transport), ``connector``, ``errors``,
``checks``, and the emulator.
"""

from notion_sync.sdk import ConnectorSpec

from .settings import TrelloMapping, TrelloSettings
from .write_back import FIELDS

__all__ = ["spec"]

spec = ConnectorSpec(
    name="trello",
    summary="Notion rows as Trello cards, in the list their status picks, with labels and due dates",
    Settings=TrelloSettings,
    MappingSettings=TrelloMapping,
    on_delete_modes=("archive", "delete", "keep"),
    write_back_fields=FIELDS,
    implementation="notion_sync.connectors.trello.connector:TrelloConnector",
)
