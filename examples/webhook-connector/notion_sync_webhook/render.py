"""A row rendered as the JSON document the webhook receives: pure, no I/O."""

from __future__ import annotations

from datetime import date, datetime
from typing import Any

from notion_sync.sdk import DateValue, Row, render_template

from .settings import WebhookMapping

__all__ = ["render_document"]


def _iso(value: date | datetime | None) -> str | None:
    return value.isoformat() if value is not None else None


def render_document(row: Row, settings: WebhookMapping) -> dict[str, Any]:
    """The fields the mapping sends for ``row`` (the marker is added on writing)."""
    fields = settings.fields
    payload: dict[str, Any] = {"title": render_template(fields.title, row)}
    if fields.body is not None:
        payload["body"] = render_template(fields.body, row)
    if fields.date is not None:
        prop = row.get(fields.date)
        value = prop.value if prop is not None else None
        payload["date"] = (
            {"start": _iso(value.start), "end": _iso(value.end), "all_day": value.all_day}
            if isinstance(value, DateValue)
            else None
        )
    if fields.properties:
        payload["properties"] = {
            name: (p.text if (p := row.get(name)) is not None else "") for name in fields.properties
        }
    return payload
