"""The engine of notion-sync: CLI, config, Notion source, planner, state and emulators.

Internal. Connector authors import from ``notion_sync.sdk``, whose names stay stable.
"""
