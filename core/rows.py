"""Typed rows: a Notion page turned into values a mapping can use.

``Row.from_page`` accepts a page object exactly as the API returns it. Every
documented property type becomes a ``PropertyValue`` with a Python ``value`` and a
``text`` used by templates; an unknown type keeps its raw JSON and is never fatal.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from types import MappingProxyType
from typing import Any
from zoneinfo import ZoneInfo

from notion_sync.core.errors import BadValue
from notion_sync.core.frozen import made
from notion_sync.core.page_body import BodyBlock

__all__ = [
    "DateValue",
    "LazyProperties",
    "PropertyValue",
    "Row",
    "KNOWN_TYPES",
    "parse_notion_time",
    "report_unknown_types",
    "row_label",
]

log = logging.getLogger(__name__)

KNOWN_TYPES = frozenset(
    {
        "title",
        "rich_text",
        "number",
        "select",
        "status",
        "multi_select",
        "date",
        "people",
        "files",
        "checkbox",
        "url",
        "email",
        "phone_number",
        "formula",
        "relation",
        "rollup",
        "created_time",
        "last_edited_time",
        "created_by",
        "last_edited_by",
        "unique_id",
        "verification",
        "button",
        "place",
    }
)


def report_unknown_types(types: Mapping[str, str], reported: set[str]) -> None:
    """Warn about each property type (name -> type) notion-sync does not know, and keeps raw,
    unless it is in ``reported``, the caller's memory of what it has reported (the engine's,
    for one run)."""
    for name, kind in types.items():
        if kind not in KNOWN_TYPES and kind not in reported:
            reported.add(kind)
            log.warning("property %r has type %r, which notion-sync does not know; kept raw", name, kind)


def row_label(title: str, page_id: str) -> str:
    """How messages name a row: by its title and its page id, ``"Fix login" (ce9b2e70-…)``;
    by its page id alone when the title is not known (a row that left) or empty."""
    return f'"{title}" ({page_id})' if title.strip() else page_id


def parse_notion_time(value: str) -> date | datetime:
    """Parse a Notion date or datetime string; a bare date stays a ``date``."""
    if len(value) == 10:
        return date.fromisoformat(value)
    return datetime.fromisoformat(value)  # Python 3.11 reads the "Z" Notion ends with


@dataclass(frozen=True)
class DateValue:
    """A Notion date: ``start`` and optional ``end``, each a ``date`` or an aware ``datetime``.

    ``all_day`` is true when start is a bare date. ``time_zone`` is what Notion sent
    (usually None: the zone shows only as the offset of the datetimes).
    """

    start: date | datetime
    end: date | datetime | None = None
    time_zone: str | None = None

    @property
    def all_day(self) -> bool:
        """True when the start is a date without a time."""
        return not isinstance(self.start, datetime)

    def text(self) -> str:
        """The date as text: ``start`` or ``start → end``, ISO formatted."""
        start = self.start.isoformat()
        return f"{start} → {self.end.isoformat()}" if self.end is not None else start


@dataclass(frozen=True)
class PropertyValue:
    """One property of a row: its Notion ``type``, a Python ``value`` and its plain ``text``."""

    name: str
    type: str
    value: Any
    text: str
    raw: dict[str, Any] = field(repr=False, default_factory=dict)
    has_more: bool = False
    """True when Notion sent only part of a people/relation list (over 25 items)."""


class LazyProperties(Mapping[str, PropertyValue]):
    """A page's properties, each parsed the first time it is read: a mapping uses a few of a
    row's properties, and parsing all of them was most of the cost of planning."""

    __slots__ = ("_raw", "_parsed", "_title")

    def __init__(self, raw: dict[str, dict[str, Any]]) -> None:
        self._raw = raw
        self._parsed: dict[str, PropertyValue] = {}
        self._title: str | None = None

    def __getitem__(self, name: str) -> PropertyValue:
        """The parsed property; ``BadValue`` (naming it and its value) if Notion sent a value
        that cannot be used, so that only a property somebody reads fails its row."""
        found = self._parsed.get(name)
        if found is None:
            found = self._parsed[name] = parse_property(name, self._raw[name])
        return found

    def get(self, name: str, default: Any = None) -> Any:
        """The parsed property, or ``default`` (without ``Mapping.get``'s exception round trip:
        templates call this for every placeholder of every row)."""
        found = self._parsed.get(name)
        if found is None:
            raw = self._raw.get(name)
            if raw is None:
                return default
            found = self._parsed[name] = parse_property(name, raw)
        return found

    def text(self, name: str) -> str | None:
        """The property's plain text, or None when the row has no such property. A text, title,
        select or status property is not made into a ``PropertyValue`` for it: templates ask
        for the text of every placeholder of every row, and most are of those types."""
        found = self._parsed.get(name)
        if found is not None:
            return found.text
        raw = self._raw.get(name)
        if raw is None:
            return None
        kind = raw.get("type", "")
        if kind in _TEXT_ONLY:
            try:
                return _TEXT_ONLY[kind](raw.get(kind))
            except (ValueError, TypeError, AttributeError):
                pass  # parse it in full, for parse_property's message
        return self[name].text

    def __iter__(self) -> Iterator[str]:
        return iter(self._raw)

    def __len__(self) -> int:
        return len(self._raw)

    def type_of(self, name: str) -> str:
        """The property's Notion type, without parsing it."""
        return str(self._raw[name].get("type", ""))

    def title_name(self) -> str | None:
        """The name of the title property, without parsing any value."""
        if self._title is not None:  # asked for several times per row: by the engine and connectors
            return self._title
        for name, raw in self._raw.items():
            if raw.get("type") == "title":
                self._title = name
                return name
        return None


