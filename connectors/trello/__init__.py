"""The Trello connector: Notion rows as Trello cards, through py-trello."""

from .connector import TrelloConnector
from .settings import CardFields, TrelloMapping, TrelloSettings

__all__ = ["CardFields", "TrelloConnector", "TrelloMapping", "TrelloSettings"]
