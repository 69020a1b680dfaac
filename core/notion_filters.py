"""Filters and sorts of ``POST /v1/data_sources/{id}/query``, evaluated like Notion does.

:func:`compile_filter` turns a filter body into a predicate over pages and
:func:`compile_sorts` turns ``sorts`` into a comparison key; both raise
:class:`QueryValidationError` with Notion's 400 ``validation_error`` wording for bad input
(an unknown property, an operator the type has not, a filter whose type does not match
the property's type).

Semantics worth knowing (they are Notion's, so the core must live with them):

* ``timestamp`` filters and ``created_time``/``last_edited_time`` properties compare the
  **minute-rounded** timestamps, so ``after 09:09:00`` misses an edit made at 09:09:30.
* Date filters compare the *start* of a date value; a date-only filter value compares
  calendar dates (a timed value's date is taken in its own offset), a datetime filter
  value compares instants (an all-day value counts as midnight UTC).
* Text ``contains``/``starts_with``/``ends_with`` are case-insensitive, ``equals`` is exact.
* Empty values sort last in both directions; ties keep the default order.
"""

from __future__ import annotations

import functools
import re
from collections.abc import Callable, Iterable, Mapping
from datetime import UTC, date, datetime, timedelta
from typing import Any, Protocol
from urllib.parse import unquote

__all__ = [
    "PageView",
    "QueryValidationError",
    "compile_filter",
    "compile_sorts",
    "date_point",
    "find_property",
    "plain_text",
    "same_property_id",
]

Predicate = Callable[["PageView"], bool]

MAX_FILTER_DEPTH = 2
"""Notion allows compound filters nested two levels deep."""


class QueryValidationError(ValueError):
    """A filter or sort Notion would reject with 400 ``validation_error``."""


class PageView(Protocol):
    """What filters and sorts need from a stored page."""

    def value(self, prop: Mapping[str, Any]) -> Any:
        """The full (untruncated) value under the type key of ``prop`` for this page."""

    def timestamp(self, which: str) -> datetime:
        """``created_time`` or ``last_edited_time``, rounded down to the minute."""

    def exact_timestamp(self, which: str) -> datetime:
        """``created_time`` or ``last_edited_time`` as stored (for sorts and the default order)."""


def same_property_id(a: str, b: str) -> bool:
    """Property ids arrive url-encoded or decoded depending on where they travel."""
    return a == b or unquote(a) == unquote(b)


def plain_text(items: Iterable[Mapping[str, Any]]) -> str:
    """The concatenated ``plain_text`` of rich text items."""
    return "".join(item.get("plain_text", "") for item in items)


def date_point(text: str) -> tuple[date, datetime | None]:
    """A Notion date string as (its calendar date, its instant or None for an all-day date)."""
    if re.fullmatch(r"\d{4}-\d{2}-\d{2}", text):
        return date.fromisoformat(text), None
    moment = datetime.fromisoformat(text)
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    return moment.date(), moment


def find_property(schema: Mapping[str, Mapping[str, Any]], key: str) -> Mapping[str, Any] | None:
    """A schema property by name or by id (Notion accepts both in filters and sorts)."""
    if key in schema:
        return schema[key]
    for prop in schema.values():
        if same_property_id(prop["id"], key):
            return prop
    return None


# ---------------------------------------------------------------- operators by value family


def _text_ops(value: str, op: str, arg: Any) -> bool:
    low, low_arg = value.lower(), str(arg).lower() if arg is not None else ""
    if op == "equals":
        return bool(value == arg)
    if op == "does_not_equal":
        return bool(value != arg)
    if op == "contains":
        return low_arg in low
    if op == "does_not_contain":
        return low_arg not in low
    if op == "starts_with":
        return low.startswith(low_arg)
    if op == "ends_with":
        return low.endswith(low_arg)
    if op == "is_empty":
        return value == ""
    if op == "is_not_empty":
        return value != ""
    raise KeyError(op)


