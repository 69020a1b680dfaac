"""JSON shapes of the Notion emulator: ids, timestamps, rich text, schemas and property values.

Everything here is pure (no HTTP, no locking) so the shapes can be tested on their own.
The shapes follow Notion-Version 2025-09-03 as recorded from the real API:

* page timestamps are rounded down to the minute and written ``2026-07-04T09:09:00.000Z``;
  database timestamps keep milliseconds and a ``+00:00`` offset (both as recorded);
* a property value is ``{"id", "type", <type>: value}``; a schema property is
  ``{"id", "name", "description", "type", <type>: config}``;
* relations show at most 25 references inline, with ``has_more``; people at most 25.
"""

from __future__ import annotations

import random
import re
import uuid
from collections.abc import Callable, Iterable, Mapping
from datetime import UTC, date, datetime, timedelta
from typing import Any
from urllib.parse import quote
from zoneinfo import ZoneInfo

__all__ = [
    "COMPUTED_TYPES",
    "INLINE_REFERENCE_LIMIT",
    "PAGINATED_PROPERTY_TYPES",
    "RICH_TEXT_CHUNK",
    "DateParts",
    "dashed_id",
    "default_annotations",
    "floor_minute",
    "format_database_time",
    "format_page_time",
    "make_property_id",
    "normalize_id",
    "parse_date_value",
    "rich_text",
    "schema_property",
    "slug_url",
    "status_groups",
]

RICH_TEXT_CHUNK = 2000
"""Notion holds at most 2,000 characters in one rich text item."""

INLINE_REFERENCE_LIMIT = 25
"""A page object shows at most 25 relation or people references per property."""

PAGINATED_PROPERTY_TYPES = frozenset({"title", "rich_text", "people", "relation"})
"""Property types that ``GET /v1/pages/{id}/properties/{prop}`` returns as a paginated list."""

COMPUTED_TYPES = frozenset({"created_time", "last_edited_time", "created_by", "last_edited_by", "unique_id", "button"})
"""Property types whose value the emulator derives from the page itself."""

_UUID_RE = re.compile(r"^[0-9a-fA-F]{8}-?[0-9a-fA-F]{4}-?[0-9a-fA-F]{4}-?[0-9a-fA-F]{4}-?[0-9a-fA-F]{12}$")

DEFAULT_STATUS_GROUPS = (("To-do", "gray"), ("In progress", "blue"), ("Complete", "green"))
_GROUP_ALIASES = {
    "to_do": "To-do",
    "todo": "To-do",
    "to-do": "To-do",
    "in_progress": "In progress",
    "in progress": "In progress",
    "complete": "Complete",
    "completed": "Complete",
    "done": "Complete",
}
DEFAULT_STATUS_OPTIONS = (
    {"name": "Not started", "color": "default", "group": "To-do"},
    {"name": "In progress", "color": "blue", "group": "In progress"},
    {"name": "Done", "color": "green", "group": "Complete"},
)


# ---------------------------------------------------------------- ids and times


def new_uuid(rng: random.Random) -> str:
    """A dashed v4 uuid drawn from ``rng`` (deterministic for a seed)."""
    return str(uuid.UUID(int=rng.getrandbits(128), version=4))


def normalize_id(raw: str) -> str | None:
    """The dashed lowercase form of a dashed or undashed uuid, or None if ``raw`` is not one."""
    if not _UUID_RE.match(raw):
        return None
    return str(uuid.UUID(raw.replace("-", "")))


def dashed_id(raw: str) -> str:
    """Like :func:`normalize_id` but raises ``ValueError`` for a malformed id (Python API use)."""
    value = normalize_id(raw)
    if value is None:
        raise ValueError(f"not a Notion id (32 hex digits, dashed or not): {raw!r}")
    return value


