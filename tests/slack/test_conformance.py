"""The project's conformance suite, in both modes, through the real engine."""

from __future__ import annotations

from notion_sync.connectors.slack.connector import SlackConnector
from notion_sync.core.testing.conformance import ConformanceSuite


class TestSlackMirrorConformance(ConformanceSuite):
    connector = SlackConnector


class TestSlackNotifyConformance(ConformanceSuite):
    """Notify mode: an item is the notification thread; a watched change adds a reply."""

    connector = SlackConnector
    mapping_overrides = {"mode": "notify", "notify_on": ["Name", "Status"]}