def _number_ops(value: float | None, op: str, arg: Any) -> bool:
    if op == "is_empty":
        return value is None
    if op == "is_not_empty":
        return value is not None
    if op in (
        "equals",
        "does_not_equal",
        "greater_than",
        "less_than",
        "greater_than_or_equal_to",
        "less_than_or_equal_to",
    ):
        if not isinstance(arg, (int, float)) or isinstance(arg, bool):
            raise QueryValidationError(
                f"body failed validation: body.filter.number.{op} should be a number, instead was `{arg!r}`."
            )
    else:
        raise KeyError(op)
    if op == "does_not_equal":
        return value != arg
    if value is None:
        return False
    return {
        "equals": value == arg,
        "greater_than": value > arg,
        "less_than": value < arg,
        "greater_than_or_equal_to": value >= arg,
        "less_than_or_equal_to": value <= arg,
    }[op]


def _checkbox_ops(value: bool, op: str, arg: Any) -> bool:
    if op == "equals":
        return value is bool(arg)
    if op == "does_not_equal":
        return value is not bool(arg)
    raise KeyError(op)


def _choice_ops(name: str | None, op: str, arg: Any) -> bool:
    if op == "equals":
        return bool(name == arg)
    if op == "does_not_equal":
        return bool(name != arg)
    if op == "is_empty":
        return name is None
    if op == "is_not_empty":
        return name is not None
    raise KeyError(op)


def _contains_ops(members: list[str], op: str, arg: Any) -> bool:
    if op == "contains":
        return arg in members
    if op == "does_not_contain":
        return arg not in members
    if op == "is_empty":
        return not members
    if op == "is_not_empty":
        return bool(members)
    raise KeyError(op)


_RELATIVE = {
    "past_week": (-7, 0),
    "past_month": (-30, 0),
    "past_year": (-365, 0),
    "next_week": (0, 7),
    "next_month": (0, 30),
    "next_year": (0, 365),
}


def _date_ops(start: str | None, op: str, arg: Any, now: datetime) -> bool:
    if op == "is_empty":
        return start is None
    if op == "is_not_empty":
        return start is not None
    if start is None:
        return False
    day, moment = date_point(start)
    if op in _RELATIVE:
        low, high = _RELATIVE[op]
        today = now.astimezone(UTC).date()
        return today + timedelta(days=low) <= day <= today + timedelta(days=high)
    if op == "this_week":
        today = now.astimezone(UTC).date()
        monday = today - timedelta(days=today.weekday())
        return monday <= day < monday + timedelta(days=7)
    if op not in ("equals", "before", "after", "on_or_before", "on_or_after"):
        raise KeyError(op)
    try:
        arg_day, arg_moment = date_point(str(arg))
    except ValueError:
        raise QueryValidationError(
            f"body failed validation: body.filter.date.{op} should be a valid ISO 8601 "
            f"date string, instead was `{arg!r}`."
        ) from None
    left: date | datetime
    right: date | datetime
    if arg_moment is None:
        left, right = day, arg_day
    else:
        left = moment if moment is not None else datetime(day.year, day.month, day.day, tzinfo=UTC)
        right = arg_moment
    return {
        "equals": left == right,
        "before": left < right,
        "after": left > right,
        "on_or_before": left <= right,
        "on_or_after": left >= right,
    }[op]


# ---------------------------------------------------------------- property accessors by type


def _text_of(kind: str, value: Any) -> str:
    if kind in ("title", "rich_text"):
        return plain_text(value or [])
    return value or ""


