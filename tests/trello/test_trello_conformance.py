"""The project's conformance suite, run on the Trello connector and its emulator."""

from notion_sync.connectors.trello.connector import TrelloConnector
from notion_sync.core.testing.conformance import ConformanceSuite


class TestTrelloConformance(ConformanceSuite):
    """Default on_delete (archive): a trashed row archives its card, a restored row unarchives it."""

    connector = TrelloConnector


class TestTrelloConformanceDelete(ConformanceSuite):
    """on_delete = "delete": the card is deleted for good, and created again when the row comes back."""

    connector = TrelloConnector
    mapping_overrides = {"on_delete": "delete"}
