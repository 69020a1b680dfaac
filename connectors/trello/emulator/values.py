"""Trello's parameter values and reply shapes: what the emulator accepts and how it answers."""

from __future__ import annotations

import re
from copy import deepcopy
from datetime import UTC, date, datetime
from typing import Any

__all__ = [
    "LABEL_COLORS",
    "NOT_FOUND",
    "SHORT_LINK",
    "TRELLO_ID",
    "TrelloReply",
    "as_bool",
    "as_time",
    "fmt_time",
    "id_list",
    "pick_fields",
]

LABEL_COLORS = ("yellow", "purple", "blue", "red", "green", "orange", "black", "sky", "pink", "lime")
NOT_FOUND = "The requested resource was not found."
_ID = re.compile(r"^[0-9a-fA-F]{24}$")
_SHORT = re.compile(r"^[A-Za-z0-9]{8}$")
TRELLO_ID = re.compile(r"^[0-9a-fA-F]{24}$")
SHORT_LINK = re.compile(r"^[A-Za-z0-9]{8}$")


class TrelloReply(Exception):
    """An error reply: Trello's plain text with a status."""

    def __init__(self, status: int, text: str) -> None:
        super().__init__(text)
        self.status = status
        self.text = text


def fmt_time(moment: datetime) -> str:
    """Trello's timestamp format: UTC, milliseconds, ``Z``."""
    moment = moment.astimezone(UTC)
    return moment.strftime("%Y-%m-%dT%H:%M:%S.") + f"{moment.microsecond // 1000:03d}Z"


def as_bool(value: Any, name: str) -> bool:
    """A boolean parameter (``true``/``false`` or a JSON bool), or Trello's 400."""
    if isinstance(value, bool):
        return value
    if isinstance(value, str) and value.lower() in ("true", "false"):
        return value.lower() == "true"
    raise TrelloReply(400, f"invalid value for {name}")


def as_time(value: Any, name: str) -> str | None:
    """A date or date-time parameter in Trello's format (empty or ``null`` clears it), or Trello's 400."""
    if value is None or value == "" or value == "null":
        return None
    if not isinstance(value, str):
        raise TrelloReply(400, f"invalid value for {name}")
    try:
        if len(value) == 10:
            parsed = datetime.combine(date.fromisoformat(value), datetime.min.time(), tzinfo=UTC)
        else:
            parsed = datetime.fromisoformat(value.replace("Z", "+00:00"))
            if parsed.tzinfo is None:
                parsed = parsed.replace(tzinfo=UTC)
    except ValueError:
        raise TrelloReply(400, f"invalid value for {name}") from None
    return fmt_time(parsed)


def id_list(value: Any, name: str) -> list[str]:
    """A list of ids (a JSON array or comma-separated), or Trello's 400."""
    if value is None or value == "":
        return []
    items = value if isinstance(value, list) else str(value).split(",")
    items = [str(i).strip() for i in items if str(i).strip()]
    if any(not TRELLO_ID.match(i) for i in items):
        raise TrelloReply(400, f"invalid value for {name}")
    return items


def pick_fields(obj: dict[str, Any], fields: str | None) -> dict[str, Any]:
    """A copy of ``obj`` with only the ``fields=`` asked for (``id`` always)."""
    if not fields or fields == "all":
        return deepcopy(obj)
    wanted = {f.strip() for f in fields.split(",")} | {"id"}
    return {k: deepcopy(v) for k, v in obj.items() if k in wanted}