def _leaf(
    kind: str, prop: Mapping[str, Any] | None, body: Mapping[str, Any], timestamp: str | None, now: datetime
) -> Predicate:
    """The predicate of one property (or timestamp) filter ``body`` of family ``kind``."""
    if not isinstance(body, Mapping) or len(body) != 1:
        raise QueryValidationError(
            f"body failed validation: body.filter.{kind} should be an object with "
            f"exactly one condition, instead was `{body!r}`."
        )
    ((op, arg),) = body.items()
    ptype = prop["type"] if prop is not None else kind

    def get(page: PageView) -> Any:
        return page.value(prop) if prop is not None else None

    def check(fn: Callable[[Any], bool]) -> Predicate:
        # An unknown operator raises KeyError once up front, turned into a 400 below.
        return fn

    try:
        if kind in ("title", "rich_text", "url", "email", "phone_number"):
            _text_ops("", op, arg)
            return check(lambda page: _text_ops(_text_of(ptype, get(page)), op, arg))
        if kind == "number":
            _number_ops(None, op, arg)
            return check(lambda page: _number_ops(get(page), op, arg))
        if kind == "unique_id":
            _number_ops(None, op, arg)
            return check(lambda page: _number_ops((get(page) or {}).get("number"), op, arg))
        if kind == "checkbox":
            _checkbox_ops(False, op, arg)
            return check(lambda page: _checkbox_ops(bool(get(page)), op, arg))
        if kind in ("select", "status"):
            _choice_ops(None, op, arg)
            return check(lambda page: _choice_ops((get(page) or {}).get("name"), op, arg))
        if kind == "multi_select":
            _contains_ops([], op, arg)
            return check(lambda page: _contains_ops([o["name"] for o in get(page) or []], op, arg))
        if kind in ("people", "created_by", "last_edited_by"):
            _contains_ops([], op, arg)
            if ptype in ("created_by", "last_edited_by"):
                return check(lambda page: _contains_ops([get(page)["id"]], op, arg))
            return check(lambda page: _contains_ops([u["id"] for u in get(page) or []], op, arg))
        if kind == "relation":
            _contains_ops([], op, arg)
            return check(lambda page: _contains_ops([r["id"] for r in get(page) or []], op, arg))
        if kind == "files":
            if op not in ("is_empty", "is_not_empty"):
                raise KeyError(op)
            return check(lambda page: (not get(page)) == (op == "is_empty"))
        if kind in ("date", "created_time", "last_edited_time"):
            _date_ops(None, op, arg, now)
            if timestamp is not None or ptype in ("created_time", "last_edited_time"):
                which = timestamp or ptype
                return check(lambda page: _date_ops(_stamp(page, which), op, arg, now))
            return check(lambda page: _date_ops((get(page) or {}).get("start"), op, arg, now))
        if kind == "verification":
            if op != "status":
                raise KeyError(op)
            return check(lambda page: (get(page) or {}).get("state") == arg)
    except KeyError:
        raise QueryValidationError(
            f"body failed validation: body.filter.{kind}.{op} is not a valid condition for a {kind} filter."
        ) from None
    raise QueryValidationError(f"body failed validation: filtering on a {kind} property is not supported.")


def _stamp(page: PageView, which: str) -> str:
    return page.timestamp(which).strftime("%Y-%m-%dT%H:%M:%S.000+00:00")


def _formula(prop: Mapping[str, Any], body: Mapping[str, Any], now: datetime) -> Predicate:
    if not isinstance(body, Mapping) or len(body) != 1:
        raise QueryValidationError(
            "body failed validation: body.filter.formula should have exactly one of "
            "`string`, `checkbox`, `number`, `date`."
        )
    ((family, condition),) = body.items()
    kinds = {"string": "rich_text", "checkbox": "checkbox", "number": "number", "date": "date"}
    if family not in kinds:
        raise QueryValidationError(f"body failed validation: body.filter.formula.{family} is not a formula filter.")
    result_key = {"string": "string", "checkbox": "boolean", "number": "number", "date": "date"}[family]
    inner = _leaf(kinds[family], {"type": "_result", "id": prop["id"]}, condition, None, now)

    class _Result:
        def __init__(self, page: PageView) -> None:
            self.page = page

        def value(self, _prop: Mapping[str, Any]) -> Any:
            result = self.page.value(prop) or {}
            got = result.get(result_key)
            return got if family != "string" else (got or "")

        def timestamp(self, which: str) -> datetime:
            return self.page.timestamp(which)

        def exact_timestamp(self, which: str) -> datetime:
            return self.page.exact_timestamp(which)

    return lambda page: inner(_Result(page))


