"""notion-sync: mirror Notion databases into external tools, exactly once.

The one import root. What lives where:

* ``notion_sync.sdk``: the public API for connector authors (``Connector``, the settings
  bases, ``DesiredItem``, the error classes, ``Row``, templates, pacing, retries, the
  emulator base and the conformance suite). Import from it, not from the modules below.
* ``notion_sync.core``: the engine, the CLI, state, the Notion source and the emulators.
  Internal: its module layout may change between releases.
* ``notion_sync.connectors``: the built-in connectors (Google Calendar, Trello, Slack),
  each found through the ``notion_sync.connectors`` entry point like any plugin.

Importing this package is cheap on purpose: ``notion-sync --version`` loads nothing else.
"""

__version__ = "0.2.0"

__all__ = ["__version__"]
