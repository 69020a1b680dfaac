"""Reading Notion: resolve a database to its data source, and stream its rows.

Uses the official ``notion-client`` (Notion-Version 2025-09-03), with notion-sync's
retry policy in place of the client's own, because the client does not retry a
failed query (a POST) nor a 529. Reads are paced under Notion's ~3 requests/second.

Incremental reads ask for ``last_edited_time on_or_after (watermark - 1 minute)``:
Notion rounds that field down to the minute, so a strict ``after`` would lose an
edit made in the same minute as the last run. Rows seen twice are harmless: the
planner writes only when the rendered payload changed.

A query returns at most 10,000 rows. Reads are sorted by ``created_time`` and, when
Notion says ``query_result_limit_reached``, go on in a new query from the last
``created_time`` seen, skipping rows already returned.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

import httpx
from notion_client import Client
from notion_client.errors import APIResponseError, HTTPResponseError, RequestTimeoutError

from notion_sync.core.errors import AccessError, ConfigError, ConfigProblem, FatalError, NotionSyncError, RetryableError
from notion_sync.core.fields import PropertyUse
from notion_sync.core.notion_ids import parse_notion_id
from notion_sync.core.pacing import Pace, Pacers, pace_key
from notion_sync.core.retry import RetryPolicy, call_with_retry
from notion_sync.core.secrets import Secret

__all__ = [
    "DataSource",
    "NotionSource",
    "RequestCount",
    "classify_notion_error",
    "check_property_uses",
    "NOTION_VERSION",
]

NOTION_VERSION = "2025-09-03"
PAGE_SIZE = 100
INLINE_LIMIT = 25
log = logging.getLogger(__name__)

_TOKEN_HELP = (
    "the Notion token is invalid or was revoked: copy it again from the integration's page (notion.so/my-integrations)"
)


@dataclass
class RequestCount:
    """A thread-safe request counter."""

    n: int = 0
    lock: threading.Lock = field(default_factory=threading.Lock, repr=False)


@dataclass(frozen=True)
class DataSource:
    """A resolved data source: its id, its name, and its database."""

    id: str
    name: str
    database_id: str


def _retry_after(headers: httpx.Headers | None) -> float | None:
    value = headers.get("retry-after") if headers is not None else None
    try:
        return float(value) if value is not None else None
    except ValueError:
        return None


def classify_notion_error(
    exc: Exception, *, bot_name: str = "your integration", what: str = "", writing: bool = False
) -> Exception:
    """Notion's status-to-action table: retry 429/5xx/529 and dropped connections; access errors
    explained (``writing``: a 403 means the *Update content* capability is missing)."""
    if isinstance(exc, APIResponseError):
        status, code, message = exc.status, str(getattr(exc.code, "value", exc.code)), str(exc)
        if status == 429 or status in (500, 502, 503, 504, 529) or code == "conflict_error":
            return RetryableError(f"Notion answered {status} {code}: {message}", retry_after=_retry_after(exc.headers))
        if status == 401:
            return AccessError(_TOKEN_HELP)
        if status == 403 and writing:
            return AccessError(
                f"Notion refused to update {what or 'the page'} ({code}): {message}. Fix: enable Update content "
                f"on the integration's page (notion.so/my-integrations → {bot_name} → Capabilities)"
            )
        if status == 403:
            return AccessError(
                f"Notion refused access ({code}): {message}. Enable the 'Read content' capability on the "
                f"integration's page (notion.so/my-integrations → {bot_name} → Capabilities)"
            )
        if status == 404:
            return AccessError(
                f'{what or "the object"} was not found, or is not shared with integration "{bot_name}": '
                f'open it in Notion → ••• → Connections → add "{bot_name}"'
            )
        return FatalError(f"Notion rejected the request ({status} {code}): {message}")
    if isinstance(exc, HTTPResponseError):
        if exc.status == 429 or exc.status >= 500:
            return RetryableError(f"Notion answered HTTP {exc.status}", retry_after=_retry_after(exc.headers))
        return FatalError(f"Notion answered HTTP {exc.status}")
    if isinstance(exc, RequestTimeoutError | httpx.TimeoutException):
        return RetryableError("the request to Notion timed out")
    if isinstance(exc, httpx.TransportError):
        return RetryableError(f"the connection to Notion failed: {type(exc).__name__}")
    return exc


def _filter_problem(exc: FatalError, filter: dict[str, Any] | None) -> ConfigError | None:
    """A query Notion rejected as invalid (400) because of the mapping's filter is a config
    problem (exit 2, as ``check`` says), not a failed item."""
    cause = exc.__cause__
    if filter is None or not isinstance(cause, APIResponseError) or cause.status != 400:
        return None
    return ConfigError(
        [
            ConfigProblem(
                "filter",
                f"Notion rejected the mapping's filter ({cause}). Fix the filter: `notion-sync schema` lists "
                "the properties and their types",
            )
        ]
    )


def check_property_uses(mapping: str, uses: list[PropertyUse], schema: dict[str, str]) -> list[ConfigProblem]:
    """Problems with the properties a mapping names, given the data source's ``name -> type``."""
    problems = []
    names = ", ".join(sorted(schema))
    for use in uses:
        kind = schema.get(use.property)
        where = f"mapping {mapping!r}, {use.path}"
        if kind is None:
            shown = f"{{{use.property}}}" if use.template else repr(use.property)
            problems.append(
                ConfigProblem(where, f"the data source has no property {shown}; its properties are: {names}")
            )
        elif use.types and kind not in use.types:
            problems.append(
                ConfigProblem(
                    where, f"{use.property!r} is a {kind} property; this key needs one of: {', '.join(use.types)}"
                )
            )
    return problems


