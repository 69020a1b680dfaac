"""A local emulator of the Notion API (Notion-Version 2025-09-03) for tests, the demo and benchmarks.

Point the real client at it::

    with NotionEmulator() as emu:
        db = emu.create_database("Tasks", {"Name": {"type": "title"}, "Due": {"type": "date"}})
        emu.add_page(db.data_sources[0].id, {"Name": "Write docs", "Due": "2026-03-01"})
        notion = notion_client.Client(auth=emu.token, base_url=emu.url)
        notion.data_sources.query(db.data_sources[0].id)

What it serves (read side of the API, with Notion's exact envelopes and errors):
``GET /v1/users/me``, ``GET /v1/databases/{id}``, ``GET /v1/data_sources/{id}``,
``POST /v1/data_sources/{id}/query``, ``GET /v1/pages/{id}``,
``GET /v1/pages/{id}/properties/{property_id}``, ``POST /v1/search``, and
``PATCH /v1/pages/{id}`` for ``in_trash``/``archived`` (trash and restore).

Notion's quirks that the emulator reproduces on purpose:

* page ``created_time``/``last_edited_time`` are rounded down to the minute, and
  timestamp filters compare the rounded values;
* one query (following its cursors) returns at most ``query_cap`` (10,000) results, then
  ``has_more`` is false and ``request_status`` says ``query_result_limit_reached``;
* trashed pages never appear in query or search results but stay retrievable by id;
* an object not shared with the token is a 404 naming the integration;
* relations show 25 references inline with ``has_more``; the rest come from the
  property item endpoint, which paginates title, rich_text, people and relation.

The default order of a query without ``sorts`` is not documented by Notion; the emulator
returns ``created_time`` descending (newest first), ties broken by creation order, and
clients must not rely on any order they did not ask for.

Cursors are opaque uuid-shaped strings held by the emulator: a query's matching page ids
are fixed by its first request, so a paginated read sees a stable list (pages trashed or
deleted in between are skipped).
"""

from __future__ import annotations

import json
import math
import random
import re
import threading
import uuid
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from typing import Any
from urllib.parse import unquote

from starlette.requests import Request
from starlette.responses import Response

from core.emulator.notion_filters import (
    QueryValidationError,
    compile_filter,
    compile_sorts,
    find_property,
    sort_pages,
)
from core.emulator.notion_values import (
    INLINE_REFERENCE_LIMIT,
    PAGINATED_PROPERTY_TYPES,
    dashed_id,
    floor_minute,
    format_database_time,
    format_page_time,
    make_property_id,
    new_uuid,
    normalize_id,
    normalize_rich_text,
    parse_date_value,
    plain_text,
    rich_text,
    same_property_id,
    schema_property,
    slug_url,
)
from core.emulator.server import EmulatorServer

__all__ = ["DataSource", "Database", "NotionEmulator", "DEFAULT_TOKEN", "SUPPORTED_VERSIONS"]

DEFAULT_TOKEN = "ntn_emulator_token_0000000000000000000000000000"
SUPPORTED_VERSIONS = frozenset({"2025-09-03", "2026-03-11"})
"""Versions the emulator answers in; 2026-03-11 drops ``archived`` and rejects ``in_trash`` in a query."""

DEFAULT_CAPABILITIES = frozenset({"read_content", "update_content", "insert_content"})
MAX_PAGE_SIZE = 100

_ERROR_MESSAGES = {
    429: ("rate_limited", "You have been rate limited. Please try again in a few minutes."),
    500: ("internal_server_error", "Unexpected error occurred."),
    502: ("bad_gateway", "Notion encountered an issue while attempting to complete this request. "
                         "Please try again."),
    503: ("service_unavailable", "Notion is unavailable. This can occur when the time to respond to a "
                                 "request takes longer than 60 seconds, the maximum request timeout. "
                                 "Please try again later."),
    504: ("gateway_timeout", "Notion timed out while attempting to complete this request. "
                             "Please try again later."),
    529: ("service_overload", "Notion is experiencing high demand. Please try again later."),
}


# ---------------------------------------------------------------- public records

@dataclass(frozen=True)
class DataSource:
    """A data source of a database: the thing that holds rows and a schema."""

    id: str
    name: str


@dataclass(frozen=True)
class Database:
    """A database as created by :meth:`NotionEmulator.create_database`."""

    id: str
    url: str
    data_sources: list[DataSource]


class NotionAPIError(Exception):
    """Raised inside a handler to answer with Notion's error body."""

    def __init__(self, status: int, code: str, message: str, additional_data: dict[str, Any] | None = None,
                 headers: dict[str, str] | None = None) -> None:
        super().__init__(message)
        self.status, self.code, self.message = status, code, message
        self.additional_data = additional_data
        self.headers = headers or {}


# ---------------------------------------------------------------- internal state

@dataclass
class _Token:
    token: str
    bot_id: str
    bot_name: str
    workspace_name: str
    workspace_id: str
    capabilities: frozenset[str]
    revoked: bool = False


@dataclass
class _DatabaseState:
    id: str
    title: str
    parent_page_id: str
    created: datetime
    edited: datetime
    shared_with: set[str]
    data_source_ids: list[str] = field(default_factory=list)
    in_trash: bool = False


@dataclass
class _DataSourceState:
    id: str
    name: str
    database_id: str
    properties: dict[str, dict[str, Any]]
    created: datetime
    edited: datetime
    next_unique: int = 1
    in_trash: bool = False


@dataclass
class _Page:
    """One row. ``values`` maps property id -> content under the type key (full, untruncated)."""

    emulator: NotionEmulator
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

    # PageView protocol used by filters and sorts
    def value(self, prop: Mapping[str, Any]) -> Any:
        return self.emulator._content(self, prop)

    def timestamp(self, which: str) -> datetime:
        return floor_minute(self.created if which == "created_time" else self.edited)

    def exact_timestamp(self, which: str) -> datetime:
        return self.created if which == "created_time" else self.edited


@dataclass
class _Cursor:
    ids: list[str]
    position: int
    served: int


