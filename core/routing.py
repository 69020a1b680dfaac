"""Routing by property: a row's value picks where its item goes (a calendar, a channel).

A mapping names a property (``calendar_from``), a table from its values to places
(``calendars``) and optionally a fallback (``calendar_id``). ``Routing`` holds the three, checks
them together, lists every place (for ``check`` and ``prepare``) and picks a row's.
"""

from __future__ import annotations

from dataclasses import dataclass

from notion_sync.core.errors import SkipItem
from notion_sync.core.rows import Row

__all__ = ["Routing"]


@dataclass(frozen=True)
class Routing:
    """``prop`` (None: no routing), ``table`` (value -> place) and ``fallback``, with the key names
    (``keys``: the property's, the table's and the fallback's) messages use."""

    prop: str | None
    table: dict[str, str]
    fallback: str | None
    keys: tuple[str, str, str]
    example: str
    """A table to show in messages, ``{ Design = "#design" }``."""

    def problem(self) -> str | None:
        """What is wrong with the three keys together, or None."""
        from_key, table_key, fallback_key = self.keys
        if self.prop is None and self.table:
            return f"{table_key} needs {from_key}: the property whose value picks the place"
        if self.prop is not None and not self.table:
            return f"{from_key} = {self.prop!r} needs a {table_key} table, e.g. {table_key} = {self.example}"
        if self.fallback is None and self.prop is None:
            return f"{fallback_key} is required (or {from_key} with {table_key})"
        return None

    @property
    def places(self) -> list[str]:
        """Every place a row may go: the routed ones, then the fallback."""
        out = list(dict.fromkeys(self.table.values()))
        if self.fallback is not None and self.fallback not in out:
            out.append(self.fallback)
        return out

    @property
    def home(self) -> str:
        """The place of a row nothing routes: the fallback, else the first routed one."""
        return self.fallback or self.places[0]

    def pick(self, row: Row) -> str:
        """The row's place: ``table[<its value>]``, else the fallback; a row with neither is skipped
        (``SkipItem``: counted as skipped)."""
        if self.prop is None:
            return self.home
        found = row.get(self.prop)
        value = found.text.strip() if found is not None else ""
        place = self.table.get(value)
        if place is not None:
            return place
        if self.fallback is not None:
            return self.fallback
        _, table_key, fallback_key = self.keys
        raise SkipItem(f"{self.prop} is {value!r}, which is not in {table_key} (and there is no {fallback_key})")