def _rollup(prop: Mapping[str, Any], body: Mapping[str, Any], now: datetime) -> Predicate:
    if not isinstance(body, Mapping) or len(body) != 1:
        raise QueryValidationError(
            "body failed validation: body.filter.rollup should have exactly one of "
            "`any`, `every`, `none`, `number`, `date`."
        )
    ((family, condition),) = body.items()
    if family in ("number", "date"):
        inner = _leaf(family, {"type": family, "id": prop["id"]}, condition, None, now)
        return lambda page: inner(_Proxy(page, (page.value(prop) or {}).get(family)))
    if family in ("any", "every", "none"):
        if not isinstance(condition, Mapping) or len(condition) != 1:
            raise QueryValidationError(
                f"body failed validation: body.filter.rollup.{family} should hold one property filter."
            )
        ((item_kind, item_body),) = condition.items()
        inner = _leaf(item_kind, {"type": item_kind, "id": prop["id"]}, item_body, None, now)

        def test(page: PageView) -> bool:
            items = (page.value(prop) or {}).get("array") or []
            hits = [inner(_Proxy(page, item.get(item.get("type", item_kind)))) for item in items]
            if family == "any":
                return any(hits)
            if family == "every":
                return all(hits)
            return not any(hits)

        return test
    raise QueryValidationError(f"body failed validation: body.filter.rollup.{family} is not a rollup filter.")


class _Proxy:
    """A page whose one value is replaced, so a leaf filter can run on a nested value."""

    def __init__(self, page: PageView, value: Any) -> None:
        self._page, self._value = page, value

    def value(self, _prop: Mapping[str, Any]) -> Any:
        return self._value

    def timestamp(self, which: str) -> datetime:
        return self._page.timestamp(which)

    def exact_timestamp(self, which: str) -> datetime:
        return self._page.exact_timestamp(which)


def compile_filter(body: Any, schema: Mapping[str, Mapping[str, Any]], now: datetime, depth: int = 0) -> Predicate:
    """A predicate for a query's ``filter`` (raises :class:`QueryValidationError`)."""
    if not isinstance(body, Mapping):
        raise QueryValidationError(f"body failed validation: body.filter should be an object, instead was `{body!r}`.")
    for compound in ("and", "or"):
        if compound in body:
            if depth >= MAX_FILTER_DEPTH:
                raise QueryValidationError(
                    "body failed validation: body.filter compound filters can be nested "
                    f"at most {MAX_FILTER_DEPTH} levels deep."
                )
            parts = body[compound]
            if not isinstance(parts, list):
                raise QueryValidationError(f"body failed validation: body.filter.{compound} should be an array.")
            preds = [compile_filter(part, schema, now, depth + 1) for part in parts]
            if compound == "and":
                return lambda page: all(p(page) for p in preds)
            return lambda page: any(p(page) for p in preds)
    if "timestamp" in body:
        which = body["timestamp"]
        if which not in ("created_time", "last_edited_time"):
            raise QueryValidationError(
                "body failed validation: body.filter.timestamp should be `created_time` or "
                f"`last_edited_time`, instead was `{which!r}`."
            )
        if which not in body:
            raise QueryValidationError(
                f"body failed validation: body.filter.{which} should be defined, instead was `undefined`."
            )
        return _leaf(which, None, body[which], which, now)
    if "property" not in body:
        raise QueryValidationError(
            "body failed validation: body.filter.property should be defined, instead was `undefined`."
        )
    prop = find_property(schema, str(body["property"]))
    if prop is None:
        raise QueryValidationError(f"Could not find property with name or id: {body['property']}")
    families = [key for key in body if key not in ("property", "type")]
    if len(families) != 1:
        raise QueryValidationError(
            f"body failed validation: body.filter should have exactly one filter type "
            f"for property {body['property']}, instead had {families}."
        )
    family = families[0]
    ptype = prop["type"]
    compatible = {family} | ({"date"} if family == "date" else set())
    if family in ("rich_text", "title") and ptype in ("title", "rich_text"):
        compatible.add(ptype)
    if ptype not in compatible:
        raise QueryValidationError(
            f"body failed validation: {prop['name']} is a property of type `{ptype}`, "
            f"it cannot be filtered with a `{family}` filter."
        )
    if family == "formula":
        return _formula(prop, body[family], now)
    if family == "rollup":
        return _rollup(prop, body[family], now)
    return _leaf(family, prop, body[family], None, now)


