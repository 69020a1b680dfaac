"""Internal state of the Notion emulator: what it stores per token, database, data source, page, cursor."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Protocol

from notion_sync.core.emulator.notion_values import floor_minute

__all__ = [
    "ContentSource",
    "CursorState",
    "DataSourceState",
    "DatabaseState",
    "NotionAPIError",
    "PageState",
    "TokenState",
]


class NotionAPIError(Exception):
    """Raised inside a handler to answer with Notion's error body."""

    def __init__(
        self,
        status: int,
        code: str,
        message: str,
        additional_data: dict[str, Any] | None = None,
        headers: dict[str, str] | None = None,
    ) -> None:
        super().__init__(message)
        self.status, self.code, self.message = status, code, message
        self.additional_data = additional_data
        self.headers = headers or {}


class ContentSource(Protocol):
    """Computes a page's value for a schema property (the emulator does)."""

    def _content(self, page: PageState, prop: Mapping[str, Any]) -> Any: ...


@dataclass
class TokenState:
    """An integration token and its bot."""

    token: str
    bot_id: str
    bot_name: str
    workspace_name: str
    workspace_id: str
    capabilities: frozenset[str]
    revoked: bool = False


@dataclass
class DatabaseState:
    """A database: a container of data sources, shared with some tokens."""

    id: str
    title: str
    parent_page_id: str
    created: datetime
    edited: datetime
    shared_with: set[str]
    data_source_ids: list[str] = field(default_factory=list)
    in_trash: bool = False


@dataclass
class DataSourceState:
    """A data source: a schema (property name -> schema JSON) and, through pages, rows."""

    id: str
    name: str
    database_id: str
    properties: dict[str, dict[str, Any]]
    created: datetime
    edited: datetime
    next_unique: int = 1
    in_trash: bool = False


@dataclass
class PageState:
    """One row. ``values`` maps property id -> content under the type key (full, untruncated)."""

    emulator: ContentSource
    id: str
    data_source_id: str
    seq: int
    created: datetime
    edited: datetime
    created_by: str
    edited_by: str
    values: dict[str, Any] = field(default_factory=dict)
    unique_number: int = 0
    in_trash: bool = False
    decoration: dict[str, Any] = field(default_factory=dict)
    """``icon`` and ``cover`` as written through the API."""

    # PageView protocol used by filters and sorts
    def value(self, prop: Mapping[str, Any]) -> Any:
        """The full value under the type key of ``prop``."""
        return self.emulator._content(self, prop)

    def timestamp(self, which: str) -> datetime:
        """``created_time``/``last_edited_time`` rounded down to the minute."""
        return floor_minute(self.created if which == "created_time" else self.edited)

    def exact_timestamp(self, which: str) -> datetime:
        """``created_time``/``last_edited_time`` as stored."""
        return self.created if which == "created_time" else self.edited


@dataclass
class CursorState:
    """A pagination cursor: the result ids fixed by the first request, and where the next page starts."""

    ids: list[str]
    position: int
    served: int
    owner: str = ""
    """What the cursor belongs to ("query:<ds id>", "search:<token>", "property:<page>:<prop>")."""
