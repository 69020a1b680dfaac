"""Slack connector: Notion rows as Slack messages, kept current (mirror) or posted as notifications (notify)."""

from .connector import SlackConnector
from .settings import SlackFields, SlackMapping, SlackSettings

__all__ = ["SlackConnector", "SlackFields", "SlackMapping", "SlackSettings"]