PACING_MARGIN = 1.1
"""Requests go out at most at requests_per_second / PACING_MARGIN."""


class NotionSource:
    """A paced, retrying reader of one Notion integration's databases."""

    def __init__(
        self,
        token: Secret,
        *,
        base_url: str = "https://api.notion.com",
        timeout: float = 60.0,
        requests_per_second: float = 3.0,
        retry: RetryPolicy | None = None,
        pacers: Pacers | None = None,
    ) -> None:
        self.retry = retry or RetryPolicy.from_env()
        quiet = logging.getLogger("notion_sync.notion_client")
        quiet.setLevel(logging.CRITICAL)
        self.client = Client(
            auth=token.reveal(),
            base_url=base_url.rstrip("/"),
            timeout_ms=int(timeout * 1000),
            notion_version=NOTION_VERSION,
            retry=False,
            logger=quiet,
            log_level=logging.CRITICAL,
        )
        limit = max(1, round(requests_per_second * 2))
        # 10% below the rate: our clock and Notion's see each request at slightly different
        # moments, so pacing at exactly the rate is over it now and then (Trello's default keeps
        # the same margin).
        # One budget per integration token (the fleet's, with [celery]), keyed on its hash.
        self._pacer: Pace = (pacers or Pacers()).pacer(
            "notion-token", limit, PACING_MARGIN * limit / requests_per_second
        )
        self._pace_key = pace_key(token)
        self.bot_name = "your integration"
        self._bot_known = False
        self._local = threading.local()
        self._total = RequestCount()

    def close(self) -> None:
        self.client.close()

    @property
    def requests(self) -> int:
        """Requests sent by this reader, all threads together."""
        return self._total.n

    def count_into(self, count: RequestCount) -> None:
        """Count this thread's requests into ``count`` too (one per mapping, threads included)."""
        self._local.count = count

    def _count(self) -> None:
        with self._total.lock:
            self._total.n += 1
        count = getattr(self._local, "count", None)
        if count is not None:
            with count.lock:
                count.n += 1

    def _call(self, what: str, fn: Any, *, writing: bool = False, **kwargs: Any) -> Any:
        def once() -> Any:
            self._pacer.wait(self._pace_key)
            self._count()
            try:
                return fn(**kwargs)
            except (APIResponseError, HTTPResponseError) as exc:
                wait = _retry_after(exc.headers) if exc.status == 429 else None
                if wait is not None:
                    # The token's budget is spent for every thread and, under [celery], every
                    # worker: hold them all, not only this request's retry.
                    self._pacer.hold(self._pace_key, self.retry.retry_after_wait(wait))
                raise

        try:
            return call_with_retry(
                once,
                classify=lambda e: classify_notion_error(e, bot_name=self.bot_name, what=what, writing=writing),
                what=f"Notion: {what}",
                policy=self.retry,
            )
        except RetryableError as exc:
            raise FatalError(f"Notion kept failing on {what}: {exc}") from None
        except AccessError as exc:
            # "Not shared with integration X" is only useful with X's real name: ask once, on failure only.
            if not self._bot_known and what != "the token check" and isinstance(exc.__cause__, APIResponseError):
                try:
                    self.me()
                except AccessError:
                    raise exc from None
                raise classify_notion_error(exc.__cause__, bot_name=self.bot_name, what=what, writing=writing) from None
            raise

    def me(self) -> dict[str, Any]:
        """The integration's bot user; remembers its name for messages."""
        user: dict[str, Any] = self._call("the token check", self.client.users.me)
        self.bot_name = user.get("name") or self.bot_name
        self._bot_known = True
        return user

    def resolve(self, database: str, data_source: str | None, *, mapping: str) -> DataSource:
        """The data source a mapping reads: the database's only one, or the one named."""
        database_id = parse_notion_id(database)
        if database_id is None:
            raise ConfigError(
                [ConfigProblem(f"mapping {mapping!r}, database", f"{database!r} is not a Notion URL or id")]
            )
        try:
            db = self._call(f"database {database_id}", self.client.databases.retrieve, database_id=database_id)
        except FatalError as exc:  # 404, or the 400 validation_error Notion may give for a page id
            page = self._page_instead(database_id)
            if page is None:
                raise
            raise ConfigError([ConfigProblem(f"mapping {mapping!r}, database", page)]) from exc
        sources = db.get("data_sources") or []
        names = ", ".join(f"{s.get('name')!r} ({s.get('id')})" for s in sources)
        if data_source:
            wanted = parse_notion_id(data_source) or data_source
            for s in sources:
                if s.get("id") == wanted or s.get("name") == data_source:
                    return DataSource(s["id"], s.get("name", ""), database_id)
            raise ConfigError(
                [
                    ConfigProblem(
                        f"mapping {mapping!r}, data_source",
                        f"the database has no data source {data_source!r}; it has: {names}",
                    )
                ]
            )
        if len(sources) == 1:
            return DataSource(sources[0]["id"], sources[0].get("name", ""), database_id)
        if not sources:
            raise FatalError(f"mapping {mapping!r}: the database {database_id} has no data source")
        raise ConfigError(
            [
                ConfigProblem(
                    f"mapping {mapping!r}",
                    f"the database has {len(sources)} data sources; "
                    f'name one with data_source = "<name or id>": {names}',
                )
            ]
        )

    def _page_instead(self, object_id: str) -> str | None:
        """When ``object_id`` is not a database the token can see: if it is a page, the message
        that says so and names the database the page is a row of, if any."""
        try:
            page = self._call(f"page {object_id}", self.client.pages.retrieve, page_id=object_id)
        except NotionSyncError:
            return None
        parent = page.get("parent") or {}
        database_id = parent.get("database_id")
        if parent.get("type") in ("database_id", "data_source_id") and database_id:
            try:
                db = self._call(f"database {database_id}", self.client.databases.retrieve, database_id=database_id)
                title = "".join(t.get("plain_text", "") for t in db.get("title") or []) or "untitled"
                named = f'the database "{title}" ({database_id})'
            except NotionSyncError:
                named = f"the database {database_id}"
            return (
                f"{object_id} is a page, not a database: a row of {named}; set database to that "
                "database's link (open the database → ••• → Copy link)"
            )
        return (
            f"{object_id} is a page, not a database; open the database itself (for one inside "
            "this page: ••• → Open as full page) and copy its link (••• → Copy link)"
        )

    def check_filter(self, data_source_id: str, filter: dict[str, Any]) -> None:
        """Query one row with a mapping's filter (for ``check``): ``ConfigError`` if Notion rejects it."""
        try:
            self._call(
                f"data source {data_source_id}",
                self.client.data_sources.query,
                data_source_id=data_source_id,
                filter=filter,
                page_size=1,
            )
        except FatalError as exc:
            problem = _filter_problem(exc, filter)
            if problem is None:
                raise
            raise problem from exc

    def schema(self, data_source_id: str) -> dict[str, Any]:
        """The data source's properties, ``name -> property schema object``."""
        ds = self._call(
            f"data source {data_source_id}", self.client.data_sources.retrieve, data_source_id=data_source_id
        )
        return dict(ds.get("properties") or {})

    @staticmethod
    def _with(filter_: dict[str, Any] | None, extra: list[dict[str, Any]]) -> dict[str, Any] | None:
        if not extra:
            return filter_
        if filter_ is None:
            return extra[0] if len(extra) == 1 else {"and": extra}
        if list(filter_) == ["and"]:
            # Appending keeps the user's nesting depth: Notion allows only two levels.
            return {"and": [*filter_["and"], *extra]}
        return {"and": [filter_, *extra]}

    def pages(
        self, data_source_id: str, *, filter: dict[str, Any] | None = None, since: datetime | None = None
    ) -> Iterator[list[dict[str, Any]]]:
        """Stream the rows, one API page (up to 100) at a time. ``since`` makes it incremental."""
        extra: list[dict[str, Any]] = []
        if since is not None:
            start = (since - timedelta(minutes=1)).strftime("%Y-%m-%dT%H:%M:00.000Z")
            extra.append({"timestamp": "last_edited_time", "last_edited_time": {"on_or_after": start}})
        window_start: str | None = None
        boundary: set[str] = set()
        while True:
            window = list(extra)
            if window_start is not None:
                window.append({"timestamp": "created_time", "created_time": {"on_or_after": window_start}})
            body: dict[str, Any] = {
                "page_size": PAGE_SIZE,
                "sorts": [{"timestamp": "created_time", "direction": "ascending"}],
            }
            combined = self._with(filter, window)
            if combined is not None:
                body["filter"] = combined
            cursor: str | None = None
            progressed = False
            capped = False
            while True:
                if cursor:
                    body["start_cursor"] = cursor
                else:
                    body.pop("start_cursor", None)
                try:
                    resp = self._call(
                        f"data source {data_source_id}",
                        self.client.data_sources.query,
                        data_source_id=data_source_id,
                        **body,
                    )
                except FatalError as exc:
                    problem = _filter_problem(exc, filter)
                    if problem is None:
                        raise
                    raise problem from exc
                results = [p for p in resp.get("results", []) if p.get("object", "page") == "page"]
                fresh = [p for p in results if p["id"] not in boundary]
                if fresh:
                    progressed = True
                    last_created = fresh[-1]["created_time"]
                    if last_created != window_start:
                        boundary = {p["id"] for p in fresh if p["created_time"] == last_created}
                        window_start = last_created
                    else:
                        boundary |= {p["id"] for p in fresh}
                    yield fresh
                status = resp.get("request_status") or {}
                if status.get("incomplete_reason") == "query_result_limit_reached":
                    capped = True
                    break
                if not resp.get("has_more"):
                    return
                cursor = resp.get("next_cursor")
            if capped and not progressed:
                raise FatalError(
                    f"data source {data_source_id}: more than 10,000 rows share one created_time minute; "
                    "narrow the mapping's filter so no rows are silently missed"
                )
            log.info(
                "data source %s: 10,000-row query limit reached; continuing from created_time %s",
                data_source_id,
                window_start,
            )

    def page(self, page_id: str) -> dict[str, Any] | None:
        """One page (a row, trashed or not) by id; None when Notion answers 404 (deleted for good,
        or not shared)."""

        def get() -> dict[str, Any] | None:
            try:
                page: dict[str, Any] = self.client.pages.retrieve(page_id=page_id)  # type: ignore[assignment]
            except APIResponseError as exc:
                if exc.status == 404:
                    return None
                raise
            return page

        found: dict[str, Any] | None = self._call(f"page {page_id}", get)
        return found

    def complete_property(self, page_id: str, prop: dict[str, Any]) -> dict[str, Any]:
        """Fetch the whole value of a people/relation property that the page showed only in part."""
        kind = prop.get("type", "")
        items: list[Any] = []
        cursor: str | None = None
        while True:
            kwargs: dict[str, Any] = {"page_id": page_id, "property_id": prop["id"], "page_size": 100}
            if cursor:
                kwargs["start_cursor"] = cursor
            resp = self._call(f"page {page_id} property", self.client.pages.properties.retrieve, **kwargs)
            items.extend(r.get(kind) for r in resp.get("results", []))
            if not resp.get("has_more"):
                break
            cursor = resp.get("next_cursor")
        return {**prop, kind: items, "has_more": False}

    def block_children(self, block_id: str) -> list[dict[str, Any]]:
        """Every child block of a page or block, one level, following pagination
        (https://developers.notion.com/reference/get-block-children)."""
        results: list[dict[str, Any]] = []
        cursor: str | None = None
        while True:
            kwargs: dict[str, Any] = {"block_id": block_id, "page_size": 100}
            if cursor:
                kwargs["start_cursor"] = cursor
            resp = self._call(f"the body of {block_id}", self.client.blocks.children.list, **kwargs)
            results.extend(resp.get("results", []))
            if not resp.get("has_more"):
                return results
            cursor = resp.get("next_cursor")

    def update_page(self, page_id: str, properties: dict[str, Any]) -> dict[str, Any]:
        """``PATCH /v1/pages/{id}`` with these properties only; returns the page as updated.

        Paced and retried like every call (setting properties again is harmless). Needs the
        integration's *Update content* capability: a 403 says so (``AccessError``)."""
        page: dict[str, Any] = self._call(
            f"row {page_id}", self.client.pages.update, writing=True, page_id=page_id, properties=properties
        )
        return page

    def search_all(self, object_type: str | None = None) -> list[dict[str, Any]]:
        """Everything the token can reach (``data_source`` or ``page``), following pagination."""
        results: list[dict[str, Any]] = []
        cursor: str | None = None
        while True:
            body: dict[str, Any] = {"page_size": 100}
            if object_type:
                body["filter"] = {"property": "object", "value": object_type}
            if cursor:
                body["start_cursor"] = cursor
            resp = self._call("search", self.client.search, **body)
            results.extend(resp.get("results", []))
            if not resp.get("has_more"):
                return results
            cursor = resp.get("next_cursor")


def needs_completion(prop: dict[str, Any]) -> bool:
    """True when a people/relation value was cut at Notion's inline limit of 25."""
    kind = prop.get("type")
    if kind not in ("people", "relation"):
        return False
    return bool(prop.get("has_more")) or len(prop.get(kind) or []) >= INLINE_LIMIT