# ---------------------------------------------------------------- sorts


def _sort_value(prop: Mapping[str, Any], value: Any) -> Any:
    kind = prop["type"]
    if kind in ("title", "rich_text"):
        text = plain_text(value or [])
        return text.lower() if text else None
    if kind in ("url", "email", "phone_number"):
        return value.lower() if value else None
    if kind in ("number",):
        return value
    if kind == "checkbox":
        return bool(value)
    if kind in ("select", "status"):
        if not value:
            return None
        names = [o["name"] for o in prop[kind].get("options", [])]
        return names.index(value["name"]) if value["name"] in names else len(names)
    if kind == "multi_select":
        return ",".join(o["name"].lower() for o in value) if value else None
    if kind == "date":
        if not value:
            return None
        day, moment = date_point(value["start"])
        return moment or datetime(day.year, day.month, day.day, tzinfo=UTC)
    if kind == "people":
        return ",".join((u.get("name") or "").lower() for u in value) if value else None
    if kind == "unique_id":
        return (value or {}).get("number")
    if kind == "formula":
        result = value or {}
        return result.get(result.get("type", "string"))
    if kind == "rollup":
        result = value or {}
        got = result.get(result.get("type", "number"))
        return got if not isinstance(got, (list, dict)) else None
    return None


def _timestamp_key(which: str) -> Callable[[Any], Any]:
    return lambda page: page.exact_timestamp(which)


def _property_key(prop: Mapping[str, Any]) -> Callable[[Any], Any]:
    return lambda page: _sort_value(prop, page.value(prop))


def compile_sorts(sorts: Any, schema: Mapping[str, Mapping[str, Any]]) -> Callable[[Any, Any], int] | None:
    """A ``cmp(page_a, page_b)`` for ``sorts`` (None when empty), empties last both ways."""
    if sorts is None or sorts == []:
        return None
    if not isinstance(sorts, list):
        raise QueryValidationError(f"body failed validation: body.sorts should be an array, instead was `{sorts!r}`.")
    keys: list[tuple[Callable[[PageView], Any], bool]] = []
    for index, sort in enumerate(sorts):
        if not isinstance(sort, Mapping):
            raise QueryValidationError(f"body failed validation: body.sorts[{index}] should be an object.")
        direction = sort.get("direction", "ascending")
        if direction not in ("ascending", "descending"):
            raise QueryValidationError(
                f"body failed validation: body.sorts[{index}].direction should be "
                f"`ascending` or `descending`, instead was `{direction!r}`."
            )
        if "timestamp" in sort:
            which = sort["timestamp"]
            if which not in ("created_time", "last_edited_time"):
                raise QueryValidationError(
                    f"body failed validation: body.sorts[{index}].timestamp should be "
                    f"`created_time` or `last_edited_time`, instead was `{which!r}`."
                )
            keys.append((_timestamp_key(which), direction == "descending"))
            continue
        if "property" not in sort:
            raise QueryValidationError(
                f"body failed validation: body.sorts[{index}].property should be defined, instead was `undefined`."
            )
        prop = find_property(schema, str(sort["property"]))
        if prop is None:
            raise QueryValidationError(f"Could not find sort property with name or id: {sort['property']}")
        if prop["type"] in ("created_time", "last_edited_time"):
            keys.append((_timestamp_key(prop["type"]), direction == "descending"))
        else:
            keys.append((_property_key(prop), direction == "descending"))

    def compare(a: Any, b: Any) -> int:
        for key, descending in keys:
            va, vb = key(a), key(b)
            if va == vb:
                continue
            if va is None:
                return 1
            if vb is None:
                return -1
            try:
                result = -1 if va < vb else 1
            except TypeError:
                result = -1 if str(va) < str(vb) else 1
            return -result if descending else result
        return 0

    return compare


def sort_pages(pages: list[Any], compare: Callable[[Any, Any], int] | None) -> list[Any]:
    """Pages in query order: ``pages`` must already be in the default order (stable sort)."""
    if compare is None:
        return pages
    return sorted(pages, key=functools.cmp_to_key(compare))
