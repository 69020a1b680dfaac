"""The built-in connectors. Each is found through the ``notion_sync.connectors`` entry point."""