@dataclass(frozen=True)
class Row:
    """A Notion page as notion-sync sees it."""

    id: str
    url: str
    created_time: datetime
    last_edited_time: datetime
    in_trash: bool
    properties: Mapping[str, PropertyValue]
    body: tuple[BodyBlock, ...] | None = None
    """The page's content blocks, when the mapping shows them (``{body}``); None: not read."""

    @property
    def title(self) -> str:
        """The plain text of the row's title property."""
        props = self.properties
        if isinstance(props, LazyProperties):
            # Types are told without parsing values (which may be bad ones).
            name = props.title_name()
            return (props.text(name) or "") if name is not None else ""
        for name in props:
            if props[name].type == "title":
                return props[name].text
        return ""

    def get(self, name: str) -> PropertyValue | None:
        """The property called ``name``, or None."""
        return self.properties.get(name)

    @classmethod
    def from_page(cls, page: dict[str, Any]) -> Row:
        """A row from a page object exactly as the API returns it."""
        raw: dict[str, dict[str, Any]] = page.get("properties", {})
        return made(
            cls,
            id=page["id"],
            url=page.get("url", ""),
            # Page timestamps are always date-times: parsed here, not through parse_notion_time.
            created_time=_fromisoformat(page["created_time"]),
            last_edited_time=_fromisoformat(page["last_edited_time"]),
            in_trash=bool(page.get("in_trash", page.get("archived", False))),
            properties=LazyProperties(raw),
        )


_fromisoformat = datetime.fromisoformat


def _rich_text(items: list[dict[str, Any]] | None) -> str:
    if not items:
        return ""
    if type(items) is list and len(items) == 1:  # most texts are one span
        text = items[0].get("plain_text", "")
        if type(text) is str:
            return text
    return "".join([i.get("plain_text", "") for i in items])


def _user_name(user: dict[str, Any]) -> str:
    return str(user.get("name") or user.get("person", {}).get("email") or user.get("id", ""))


_ROOM = timedelta(days=2)
"""How far from a date every use of it may move (an end a day later, a shift to another zone)."""


def _moment(value: Any, what: str) -> date | datetime:
    """A date or datetime of a date property, or ``ValueError`` saying what is wrong with it."""
    try:
        parsed = parse_notion_time(str(value))
    except ValueError:
        raise ValueError(f"{what} {value!r} is not a valid date") from None
    if 1 < parsed.year < 9999:
        return parsed
    try:
        _ = (parsed - _ROOM, parsed + _ROOM)
    except OverflowError:
        raise ValueError(
            f"{what} {value!r} is out of the range of dates notion-sync can use (years 1 to 9999)"
        ) from None
    return parsed


def _date(raw: dict[str, Any] | None) -> DateValue | None:
    if not raw or not raw.get("start"):
        return None
    end = raw.get("end")
    zone = raw.get("time_zone")
    if zone is not None:
        try:
            ZoneInfo(str(zone))
        except (ValueError, KeyError):  # ZoneInfoNotFoundError is a KeyError
            raise ValueError(f"the time zone {zone!r} does not exist") from None
    return made(
        DateValue,
        start=_moment(raw["start"], "the start"),
        end=_moment(end, "the end") if end else None,
        time_zone=zone,
    )


def _scalar_text(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, bool):
        return "Yes" if value else "No"
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    if isinstance(value, DateValue):
        return value.text()
    return str(value)