# ---------------------------------------------------------------- the emulator

class NotionEmulator:
    """The Notion API on 127.0.0.1:<random port>, with a Python API to set up its content.

    All setup methods are thread-safe and may be called while a client is reading.
    """

    query_cap: int = 10_000
    """At most this many results per query (following its cursors), like Notion's 10,000."""

    def __init__(self, *, token: str = DEFAULT_TOKEN, bot_name: str = "notion-sync demo",
                 workspace_name: str = "Demo workspace", seed: int = 0) -> None:
        self._lock = threading.RLock()
        self._identity = (token, bot_name, workspace_name, seed)
        self._init_state()
        from starlette.applications import Starlette
        from starlette.routing import Route

        app = Starlette(routes=[Route("/{path:path}", self._asgi_entry,
                                      methods=["GET", "POST", "PATCH", "DELETE", "PUT"])])
        self.server = EmulatorServer(app, fault_response=self._fault_response)

    def _init_state(self) -> None:
        token, bot_name, workspace_name, seed = self._identity
        with self._lock:
            self._rng = random.Random(seed)
            self._clock: datetime | None = None
            self._tokens: dict[str, _Token] = {}
            self._users: dict[str, dict[str, Any]] = {}
            self._users_by_email: dict[str, str] = {}
            self._databases: dict[str, _DatabaseState] = {}
            self._data_sources: dict[str, _DataSourceState] = {}
            self._pages: dict[str, _Page] = {}
            self._cursors: dict[str, _Cursor] = {}
            self._seq = 0
            self.query_cap = type(self).query_cap
            self.token = token
            """The default token: databases are shared with it unless told otherwise."""
            self.bot_id = self.add_token(token, bot_name=bot_name, workspace_name=workspace_name)
            """The bot user of the default token."""
            self.owner_id = self._person("Demo Owner", "owner@example.com")
            """The workspace member who 'created' pages added through the Python API."""

    def reset(self) -> None:
        """Forget all content, tokens, cursors and faults and go back to the state of a new emulator
        (same seed, same ids), keeping the server running: cheaper than a restart between tests."""
        with self._lock:
            self._init_state()
            if hasattr(self, "server"):
                self.server.faults.clear()
                self.server.faults.retry_after = 1.0
                self.server.faults.injected.clear()
                self.server.requests.clear()

    # ------------------------------------------------------------ lifecycle

    @property
    def url(self) -> str:
        """Base url for ``notion_client.Client(base_url=...)`` (the client appends ``/v1/``)."""
        return self.server.url

    def start(self) -> NotionEmulator:
        """Start serving; returns self."""
        self.server.start()
        return self

    def stop(self) -> None:
        """Stop serving."""
        self.server.stop()

    def __enter__(self) -> NotionEmulator:
        return self.start()

    def __exit__(self, *exc: Any) -> None:
        self.stop()

    # ------------------------------------------------------------ clock

    def now(self) -> datetime:
        """The emulator's current time (aware UTC): real time unless frozen by :meth:`set_clock`."""
        with self._lock:
            return self._clock if self._clock is not None else datetime.now(UTC)

    def set_clock(self, when: datetime | None) -> None:
        """Freeze the clock at ``when`` (naive means UTC), or go back to real time with None."""
        with self._lock:
            if when is not None and when.tzinfo is None:
                when = when.replace(tzinfo=UTC)
            self._clock = when.astimezone(UTC) if when is not None else None

    def advance(self, **timedelta_kwargs: float) -> None:
        """Move a frozen clock forward (``advance(minutes=2)``); freezes a running clock first."""
        with self._lock:
            self._clock = self.now() + timedelta(**timedelta_kwargs)

    # ------------------------------------------------------------ tokens and users

    def add_token(self, token: str, *, bot_name: str = "notion-sync demo", workspace_name: str = "Demo workspace",
                  capabilities: Iterable[str] = DEFAULT_CAPABILITIES, regenerated_from: str | None = None) -> str:
        """Register an integration token; returns its bot user id.

        ``regenerated_from``: an existing token of the same integration, as when its secret is
        regenerated on the integration's page: same bot, same workspace, same shares."""
        with self._lock:
            if regenerated_from is not None:
                old = self._tokens[regenerated_from]
                self._tokens[token] = _Token(token, old.bot_id, old.bot_name, old.workspace_name, old.workspace_id,
                                             frozenset(capabilities))
                for database in self._databases.values():
                    if regenerated_from in database.shared_with:
                        database.shared_with.add(token)
                return old.bot_id
            bot_id = new_uuid(self._rng)
            workspace_id = self._workspace_id(workspace_name)
            self._tokens[token] = _Token(token, bot_id, bot_name, workspace_name, workspace_id,
                                         frozenset(capabilities))
            self._users[bot_id] = {"object": "user", "id": bot_id, "name": bot_name, "avatar_url": None,
                                   "type": "bot", "bot": {}}
            return bot_id

    def _workspace_id(self, workspace_name: str) -> str:
        for known in self._tokens.values():
            if known.workspace_name == workspace_name:
                return known.workspace_id
        return new_uuid(self._rng)

    def revoke_token(self, token: str) -> None:
        """Revoke a token: every request with it answers 401 afterwards."""
        with self._lock:
            self._tokens[token].revoked = True

    def add_user(self, name: str, email: str | None = None) -> str:
        """Register a workspace member (a person); returns the user id. Same email, same user."""
        with self._lock:
            return self._person(name, email)

    def _person(self, name: str | None, email: str | None) -> str:
        if email and email.lower() in self._users_by_email:
            return self._users_by_email[email.lower()]
        user_id = new_uuid(self._rng)
        user: dict[str, Any] = {"object": "user", "id": user_id, "name": name or (email or "").split("@")[0],
                                "avatar_url": None, "type": "person", "person": {}}
        if email:
            user["person"] = {"email": email}
            self._users_by_email[email.lower()] = user_id
        self._users[user_id] = user
        return user_id

    # ------------------------------------------------------------ databases and schema

    def create_database(self, title: str, properties: dict[str, dict[str, Any]], *,
                        data_sources: list[str] | None = None, database_id: str | None = None,
                        shared_with: list[str] | None = None) -> Database:
        """Create a database with one data source per name in ``data_sources`` (default: one named
        like the title), all with the schema ``properties`` (name -> spec, see module docs)."""
        with self._lock:
            db_id = dashed_id(database_id) if database_id else new_uuid(self._rng)
            if db_id in self._databases:
                raise ValueError(f"database {db_id} exists")
            now = self.now()
            tokens = set(shared_with) if shared_with is not None else {self.token}
            for token in tokens:
                if token not in self._tokens:
                    raise ValueError(f"unknown token for shared_with (add_token first): {token[:8]}...")
            state = _DatabaseState(db_id, title, new_uuid(self._rng), now, now, tokens)
            self._databases[db_id] = state
            for name in data_sources or [title]:
                self._new_data_source(state, name, properties)
            return self._database_record(state)

    def _database_record(self, state: _DatabaseState) -> Database:
        return Database(state.id, slug_url("", state.id),
                        [DataSource(ds_id, self._data_sources[ds_id].name) for ds_id in state.data_source_ids])

    def database(self, database_id: str) -> Database:
        """The :class:`Database` record of an existing database (current data sources)."""
        with self._lock:
            return self._database_record(self._databases[dashed_id(database_id)])

    def _new_data_source(self, db: _DatabaseState, name: str, properties: Mapping[str, Mapping[str, Any]]) -> str:
        ds_id = new_uuid(self._rng)
        taken: set[str] = set()
        schema: dict[str, dict[str, Any]] = {}
        titles = [n for n, spec in properties.items() if spec["type"] == "title"]
        if len(titles) != 1:
            raise ValueError(f"a data source needs exactly one title property, got {titles or 'none'}")
        for prop_name, spec in properties.items():
            prop_id = "title" if spec["type"] == "title" else (spec.get("id") or make_property_id(self._rng, taken))
            taken.add(prop_id)
            schema[prop_name] = schema_property(prop_name, spec, prop_id, lambda: new_uuid(self._rng))
        now = self.now()
        self._data_sources[ds_id] = _DataSourceState(ds_id, name, db.id, schema, now, now)
        db.data_source_ids.append(ds_id)
        return ds_id

    def add_data_source(self, database_id: str, name: str, properties: dict[str, dict[str, Any]] | None = None) -> str:
        """Add a data source to a database (default schema: the first data source's); returns its id."""
        with self._lock:
            db = self._databases[dashed_id(database_id)]
            if properties is None:
                first = self._data_sources[db.data_source_ids[0]]
                properties = {n: self._spec_of(p) for n, p in first.properties.items()}
            return self._new_data_source(db, name, properties)

    @staticmethod
    def _spec_of(prop: Mapping[str, Any]) -> dict[str, Any]:
        kind = prop["type"]
        config = dict(prop[kind])
        spec: dict[str, Any] = {"type": kind, kind: config}
        if kind == "status":
            group_of = {oid: g["name"] for g in config["groups"] for oid in g["option_ids"]}
            spec["options"] = [dict(o, group=group_of.get(o["id"], "To-do")) for o in config["options"]]
            spec["options"] = [{k: v for k, v in o.items() if k != "id"} for o in spec["options"]]
            config.pop("options", None)
            config.pop("groups", None)
        elif "options" in config:
            spec["options"] = [{k: v for k, v in o.items() if k != "id"} for o in config.pop("options")]
        return spec

    def share(self, database_id: str, token: str | None = None, shared: bool = True) -> None:
        """Share (or unshare) a database and its rows with ``token`` (default: the default token)."""
        with self._lock:
            db = self._databases[dashed_id(database_id)]
            token = token or self.token
            if shared:
                db.shared_with.add(token)
            else:
                db.shared_with.discard(token)

    def rename_property(self, data_source_id: str, old: str, new: str) -> None:
        """Rename a schema property; its id and the pages' values stay."""
        with self._lock:
            ds = self._data_sources[dashed_id(data_source_id)]
            if new in ds.properties:
                raise ValueError(f"property {new!r} exists")
            ds.properties = {(new if n == old else n): p for n, p in ds.properties.items()}
            ds.properties[new]["name"] = new
            ds.edited = self.now()

    def remove_property(self, data_source_id: str, name: str) -> None:
        """Remove a schema property (and its values) from a data source."""
        with self._lock:
            ds = self._data_sources[dashed_id(data_source_id)]
            prop = ds.properties.pop(name)
            if prop["type"] == "title":
                ds.properties[name] = prop
                raise ValueError("the title property cannot be removed")
            for page in self._pages.values():
                if page.data_source_id == ds.id:
                    page.values.pop(prop["id"], None)
            ds.edited = self.now()

    def add_property(self, data_source_id: str, name: str, spec: dict[str, Any]) -> str:
        """Add a schema property to a data source; returns its property id."""
        with self._lock:
            ds = self._data_sources[dashed_id(data_source_id)]
            if name in ds.properties:
                raise ValueError(f"property {name!r} exists")
            if spec["type"] == "title":
                raise ValueError("a data source has exactly one title property")
            taken = {p["id"] for p in ds.properties.values()}
            prop_id = spec.get("id") or make_property_id(self._rng, taken)
            ds.properties[name] = schema_property(name, spec, prop_id, lambda: new_uuid(self._rng))
            ds.edited = self.now()
            return prop_id

    def schema(self, data_source_id: str) -> dict[str, dict[str, Any]]:
        """The data source's schema properties (name -> JSON, a copy)."""
        with self._lock:
            return json.loads(json.dumps(self._data_sources[dashed_id(data_source_id)].properties))

    # ------------------------------------------------------------ pages

    def add_page(self, data_source_id: str, values: dict[str, Any], *, page_id: str | None = None) -> str:
        """Add a row from simple Python values (see module docs); returns its dashed id."""
        with self._lock:
            ds = self._data_sources[dashed_id(data_source_id)]
            pid = dashed_id(page_id) if page_id else new_uuid(self._rng)
            if pid in self._pages:
                raise ValueError(f"page {pid} exists")
            now = self.now()
            self._seq += 1
            page = _Page(self, pid, ds.id, self._seq, now, now, self.owner_id, self.owner_id,
                         unique_number=ds.next_unique)
            ds.next_unique += 1
            self._apply_values(ds, page, values)
            self._pages[pid] = page
            return pid

    def update_page(self, page_id: str, values: dict[str, Any]) -> None:
        """Change some values of a row; ``last_edited_time`` becomes now (rounded down on output)."""
        with self._lock:
            page = self._page(page_id)
            page.edited = self.now()
            page.edited_by = self.owner_id
            self._apply_values(self._data_sources[page.data_source_id], page, values)

    def trash_page(self, page_id: str) -> None:
        """Move a row to the trash: gone from queries and search, still retrievable by id."""
        self._set_trash(page_id, True)

    def restore_page(self, page_id: str) -> None:
        """Restore a row from the trash."""
        self._set_trash(page_id, False)

    def _set_trash(self, page_id: str, in_trash: bool) -> None:
        with self._lock:
            page = self._page(page_id)
            page.in_trash = in_trash
            page.edited = self.now()

    def delete_page(self, page_id: str) -> None:
        """Delete a row for good: 404 afterwards."""
        with self._lock:
            del self._pages[dashed_id(page_id)]

    def page_json(self, page_id: str) -> dict[str, Any]:
        """The page object as ``GET /v1/pages/{id}`` returns it (without ``request_id``)."""
        with self._lock:
            return self._page_json(self._page(page_id))

    def page_ids(self, data_source_id: str, *, include_trashed: bool = False) -> list[str]:
        """Ids of a data source's rows in creation order."""
        with self._lock:
            ds_id = dashed_id(data_source_id)
            pages = sorted((p for p in self._pages.values() if p.data_source_id == ds_id), key=lambda p: p.seq)
            return [p.id for p in pages if include_trashed or not p.in_trash]

    def _page(self, page_id: str) -> _Page:
        return self._pages[dashed_id(page_id)]

    # ------------------------------------------------------------ values

    def _apply_values(self, ds: _DataSourceState, page: _Page, values: Mapping[str, Any]) -> None:
        for name, value in values.items():
            prop = find_property(ds.properties, name)
            if prop is None:
                raise KeyError(f"no property {name!r} in data source {ds.name!r} "
                               f"(has {', '.join(ds.properties)})")
            kind = prop["type"]
            if isinstance(value, Mapping) and value.get("type") == kind and kind in value:
                content: Any = value[kind]
                if kind == "relation":
                    content = [{"id": dashed_id(r["id"])} for r in content]
                page.values[prop["id"]] = content
                continue
            if kind in ("created_time", "last_edited_time"):
                moment = value if isinstance(value, datetime) else datetime.fromisoformat(
                    str(value).replace("Z", "+00:00"))
                moment = moment if moment.tzinfo else moment.replace(tzinfo=UTC)
                if kind == "created_time":
                    page.created = moment.astimezone(UTC)
                else:
                    page.edited = moment.astimezone(UTC)
                continue
            if kind in ("created_by", "last_edited_by"):
                user_id = self._user_ref(value)
                if kind == "created_by":
                    page.created_by = user_id
                else:
                    page.edited_by = user_id
                continue
            if kind == "unique_id":
                page.unique_number = int(value["number"] if isinstance(value, Mapping) else value)
                continue
            page.values[prop["id"]] = self._convert(prop, value)

    def _convert(self, prop: dict[str, Any], value: Any) -> Any:
        kind = prop["type"]
        name = prop["name"]
        if kind in ("title", "rich_text"):
            return normalize_rich_text(value)
        if kind == "number":
            if value is not None and (isinstance(value, bool) or not isinstance(value, (int, float))):
                raise ValueError(f"{name}: a number property takes an int, a float or None, not {value!r}")
            return value
        if kind in ("select", "status"):
            return None if value is None else self._option(prop, value)
        if kind == "multi_select":
            return [self._option(prop, v) for v in value or []]
        if kind == "date":
            return parse_date_value(value)
        if kind == "people":
            return [self._users[self._user_ref(v)] for v in value or []]
        if kind == "checkbox":
            return bool(value)
        if kind in ("url", "email", "phone_number"):
            return None if value is None else str(value)
        if kind == "relation":
            return [{"id": dashed_id(v["id"] if isinstance(v, Mapping) else str(v))} for v in value or []]
        if kind == "files":
            return [self._file(v) for v in value or []]
        if kind == "formula":
            return self._formula(value)
        if kind == "rollup":
            function = prop["rollup"].get("function", "count")
            if isinstance(value, Mapping):
                return {"function": function, **value}
            if isinstance(value, list):
                return {"type": "array", "array": value, "function": function}
            if isinstance(value, (date, datetime)) or (isinstance(value, str) and re.match(r"\d{4}-\d{2}-\d{2}", value)):
                return {"type": "date", "date": parse_date_value(value), "function": function}
            return {"type": "number", "number": value, "function": function}
        if kind == "verification":
            if isinstance(value, Mapping):
                return {"state": "unverified", "date": None, "verified_by": None, **value}
            return {"state": value or "unverified", "date": None, "verified_by": None}
        if kind == "button":
            return {}
        return value

    def _option(self, prop: dict[str, Any], value: Any) -> dict[str, Any]:
        kind = prop["type"]
        wanted = value["name"] if isinstance(value, Mapping) else str(value)
        options = prop[kind]["options"]
        for option in options:
            if option["name"] == wanted:
                return {"id": option["id"], "name": option["name"], "color": option["color"]}
        if kind == "status":
            raise ValueError(f"{prop['name']}: no status option {wanted!r} "
                             f"(has {', '.join(o['name'] for o in options)}); Notion cannot add one through the API")
        # Like Notion, writing an unknown select/multi_select name adds the option.
        option = {"id": new_uuid(self._rng), "name": wanted, "color": "default", "description": None}
        options.append(option)
        return {"id": option["id"], "name": wanted, "color": "default"}

    def _user_ref(self, value: Any) -> str:
        if isinstance(value, Mapping):
            if "id" in value and value["id"] in self._users:
                return value["id"]
            return self._person(value.get("name"), value.get("email"))
        text = str(value)
        if text in self._users:
            return text
        if normalize_id(text) in self._users:
            return normalize_id(text)  # type: ignore[return-value]
        return self._person(None, text) if "@" in text else self._person(text, None)

    def _file(self, value: Any) -> dict[str, Any]:
        if isinstance(value, str):
            return {"name": value.rstrip("/").rsplit("/", 1)[-1] or value, "type": "external",
                    "external": {"url": value}}
        value = dict(value)
        if "type" in value and value["type"] in value:
            return value
        url = value["url"]
        name = value.get("name") or url.rstrip("/").rsplit("/", 1)[-1]
        if value.get("type") == "file":
            expiry = format_page_time(self.now() + timedelta(hours=1))
            return {"name": name, "type": "file", "file": {"url": url, "expiry_time": expiry}}
        return {"name": name, "type": "external", "external": {"url": url}}

    @staticmethod
    def _formula(value: Any) -> dict[str, Any]:
        if isinstance(value, Mapping):
            return dict(value)
        if value is None:
            return {"type": "string", "string": None}
        if isinstance(value, bool):
            return {"type": "boolean", "boolean": value}
        if isinstance(value, (int, float)):
            return {"type": "number", "number": value}
        if isinstance(value, (date, datetime, tuple)):
            return {"type": "date", "date": parse_date_value(value)}
        return {"type": "string", "string": str(value)}

    def _content(self, page: _Page, prop: Mapping[str, Any]) -> Any:
        """The full value under the type key of ``prop`` for ``page`` (computed types derived)."""
        kind = prop["type"]
        if kind == "created_time":
            return format_page_time(page.created)
        if kind == "last_edited_time":
            return format_page_time(page.edited)
        if kind == "created_by":
            return self._user_json(page.created_by)
        if kind == "last_edited_by":
            return self._user_json(page.edited_by)
        if kind == "unique_id":
            return {"prefix": prop["unique_id"].get("prefix"), "number": page.unique_number}
        if kind == "button":
            return {}
        if prop["id"] in page.values:
            return page.values[prop["id"]]
        if kind in ("title", "rich_text", "multi_select", "people", "relation", "files"):
            return []
        if kind == "checkbox":
            return False
        if kind == "formula":
            return {"type": "string", "string": None}
        if kind == "rollup":
            function = prop["rollup"].get("function", "count")
            if function == "show_original":
                return {"type": "array", "array": [], "function": function}
            return {"type": "number", "number": 0 if function.startswith("count") else None, "function": function}
        if kind == "verification":
            return {"state": "unverified", "date": None, "verified_by": None}
        return None

    def _user_json(self, user_id: str) -> dict[str, Any]:
        user = self._users.get(user_id)
        return dict(user) if user else {"object": "user", "id": user_id}

    # ------------------------------------------------------------ JSON rendering

    def _property_json(self, page: _Page, prop: Mapping[str, Any]) -> dict[str, Any]:
        kind = prop["type"]
        content = self._content(page, prop)
        result: dict[str, Any] = {"id": prop["id"], "type": kind}
        if kind in ("relation", "people"):
            result[kind] = content[:INLINE_REFERENCE_LIMIT]
            if kind == "relation":
                result["has_more"] = len(content) > INLINE_REFERENCE_LIMIT
        else:
            result[kind] = content
        return result

    def _page_json(self, page: _Page, version: str = "2025-09-03",
                   only: list[str] | None = None) -> dict[str, Any]:
        ds = self._data_sources[page.data_source_id]
        props = {name: self._property_json(page, prop) for name, prop in ds.properties.items()
                 if only is None or any(same_property_id(prop["id"], o) or o == name for o in only)}
        title_prop = next(p for p in ds.properties.values() if p["type"] == "title")
        title = plain_text(self._content(page, title_prop))
        body: dict[str, Any] = {
            "object": "page", "id": page.id,
            "created_time": format_page_time(page.created), "last_edited_time": format_page_time(page.edited),
            "created_by": {"object": "user", "id": page.created_by},
            "last_edited_by": {"object": "user", "id": page.edited_by},
            "cover": None, "icon": None,
            "parent": {"type": "data_source_id", "data_source_id": ds.id, "database_id": ds.database_id},
            "in_trash": page.in_trash, "is_archived": False, "is_locked": False,
            "properties": props, "url": slug_url(title, page.id), "public_url": None,
        }
        if version != "2026-03-11":
            body["archived"] = page.in_trash
        return body

    def _database_json(self, db: _DatabaseState, version: str) -> dict[str, Any]:
        body: dict[str, Any] = {
            "object": "database", "id": db.id, "title": rich_text(db.title), "description": [],
            "parent": {"type": "page_id", "page_id": db.parent_page_id}, "is_inline": False,
            "in_trash": db.in_trash, "is_locked": False,
            "created_time": format_database_time(db.created), "last_edited_time": format_database_time(db.edited),
            "data_sources": [{"id": ds_id, "name": self._data_sources[ds_id].name} for ds_id in db.data_source_ids],
            "icon": None, "cover": None, "url": slug_url("", db.id), "public_url": None,
        }
        if version != "2026-03-11":
            body["archived"] = db.in_trash
        return body

    def _data_source_json(self, ds: _DataSourceState, version: str) -> dict[str, Any]:
        db = self._databases[ds.database_id]
        body: dict[str, Any] = {
            "object": "data_source", "id": ds.id, "cover": None, "icon": None,
            "created_time": format_page_time(ds.created),
            "created_by": {"object": "user", "id": self.owner_id},
            "last_edited_by": {"object": "user", "id": self.owner_id},
            "last_edited_time": format_page_time(ds.edited),
            "title": rich_text(ds.name), "description": [], "is_inline": False,
            "properties": json.loads(json.dumps(ds.properties)),
            "parent": {"type": "database_id", "database_id": db.id},
            "database_parent": {"type": "page_id", "page_id": db.parent_page_id},
            "url": slug_url("", db.id), "public_url": None, "in_trash": ds.in_trash,
        }
        if version != "2026-03-11":
            body["archived"] = ds.in_trash
        return body

    # ------------------------------------------------------------ HTTP plumbing

    @staticmethod
    def _json(body: dict[str, Any], status: int = 200, headers: dict[str, str] | None = None) -> Response:
        return Response(json.dumps(body, ensure_ascii=False), status_code=status, headers=headers,
                        media_type="application/json; charset=utf-8")

    @classmethod
    def _error(cls, status: int, code: str, message: str, additional_data: dict[str, Any] | None = None,
               headers: dict[str, str] | None = None) -> Response:
        body: dict[str, Any] = {"object": "error", "status": status, "code": code, "message": message}
        if additional_data is not None:
            body["additional_data"] = additional_data
        body["request_id"] = str(uuid.uuid4())
        return cls._json(body, status, headers)

    def _fault_response(self, status: int, request: Request) -> Response:
        """Notion's own reply for an injected fault (429 carries Retry-After in whole seconds)."""
        code, message = _ERROR_MESSAGES.get(status, ("internal_server_error", "Unexpected error occurred."))
        headers = None
        if status == 429:
            headers = {"Retry-After": str(math.ceil(self.server.faults.retry_after))}
            return self._error(status, code, message, {"rate_limit_reason": "connection_limit"}, headers)
        return self._error(status, code, message, headers=headers)

    async def _asgi_entry(self, request: Request) -> Response:
        raw = await request.body()
        try:
            return self._handle(request, raw)
        except NotionAPIError as error:
            return self._error(error.status, error.code, error.message, error.additional_data, error.headers)

    def _handle(self, request: Request, raw: bytes) -> Response:
        version = request.headers.get("notion-version")
        if not version:
            raise NotionAPIError(400, "missing_version", "Notion-Version header failed validation: Notion-Version "
                                 "header should be defined, instead was `undefined`.")
        if version not in SUPPORTED_VERSIONS:
            raise NotionAPIError(400, "validation_error", f"Notion-Version header failed validation: this emulator "
                                 f"speaks {', '.join(sorted(SUPPORTED_VERSIONS))}, instead was `{version}`.")
        auth = request.headers.get("authorization", "")
        with self._lock:
            token = self._tokens.get(auth[len("Bearer "):]) if auth.startswith("Bearer ") else None
            if token is None or token.revoked:
                raise NotionAPIError(401, "unauthorized", "API token is invalid.")
            body: dict[str, Any] = {}
            if raw.strip():
                try:
                    body = json.loads(raw)
                except ValueError:
                    raise NotionAPIError(400, "invalid_json", "Error parsing JSON body.") from None
                if not isinstance(body, dict):
                    raise NotionAPIError(400, "validation_error", "body failed validation: body should be an object.")
            return self._route(request, token, version, body)

    def _route(self, request: Request, token: _Token, version: str, body: dict[str, Any]) -> Response:
        method, path = request.method, request.scope["path"]
        params = request.query_params
        routes: list[tuple[str, str, Any]] = [
            ("GET", r"/v1/users/me", lambda: self._get_me(token)),
            ("GET", r"/v1/databases/([^/]+)", lambda m: self._get_database(token, version, m[0])),
            ("GET", r"/v1/data_sources/([^/]+)", lambda m: self._get_data_source(token, version, m[0])),
            ("POST", r"/v1/data_sources/([^/]+)/query",
             lambda m: self._query(token, version, m[0], body, self._filter_properties(params))),
            ("GET", r"/v1/pages/([^/]+)",
             lambda m: self._get_page(token, version, m[0], self._filter_properties(params))),
            ("PATCH", r"/v1/pages/([^/]+)", lambda m: self._patch_page(token, version, m[0], body)),
            ("GET", r"/v1/pages/([^/]+)/properties/([^/]+)",
             lambda m: self._get_property(token, m[0], m[1], params)),
            ("POST", r"/v1/search", lambda: self._search(token, version, body)),
        ]
        for verb, pattern, handler in routes:
            match = re.fullmatch(pattern, path)
            if match and verb == method:
                result = handler(match.groups()) if match.groups() else handler()
                result["request_id"] = str(uuid.uuid4())
                return self._json(result)
        raise NotionAPIError(400, "invalid_request_url", "Invalid request URL.")

    @staticmethod
    def _filter_properties(params: Any) -> list[str] | None:
        values = params.getlist("filter_properties") + params.getlist("filter_properties[]")
        return values or None

    def _require(self, token: _Token, capability: str = "read_content") -> None:
        if capability not in token.capabilities:
            raise NotionAPIError(403, "restricted_resource", "Insufficient permissions for this endpoint.")

    def _not_found(self, token: _Token, kind: str, object_id: str) -> NotionAPIError:
        return NotionAPIError(404, "object_not_found",
                              f"Could not find {kind} with ID: {object_id}. Make sure the relevant pages and "
                              f"databases are shared with your integration \"{token.bot_name}\".",
                              {"integration_id": token.bot_id})

    @staticmethod
    def _path_id(raw: str, what: str) -> str:
        value = normalize_id(unquote(raw))
        if value is None:
            raise NotionAPIError(400, "validation_error", f"path failed validation: path.{what} should be a valid "
                                 f"uuid, instead was `\"{unquote(raw)}\"`.")
        return value

    def _visible(self, token: _Token, database_id: str) -> bool:
        return token.token in self._databases[database_id].shared_with

    # ------------------------------------------------------------ handlers

    def _get_me(self, token: _Token) -> dict[str, Any]:
        return {"object": "user", "id": token.bot_id, "name": token.bot_name, "avatar_url": None, "type": "bot",
                "bot": {"owner": {"type": "workspace", "workspace": True}, "workspace_name": token.workspace_name,
                        "workspace_id": token.workspace_id,
                        "workspace_limits": {"max_file_upload_size_in_bytes": 5242880}}}

    def _get_database(self, token: _Token, version: str, raw_id: str) -> dict[str, Any]:
        self._require(token)
        db_id = self._path_id(raw_id, "database_id")
        db = self._databases.get(db_id)
        if db is None or not self._visible(token, db_id):
            raise self._not_found(token, "database", db_id)
        return self._database_json(db, version)

    def _data_source_for(self, token: _Token, raw_id: str) -> _DataSourceState:
        self._require(token)
        ds_id = self._path_id(raw_id, "data_source_id")
        ds = self._data_sources.get(ds_id)
        if ds is None or not self._visible(token, ds.database_id):
            raise self._not_found(token, "data_source", ds_id)
        return ds

    def _get_data_source(self, token: _Token, version: str, raw_id: str) -> dict[str, Any]:
        return self._data_source_json(self._data_source_for(token, raw_id), version)

    def _page_for(self, token: _Token, raw_id: str) -> _Page:
        self._require(token)
        page_id = self._path_id(raw_id, "page_id")
        page = self._pages.get(page_id)
        if page is None or not self._visible(token, self._data_sources[page.data_source_id].database_id):
            raise self._not_found(token, "page", page_id)
        return page

    def _get_page(self, token: _Token, version: str, raw_id: str, only: list[str] | None) -> dict[str, Any]:
        return self._page_json(self._page_for(token, raw_id), version, only)

    def _patch_page(self, token: _Token, version: str, raw_id: str, body: dict[str, Any]) -> dict[str, Any]:
        page = self._page_for(token, raw_id)
        self._require(token, "update_content")
        unsupported = [k for k in body if k not in ("in_trash", "archived")]
        if unsupported:
            raise NotionAPIError(400, "invalid_request", f"Unsupported request: the emulator only updates "
                                 f"in_trash/archived, not {', '.join(unsupported)}.")
        if "archived" in body and version == "2026-03-11":
            raise NotionAPIError(400, "validation_error", "body failed validation: body.archived should be not "
                                 "present, instead was `" + json.dumps(body["archived"]) + "`.")
        for key in ("in_trash", "archived"):
            if key in body:
                if not isinstance(body[key], bool):
                    raise NotionAPIError(400, "validation_error", f"body failed validation: body.{key} should be a "
                                         f"boolean, instead was `{json.dumps(body[key])}`.")
                page.in_trash = body[key]
                page.edited = self.now()
                page.edited_by = token.bot_id
        return self._page_json(page, version)

    @staticmethod
    def _page_size(raw: Any, where: str) -> int:
        if raw is None:
            return MAX_PAGE_SIZE
        if isinstance(raw, str) and raw.isdigit():
            raw = int(raw)
        if isinstance(raw, bool) or not isinstance(raw, int):
            raise NotionAPIError(400, "validation_error", f"body failed validation: {where}.page_size should be a "
                                 f"number or `undefined`, instead was `{json.dumps(raw)}`.")
        if raw > MAX_PAGE_SIZE:
            raise NotionAPIError(400, "validation_error", f"body failed validation: {where}.page_size should be "
                                 f"less than or equal to `{MAX_PAGE_SIZE}`, instead was `{raw}`.")
        if raw < 1:
            raise NotionAPIError(400, "validation_error", f"body failed validation: {where}.page_size should be "
                                 f"greater than or equal to `1`, instead was `{raw}`.")
        return raw

    def _default_order(self, pages: Iterable[_Page]) -> list[_Page]:
        return sorted(pages, key=lambda p: (p.created, p.seq), reverse=True)

    def _query(self, token: _Token, version: str, raw_id: str, body: dict[str, Any],
               only: list[str] | None) -> dict[str, Any]:
        ds = self._data_source_for(token, raw_id)
        known = {"filter", "sorts", "start_cursor", "page_size", "archived", "in_trash", "result_type"}
        extra = [k for k in body if k not in known]
        if extra:
            raise NotionAPIError(400, "validation_error", f"body failed validation: body.{extra[0]} should be not "
                                 f"present, instead was `{json.dumps(body[extra[0]])}`.")
        if version == "2026-03-11" and ("in_trash" in body or "archived" in body):
            key = "in_trash" if "in_trash" in body else "archived"
            raise NotionAPIError(400, "validation_error", f"body failed validation: body.{key} should be not "
                                 f"present, instead was `{json.dumps(body[key])}`.")
        page_size = self._page_size(body.get("page_size"), "body")
        cursor_id = body.get("start_cursor")
        if cursor_id is not None:
            cursor = self._cursors.get(str(cursor_id))
            if cursor is None:
                raise NotionAPIError(400, "validation_error", "body failed validation: body.start_cursor should be "
                                     f"a valid cursor, instead was `{json.dumps(cursor_id)}`.")
        else:
            try:
                predicate = compile_filter(body["filter"], ds.properties, self.now()) if body.get("filter") else None
                compare = compile_sorts(body.get("sorts"), ds.properties)
            except QueryValidationError as error:
                raise NotionAPIError(400, "validation_error", str(error)) from None
            pages = self._default_order(p for p in self._pages.values()
                                        if p.data_source_id == ds.id and not p.in_trash)
            if predicate is not None:
                pages = [p for p in pages if predicate(p)]
            pages = sort_pages(pages, compare)
            cursor = _Cursor([p.id for p in pages], 0, 0)
        results: list[dict[str, Any]] = []
        position = cursor.position
        room = self.query_cap - cursor.served
        while position < len(cursor.ids) and len(results) < min(page_size, room):
            page = self._pages.get(cursor.ids[position])
            position += 1
            if page is None or page.in_trash or page.data_source_id != ds.id:
                continue
            results.append(self._page_json(page, version, only))
        # Skip rows removed since the first request, so has_more is honest.
        while position < len(cursor.ids) and (cursor.ids[position] not in self._pages
                                              or self._pages[cursor.ids[position]].in_trash):
            position += 1
        served = cursor.served + len(results)
        more = position < len(cursor.ids)
        response: dict[str, Any] = {"object": "list", "results": results, "next_cursor": None, "has_more": False,
                                    "type": "page_or_data_source", "page_or_data_source": {}}
        if more and served >= self.query_cap:
            response["request_status"] = {"type": "incomplete", "incomplete_reason": "query_result_limit_reached"}
        elif more:
            next_id = str(uuid.UUID(int=self._rng.getrandbits(128), version=4))
            self._cursors[next_id] = _Cursor(cursor.ids, position, served)
            response["next_cursor"] = next_id
            response["has_more"] = True
        return response

    def _get_property(self, token: _Token, raw_page_id: str, raw_prop_id: str, params: Any) -> dict[str, Any]:
        page = self._page_for(token, raw_page_id)
        ds = self._data_sources[page.data_source_id]
        prop_id = unquote(raw_prop_id)
        prop = next((p for p in ds.properties.values() if same_property_id(p["id"], prop_id)), None)
        if prop is None:
            raise NotionAPIError(400, "validation_error", f"{raw_prop_id} is not a property that exists.")
        kind = prop["type"]
        content = self._content(page, prop)
        if kind not in PAGINATED_PROPERTY_TYPES:
            return {"object": "property_item", "id": prop["id"], "type": kind, kind: content}
        page_size = self._page_size(params.get("page_size"), "query")
        start = 0
        if params.get("start_cursor") is not None:
            start = self._property_cursor(params["start_cursor"], page.id, prop["id"])
        items = content[start:start + page_size]
        end = start + len(items)
        has_more = end < len(content)
        next_cursor = self._make_property_cursor(page.id, prop["id"], end) if has_more else None
        results = [{"object": "property_item", "type": kind, "id": prop["id"], kind: item} for item in items]
        next_url = (f"{self.url}/v1/pages/{page.id}/properties/{prop['id']}?start_cursor={next_cursor}"
                    if has_more else None)
        return {"object": "list", "results": results, "next_cursor": next_cursor, "has_more": has_more,
                "type": "property_item", "property_item": {"id": prop["id"], "next_url": next_url, "type": kind,
                                                           kind: {}}}

    def _make_property_cursor(self, page_id: str, prop_id: str, offset: int) -> str:
        cursor_id = str(uuid.UUID(int=self._rng.getrandbits(128), version=4))
        self._cursors[cursor_id] = _Cursor([page_id, prop_id], offset, 0)
        return cursor_id

    def _property_cursor(self, raw: str, page_id: str, prop_id: str) -> int:
        cursor = self._cursors.get(raw)
        if cursor is None or cursor.ids != [page_id, prop_id]:
            raise NotionAPIError(400, "validation_error", "query failed validation: query.start_cursor should be "
                                 f"a valid cursor, instead was `\"{raw}\"`.")
        return cursor.position

    def _search(self, token: _Token, version: str, body: dict[str, Any]) -> dict[str, Any]:
        self._require(token)
        page_size = self._page_size(body.get("page_size"), "body")
        wanted = None
        if body.get("filter") is not None:
            flt = body["filter"]
            if not isinstance(flt, dict) or flt.get("property") != "object" or flt.get("value") not in (
                    "page", "data_source"):
                raise NotionAPIError(400, "validation_error", "body failed validation: body.filter.value should be "
                                     "`\"page\"` or `\"data_source\"`, instead was "
                                     f"`{json.dumps((flt or {}).get('value') if isinstance(flt, dict) else flt)}`.")
            wanted = flt["value"]
        sort = body.get("sort") or {"direction": "descending", "timestamp": "last_edited_time"}
        if sort.get("timestamp", "last_edited_time") != "last_edited_time" or sort.get(
                "direction", "descending") not in ("ascending", "descending"):
            raise NotionAPIError(400, "validation_error", "body failed validation: body.sort.timestamp should be "
                                 "`\"last_edited_time\"` and body.sort.direction `\"ascending\"` or `\"descending\"`.")
        query = str(body.get("query") or "").lower()
        cursor_id = body.get("start_cursor")
        if cursor_id is not None:
            cursor = self._cursors.get(str(cursor_id))
            if cursor is None:
                raise NotionAPIError(400, "validation_error", "body failed validation: body.start_cursor should be "
                                     f"a valid cursor, instead was `{json.dumps(cursor_id)}`.")
        else:
            found: list[tuple[datetime, int, str]] = []
            if wanted in (None, "data_source"):
                for ds in self._data_sources.values():
                    if self._visible(token, ds.database_id) and not ds.in_trash and query in ds.name.lower():
                        found.append((ds.edited, 0, "ds:" + ds.id))
            if wanted in (None, "page"):
                for page in self._pages.values():
                    ds = self._data_sources[page.data_source_id]
                    if page.in_trash or not self._visible(token, ds.database_id):
                        continue
                    title_prop = next(p for p in ds.properties.values() if p["type"] == "title")
                    if query in plain_text(self._content(page, title_prop)).lower():
                        found.append((page.edited, page.seq, "page:" + page.id))
            found.sort(reverse=sort.get("direction", "descending") == "descending")
            cursor = _Cursor([key for _, _, key in found], 0, 0)
        results = []
        position = cursor.position
        while position < len(cursor.ids) and len(results) < page_size:
            kind, object_id = cursor.ids[position].split(":", 1)
            position += 1
            if kind == "ds" and object_id in self._data_sources:
                results.append(self._data_source_json(self._data_sources[object_id], version))
            elif kind == "page" and object_id in self._pages and not self._pages[object_id].in_trash:
                results.append(self._page_json(self._pages[object_id], version))
        response: dict[str, Any] = {"object": "list", "results": results, "next_cursor": None, "has_more": False,
                                    "type": "page_or_data_source", "page_or_data_source": {}}
        if position < len(cursor.ids):
            next_id = str(uuid.UUID(int=self._rng.getrandbits(128), version=4))
            self._cursors[next_id] = _Cursor(cursor.ids, position, 0)
            response["next_cursor"], response["has_more"] = next_id, True
        return response
