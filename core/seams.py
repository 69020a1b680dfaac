"""What the engine needs from the outside, as Protocols: a Notion reader and a state store.

``Engine`` takes an opener for each, defaulting to the real ones (``NotionSource`` and
``StateStore.open``), so a benchmark or a test hands in its own instead of patching.
"""

from __future__ import annotations

from collections.abc import Collection, Iterable, Iterator
from datetime import datetime
from pathlib import Path
from typing import Any, Protocol

from notion_sync.core.adapter import ExternalRef
from notion_sync.core.links import Failure, StoredBody, StoredLink, WriteBackIntent
from notion_sync.core.notion_source import DataSource, RequestCount
from notion_sync.core.pacing import Pacers
from notion_sync.core.retry import RetryPolicy
from notion_sync.core.secrets import Secret
from notion_sync.core.state import Cursor

__all__ = ["NotionOpener", "NotionReader", "StateBackend", "StateOpener"]


class NotionReader(Protocol):
    """Reads a mapping's data source: what the engine asks of ``NotionSource``."""

    def resolve(self, database: str, data_source: str | None, *, mapping: str) -> DataSource:
        """The data source a mapping reads."""
        ...

    def schema(self, data_source_id: str) -> dict[str, Any]:
        """The data source's properties, name -> property object."""
        ...

    def pages(
        self, data_source_id: str, *, filter: dict[str, Any] | None = None, since: datetime | None = None
    ) -> Iterator[list[dict[str, Any]]]:
        """The rows, one API page at a time; ``since`` makes it incremental."""
        ...

    def page(self, page_id: str) -> dict[str, Any] | None:
        """One page by id, trashed or not; None when it is gone (404)."""
        ...

    def complete_property(self, page_id: str, prop: dict[str, Any]) -> dict[str, Any]:
        """A people/relation value that Notion cut at 25, in full."""
        ...

    def block_children(self, block_id: str) -> list[dict[str, Any]]:
        """Every child block of a page or block (one level), following pagination."""
        ...

    def update_page(self, page_id: str, properties: dict[str, Any]) -> dict[str, Any]:
        """Write these properties of one row (write-back); returns the updated page."""
        ...

    def count_into(self, count: RequestCount) -> None:
        """Count this thread's requests into ``count`` from now on."""
        ...

    def close(self) -> None:
        """Release the client."""
        ...


class NotionOpener(Protocol):
    """Builds the run's Notion reader; ``NotionSource`` itself is one."""

    def __call__(
        self,
        token: Secret,
        *,
        base_url: str,
        timeout: float,
        requests_per_second: float,
        retry: RetryPolicy | None = None,
        pacers: Pacers | None = None,
    ) -> NotionReader: ...


class StateBackend(Protocol):
    """Where a run reads and records links, intents, failures and cursors: what the engine asks
    of ``StateStore``."""

    run_id: int | None
    token_fingerprint: str | None

    def get_cursor(self, mapping: str) -> Cursor:
        """Where the mapping's incremental reads stand."""
        ...

    def set_cursor(self, mapping: str, cursor: Cursor) -> None:
        """Move the mapping's cursor."""
        ...

    def get_links(self, mapping: str, page_ids: Iterable[str]) -> dict[str, StoredLink]:
        """The links recorded for these pages."""
        ...

    def iter_links(self, mapping: str) -> Iterator[StoredLink]:
        """Every link of the mapping."""
        ...

    def unseen_live_links(self, mapping: str, seen: Collection[str]) -> Iterator[StoredLink]:
        """The live links whose page is not in ``seen``."""
        ...

    def count_links(self, mapping: str, *, live_only: bool = False) -> int:
        """How many links the mapping has (live ones only: not archived)."""
        ...

    def save_link(
        self,
        mapping: str,
        page_id: str,
        ref: ExternalRef,
        payload: dict[str, Any] | None,
        *,
        archived: bool = False,
        action: str,
        title: str = "",
        mark: str | None = None,
    ) -> None:
        """Record a successful write (and clear its intent and failure); ``title`` names the row in
        history, ``mark`` the row version written (None forgets the link's render mark)."""
        ...

    def mark_links(self, mapping: str, marks: dict[str, str]) -> None:
        """Record the render marks of links whose rows were rendered and found unchanged."""
        ...

    def remove_link(
        self, mapping: str, page_id: str, external_id: str | None, *, action: str = "deleted", title: str = ""
    ) -> None:
        """Record that an item is gone."""
        ...

    def get_bodies(self, mapping: str, page_ids: Iterable[str]) -> dict[str, StoredBody]:
        """The page bodies stored for these pages."""
        ...

    def save_bodies(self, mapping: str, bodies: dict[str, StoredBody]) -> None:
        """Store page bodies just read."""
        ...

    def record_intent(self, mapping: str, page_ids: Iterable[str]) -> None:
        """Remember writes that are about to be sent."""
        ...

    def pending_intents(self, mapping: str) -> set[str]:
        """Page ids whose write was sent and never recorded."""
        ...

    def clear_intent(self, mapping: str, page_id: str) -> None:
        """Forget an intent: nothing was written."""
        ...

    def record_failure(self, mapping: str, page_id: str, error: str, *, max_attempts: int = 5, title: str = "") -> int:
        """Record a failed item; returns how many times in a row it has failed."""
        ...

    def failure_map(self, mapping: str, page_ids: Iterable[str]) -> dict[str, Failure]:
        """The failures recorded for these pages."""
        ...

    def record_write_back_intent(self, mapping: str, intent: WriteBackIntent) -> None:
        """Remember a Notion write that is about to be sent."""
        ...

    def write_back_intents(self, mapping: str) -> dict[str, WriteBackIntent]:
        """Notion writes that were sent and never recorded, by page id."""
        ...

    def clear_write_back_intent(self, mapping: str, page_id: str) -> None:
        """Forget a write-back intent (Notion refused it)."""
        ...

    def record_write_back(
        self,
        mapping: str,
        page_id: str,
        ref: ExternalRef,
        payload: dict[str, Any],
        *,
        action: str,
        detail: str,
        title: str = "",
    ) -> None:
        """Record a write-back (or adopted change): the link's new payload and its history line."""
        ...

    def record_conflict(self, mapping: str, page_id: str, external_id: str, *, detail: str, title: str = "") -> None:
        """A history line for a conflict, with both values and the winner."""
        ...

    def change_token(self, mapping: str) -> str | None:
        """The connector's token for listing the target's changes."""
        ...

    def set_change_token(self, mapping: str, token: str | None) -> None:
        """Remember the connector's change token."""
        ...

    def token_first_seen(self, name: str, fingerprint: str, *, record: bool = True) -> datetime:
        """When a token was first seen."""
        ...

    def start_run(self, token_fingerprint: str | None) -> int:
        """Record the start of a run."""
        ...

    def finish_run(self, status: str, summary: dict[str, Any]) -> None:
        """Record the end of a run."""
        ...

    def start_mapping_run(self, mapping: str, holder: str) -> None:
        """Record that ``holder`` syncs ``mapping`` in this run."""
        ...

    def finish_mapping_run(self, mapping: str, status: str) -> None:
        """Record the end of this run's sync of ``mapping``."""
        ...

    def close(self) -> None:
        """Close the connection."""
        ...


class StateOpener(Protocol):
    """Opens a connection to the state; ``StateStore.open`` is one."""

    def __call__(self, path: str | Path | Secret, *, readonly: bool = False) -> StateBackend: ...