def make_property_id(rng: random.Random, taken: set[str]) -> str:
    """A short property id like Notion's (``%3AUUq``, ``BJXS``): 4 characters, url-encoded."""
    alphabet = "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789:;<=>@[]^_`{|}~"
    while True:
        candidate = quote("".join(rng.choice(alphabet) for _ in range(4)), safe="")
        if candidate not in taken and candidate != "title":
            taken.add(candidate)
            return candidate


def floor_minute(when: datetime) -> datetime:
    """Round down to the minute, as Notion does for page ``created_time``/``last_edited_time``."""
    return when.astimezone(UTC).replace(second=0, microsecond=0)


def format_page_time(when: datetime) -> str:
    """``2026-07-04T09:09:00.000Z``: a page timestamp, minute-rounded."""
    return floor_minute(when).strftime("%Y-%m-%dT%H:%M:%S.000Z")


def format_database_time(when: datetime) -> str:
    """``2026-07-04T09:08:57.778+00:00``: a database timestamp, not rounded (as recorded)."""
    when = when.astimezone(UTC)
    return when.strftime("%Y-%m-%dT%H:%M:%S.") + f"{when.microsecond // 1000:03d}+00:00"


def slug_url(title: str, object_id: str) -> str:
    """``https://app.notion.com/p/<Title-slug>-<32hex>`` (no slug when the title has no word)."""
    slug = re.sub(r"[\W_]+", "-", title).strip("-")
    hex_id = object_id.replace("-", "")
    return f"https://app.notion.com/p/{slug}-{hex_id}" if slug else f"https://app.notion.com/p/{hex_id}"


# ---------------------------------------------------------------- rich text


def default_annotations() -> dict[str, Any]:
    """Default rich text annotations."""
    return {
        "bold": False,
        "italic": False,
        "strikethrough": False,
        "underline": False,
        "code": False,
        "color": "default",
    }


def rich_text(text: str | None) -> list[dict[str, Any]]:
    """Plain text as Notion rich text items, split every 2,000 characters like the real API."""
    if not text:
        return []
    items = []
    for start in range(0, len(text), RICH_TEXT_CHUNK):
        chunk = text[start : start + RICH_TEXT_CHUNK]
        items.append(
            {
                "type": "text",
                "text": {"content": chunk, "link": None},
                "annotations": default_annotations(),
                "plain_text": chunk,
                "href": None,
            }
        )
    return items


def normalize_rich_text(value: Any) -> list[dict[str, Any]]:
    """Accept a str or a list of rich text items (partial items are completed)."""
    if value is None or isinstance(value, str):
        return rich_text(value)
    items = []
    for item in value:
        if isinstance(item, str):
            items.extend(rich_text(item))
            continue
        item = dict(item)
        kind = item.setdefault("type", "text")
        if kind == "text":
            item["text"] = {"content": item["text"]["content"], "link": item["text"].get("link")}
            item.setdefault("plain_text", item["text"]["content"])
            item.setdefault("href", (item["text"]["link"] or {}).get("url"))
        item["annotations"] = {**default_annotations(), **(item.get("annotations") or {})}
        item.setdefault("plain_text", "")
        item.setdefault("href", None)
        items.append(item)
    return items


# ---------------------------------------------------------------- dates


class DateParts:
    """A parsed date property value: ``start``/``end`` as Notion writes them, plus comparables."""

    def __init__(self, start: str, end: str | None = None, time_zone: str | None = None) -> None:
        self.start = _format_date_point(start, time_zone)
        self.end = _format_date_point(end, time_zone) if end is not None else None

    def as_json(self) -> dict[str, Any]:
        """The ``date`` value: Notion returns ``time_zone: null`` and shows the zone as an offset."""
        return {"start": self.start, "end": self.end, "time_zone": None}