def _formula_or_rollup(raw: dict[str, Any]) -> Any:
    kind = raw.get("type")
    if kind == "date":
        return _date(raw.get("date"))
    if kind == "array":
        return [parse_property("", item).value for item in raw.get("array", [])]
    return raw.get(kind) if kind else None


def parse_property(name: str, raw: dict[str, Any]) -> PropertyValue:
    """Turn one property value object into a ``PropertyValue``; ``BadValue`` names the property
    and what is wrong when Notion sent a value that cannot be used."""
    try:
        return _parse_property(name, raw)
    except (ValueError, OverflowError, TypeError, AttributeError) as exc:
        raise BadValue(f"property {name!r} has a value notion-sync cannot use: {exc}. Fix it in Notion") from None


def _text_value(data: Any) -> tuple[Any, str]:
    text = _rich_text(data)
    return text, text


def _scalar_value(data: Any) -> tuple[Any, str]:
    return data, _scalar_text(data)


def _option_value(data: Any) -> tuple[Any, str]:
    name = data.get("name") if data else None
    return name, name or ""


def _options_value(data: Any) -> tuple[Any, str]:
    names = [o.get("name", "") for o in data or []]
    return names, ", ".join(names)


def _date_value(data: Any) -> tuple[Any, str]:
    value = _date(data)
    return value, value.text() if value else ""


def _people_value(data: Any) -> tuple[Any, str]:
    names = [_user_name(u) for u in data or []]
    return names, ", ".join(names)


def _user_value(data: Any) -> tuple[Any, str]:
    name = _user_name(data or {})
    return name, name


def _files_value(data: Any) -> tuple[Any, str]:
    urls = [f.get(f.get("type", ""), {}).get("url", "") for f in data or []]
    return urls, ", ".join(f.get("name", "") for f in data or [])


def _relation_value(data: Any) -> tuple[Any, str]:
    ids = [r.get("id", "") for r in data or []]
    return ids, ", ".join(ids)


def _computed_value(data: Any) -> tuple[Any, str]:
    value = _formula_or_rollup(data or {})
    text = ", ".join(_scalar_text(v) for v in value) if isinstance(value, list) else _scalar_text(value)
    return value, text


def _time_value(data: Any) -> tuple[Any, str]:
    return (_moment(data, "the time") if data else None), data or ""


def _unique_id_value(data: Any) -> tuple[Any, str]:
    prefix, number = (data or {}).get("prefix"), (data or {}).get("number")
    text = f"{prefix}-{number}" if prefix else _scalar_text(number)
    return text, text


def _verification_value(data: Any) -> tuple[Any, str]:
    state = (data or {}).get("state") or ""
    return state, state


def _button_value(data: Any) -> tuple[Any, str]:
    return None, ""


def _place_value(data: Any) -> tuple[Any, str]:
    return data, (data or {}).get("name") or (data or {}).get("address") or ""


def _raw_value(data: Any) -> tuple[Any, str]:
    return data, ""


_PARSERS: Mapping[str, Callable[[Any], tuple[Any, str]]] = MappingProxyType(
    {
        "title": _text_value,
        "rich_text": _text_value,
        "number": _scalar_value,
        "checkbox": _scalar_value,
        "url": _scalar_value,
        "email": _scalar_value,
        "phone_number": _scalar_value,
        "select": _option_value,
        "status": _option_value,
        "multi_select": _options_value,
        "date": _date_value,
        "people": _people_value,
        "created_by": _user_value,
        "last_edited_by": _user_value,
        "files": _files_value,
        "relation": _relation_value,
        "formula": _computed_value,
        "rollup": _computed_value,
        "created_time": _time_value,
        "last_edited_time": _time_value,
        "unique_id": _unique_id_value,
        "verification": _verification_value,
        "button": _button_value,
        "place": _place_value,
    }
)
"""Each property type's value and text from its data; a table, not a chain of tests, because
parsing is most of the CPU of planning."""


def _option_text(data: Any) -> str:
    return (data.get("name") if data else None) or ""


_TEXT_ONLY: Mapping[str, Callable[[Any], str]] = MappingProxyType(
    {"title": _rich_text, "rich_text": _rich_text, "select": _option_text, "status": _option_text}
)
"""The types whose text ``LazyProperties.text`` takes without parsing the whole value (the
same text ``_PARSERS`` gives)."""


def _parse_property(name: str, raw: dict[str, Any]) -> PropertyValue:
    kind = raw.get("type", "")
    value, text = _PARSERS.get(kind, _raw_value)(raw.get(kind))
    return made(
        PropertyValue, name=name, type=kind, value=value, text=text, raw=raw, has_more=bool(raw.get("has_more", False))
    )