def _format_date_point(value: Any, time_zone: str | None) -> str:
    if isinstance(value, datetime):
        moment = value
    elif isinstance(value, date):
        return value.isoformat()
    else:
        text = str(value)
        if re.fullmatch(r"\d{4}-\d{2}-\d{2}", text):
            return text
        moment = datetime.fromisoformat(text)
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=ZoneInfo(time_zone) if time_zone else UTC)
    offset = moment.utcoffset() or timedelta(0)
    sign = "-" if offset < timedelta(0) else "+"
    minutes = abs(int(offset.total_seconds())) // 60
    return (
        moment.strftime("%Y-%m-%dT%H:%M:%S.")
        + f"{moment.microsecond // 1000:03d}"
        + f"{sign}{minutes // 60:02d}:{minutes % 60:02d}"
    )


def parse_date_value(value: Any) -> dict[str, Any] | None:
    """A simple Python date value (str, date, datetime, (start, end), dict) as the ``date`` JSON."""
    if value is None:
        return None
    if isinstance(value, Mapping):
        return DateParts(value["start"], value.get("end"), value.get("time_zone")).as_json()
    if isinstance(value, (tuple, list)):
        start, end = value
        return DateParts(start, end).as_json()
    return DateParts(value).as_json()


# ---------------------------------------------------------------- schema


def status_groups(
    options: list[dict[str, Any]], group_of: Mapping[str, str], new_id: Callable[[], str]
) -> list[dict[str, Any]]:
    """Status groups (To-do / In progress / Complete) listing their options' ids."""
    groups = []
    for name, color in DEFAULT_STATUS_GROUPS:
        groups.append(
            {
                "id": new_id(),
                "name": name,
                "color": color,
                "option_ids": [o["id"] for o in options if group_of[o["name"]] == name],
            }
        )
    return groups


def _options(raw: Iterable[Any], new_id: Callable[[], str]) -> list[dict[str, Any]]:
    options = []
    for option in raw:
        option = {"name": option} if isinstance(option, str) else dict(option)
        options.append(
            {
                "id": option.get("id") or new_id(),
                "name": option["name"],
                "color": option.get("color", "default"),
                "description": option.get("description"),
            }
        )
    return options


_DEFAULT_CONFIG: dict[str, Callable[[], dict[str, Any]]] = {
    "number": lambda: {"format": "number"},
    "formula": lambda: {"expression": ""},
    "unique_id": lambda: {"prefix": None},
    "rollup": lambda: {
        "function": "count",
        "relation_property_name": "",
        "relation_property_id": "",
        "rollup_property_name": "",
        "rollup_property_id": "",
    },
}


def schema_property(name: str, spec: Mapping[str, Any], prop_id: str, new_id: Callable[[], str]) -> dict[str, Any]:
    """A data source schema property from a short spec.

    ``spec`` is ``{"type": T, ...}``: ``options`` for select/multi_select/status (names or
    ``{"name", "color", "group"}``), any other key is merged into the type's config, and a
    ``{"type": T, T: {...}}`` config passes through as given (so unknown types do too).
    """
    kind = spec["type"]
    config: dict[str, Any] = _DEFAULT_CONFIG.get(kind, dict)()
    if isinstance(spec.get(kind), Mapping):
        config.update(spec[kind])
    for key, value in spec.items():
        if key not in ("type", "options", "id", "description", "name", "compute", kind):
            config[key] = value
    if kind in ("select", "multi_select"):
        config["options"] = _options(spec.get("options", config.get("options", [])), new_id)
    elif kind == "status":
        raw = list(spec.get("options") or config.get("options") or DEFAULT_STATUS_OPTIONS)
        options = _options(raw, new_id)
        group_of = {}
        for given, option in zip(raw, options, strict=True):
            group = given.get("group", "To-do") if isinstance(given, Mapping) else "To-do"
            group_of[option["name"]] = _GROUP_ALIASES.get(str(group).lower(), group)
        config["options"] = options
        config["groups"] = status_groups(options, group_of, new_id)
    elif kind == "relation":
        config.setdefault("type", "single_property")
        config.setdefault("single_property", {})
    return {"id": prop_id, "name": name, "description": spec.get("description"), "type": kind, kind: config}
