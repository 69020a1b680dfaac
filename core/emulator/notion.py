"""A local emulator of the Notion API (Notion-Version 2025-09-03) for tests, the demo and benchmarks.

Point the real client at it::

    with NotionEmulator() as emu:
        db = emu.create_database("Tasks", {"Name": {"type": "title"}, "Due": {"type": "date"}})
        emu.add_page(db.data_sources[0].id, {"Name": "Write docs", "Due": "2026-03-01"})
        notion = notion_client.Client(auth=emu.token, base_url=emu.url)
        notion.data_sources.query(db.data_sources[0].id)

What it serves, with Notion's exact envelopes and errors: ``GET /v1/users/me``,
``GET /v1/databases/{id}``, ``GET /v1/data_sources/{id}``, ``POST /v1/data_sources/{id}/query``,
``GET /v1/pages/{id}``, ``GET /v1/pages/{id}/properties/{property_id}``, ``POST /v1/search``,
and rows written through the API: ``POST /v1/pages`` (parent ``data_source_id``, or
``database_id`` of a single-source database) and ``PATCH /v1/pages/{id}`` (``properties`` in
request form, ``in_trash``/``archived``, ``icon``, ``cover``; all or nothing). It answers
Notion-Version 2025-09-03 and 2026-03-11 (which drops ``archived`` and rejects ``in_trash`` in
a query body); other versions get a 400. Other paths of the real API get 400 ``invalid_request``
naming the missing endpoint. Faults (``emu.faults``) answer with Notion's own bodies:
429 ``rate_limited`` and 529 ``service_overload`` with ``Retry-After``, 500, 502 ``bad_gateway``,
503, 504.

Tokens: :meth:`NotionEmulator.add_token` registers more, each with its bot and capabilities
(without ``read_content`` every read is 403 ``restricted_resource``; with
``read_user_without_email`` people show no email); :meth:`NotionEmulator.revoke_token` makes
one 401; a database is visible only to the tokens it is shared with.

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

Schema specs for :meth:`NotionEmulator.create_database` (name -> spec): ``{"type": T}`` plus,
for select/multi_select/status, ``options`` (names or ``{"name", "color", "group"}``; status
groups are To-do / In progress / Complete, default options Not started / In progress / Done);
other keys go into the type's config (``{"type": "number", "format": "euro"}``,
``{"type": "unique_id", "prefix": "TASK"}``, ``{"type": "relation", "data_source_id": ...}``);
``"id"`` fixes the property id. An unknown type passes through as given.

Simple values for :meth:`NotionEmulator.add_page` by property type:

* title, rich_text: ``str`` (split into 2,000-character items) or a list of rich text items;
* number: ``int | float | None``; checkbox: ``bool``; url, email, phone_number: ``str | None``;
* select, status: the option name or None (an unknown select name adds the option, like
  Notion; an unknown status raises); multi_select: a list of names;
* date: ``"2026-03-01"``, ``"2026-03-01T09:00:00+01:00"``, a ``date``/``datetime``,
  ``(start, end)``, ``{"start", "end", "time_zone"}`` (a zone becomes an offset) or None;
* people: emails, user ids or ``{"name", "email"}`` (users are created on first use);
* relation: page ids; files: urls (external files) or ``{"name", "url", "type": "file"}``;
* formula: ``str``/``int``/``float``/``bool``/date or a raw ``{"type": ..., ...}`` result;
* rollup: a number, a list (an ``array`` rollup), a date, or a raw result;
* created_time, last_edited_time (str or datetime), created_by, last_edited_by (a user),
  unique_id (its number): override what the emulator computes;
* verification: a state name or a dict; place: a dict; button: ignored (always ``{}``);
* any type, known or not: a raw property value ``{"type": T, T: ...}`` is stored as given.

Cursors are opaque uuid-shaped strings held by the emulator: a query's matching page ids
are fixed by its first request, so a paginated read sees a stable list (pages trashed or
deleted in between are skipped).
"""

from __future__ import annotations

import json
import random
import re
import threading
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from typing import Any

from starlette.applications import Starlette
from starlette.routing import Route

from notion_sync.core.emulator.base import ServiceEmulator
from notion_sync.core.emulator.control import ControlError, ControlRoute
from notion_sync.core.emulator.notion_http import MAX_CURSORS, ROUTES, SUPPORTED_VERSIONS, NotionHTTP
from notion_sync.core.emulator.notion_state import CursorState, DatabaseState, DataSourceState, PageState, TokenState
from notion_sync.core.emulator.notion_values import (
    dashed_id,
    format_page_time,
    make_property_id,
    new_uuid,
    normalize_id,
    normalize_rich_text,
    parse_date_value,
    schema_property,
    slug_url,
)
from notion_sync.core.emulator.notion_webhooks import Subscription, WebhookDelivery
from notion_sync.core.notion_filters import find_property, plain_text

__all__ = ["DEFAULT_TOKEN", "MAX_CURSORS", "ROUTES", "SUPPORTED_VERSIONS", "DataSource", "Database", "NotionEmulator"]

DEFAULT_TOKEN = "ntn_emulator_token_0000000000000000000000000000"
DEFAULT_CAPABILITIES = frozenset({"read_content", "update_content", "insert_content"})


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


def _subscription_json(sub: Subscription) -> dict[str, Any]:
    return {
        "id": sub.id,
        "url": sub.url,
        "event_types": sorted(sub.event_types) if sub.event_types is not None else None,
        "verified": sub.verified,
    }


# ---------------------------------------------------------------- the emulator


class NotionEmulator(NotionHTTP, ServiceEmulator):
    """The Notion API on 127.0.0.1:<random port>, with a Python API to set up its content.

    All setup methods are thread-safe and may be called while a client is reading.
    """

    service_name = "notion"
    query_cap: int = 10_000
    """At most this many results per query (following its cursors), like Notion's 10,000."""

    def __init__(
        self,
        *,
        token: str = DEFAULT_TOKEN,
        bot_name: str = "notion-sync demo",
        workspace_name: str = "Demo workspace",
        seed: int = 0,
    ) -> None:
        self._lock = threading.RLock()
        self._identity = (token, bot_name, workspace_name, seed)
        app = Starlette(
            routes=[Route("/{path:path}", self._asgi_entry, methods=["GET", "POST", "PATCH", "DELETE", "PUT"])]
        )
        super().__init__(app)
        self.webhooks = WebhookDelivery(self.now, self._webhook_identity, seed=seed)
        """The integration's webhook subscriptions and their signed deliveries (``notion_webhooks``)."""
        self._init_state()

    def _init_state(self) -> None:
        token, bot_name, workspace_name, seed = self._identity
        with self._lock:
            self._rng = random.Random(seed)
            self.clock.set(None)
            self._tokens: dict[str, TokenState] = {}
            self._users: dict[str, dict[str, Any]] = {}
            self._users_by_email: dict[str, str] = {}
            self._databases: dict[str, DatabaseState] = {}
            self._data_sources: dict[str, DataSourceState] = {}
            self._pages: dict[str, PageState] = {}
            self._cursors: dict[str, CursorState] = {}
            self._init_blocks()
            self._seq = 0
            self._integration_id = new_uuid(self._rng)
            self.query_cap = type(self).query_cap
            self.token = token
            """The default token: databases are shared with it unless told otherwise."""
            self.bot_id = self.add_token(token, bot_name=bot_name, workspace_name=workspace_name)
            """The bot user of the default token."""
            self.owner_id = self._person("Demo Owner", "owner@example.com")
            """The workspace member who 'created' pages added through the Python API."""

    def reset(self) -> None:
        """Forget all content, tokens, cursors and faults and go back to the state of a new emulator
        (same seed, same ids, real time), keeping the server running: cheaper than a restart between tests."""
        with self._lock:
            self._init_state()
            self.reset_server()
            self.webhooks.clear()

    def stop(self) -> None:
        """Stop serving, and delivering webhook events."""
        self.webhooks.close()
        super().stop()

    # ------------------------------------------------------------ webhooks

    def subscribe_webhook(
        self, url: str, event_types: Iterable[str] | None = None, *, verify: bool = True
    ) -> Subscription:
        """Create a webhook subscription (see ``notion_webhooks``): the handshake is POSTed to
        ``url`` now; with ``verify`` (the token pasted back) signed events follow every change."""
        return self.webhooks.subscribe(url, event_types, verify=verify)

    def _webhook_identity(self) -> dict[str, str]:
        with self._lock:
            default = self._tokens[self.token]
            return {
                "workspace_id": default.workspace_id,
                "workspace_name": default.workspace_name,
                "integration_id": self._integration_id,
                "bot_id": default.bot_id,
            }

    def _author(self, user_id: str) -> tuple[str, str]:
        return user_id, str(self._users.get(user_id, {}).get("type", "person"))

    def _page_event(self, event_type: str, page: PageState, author: str, updated: Iterable[str] = ()) -> None:
        ds = self._data_sources[page.data_source_id]
        parent = {"id": ds.database_id, "type": "database", "data_source_id": ds.id}
        self.webhooks.emit(
            event_type, page.id, "page", self._author(author), parent=parent, updated_properties=list(updated)
        )

    def _schema_event(self, ds: DataSourceState, changes: list[dict[str, Any]]) -> None:
        self.webhooks.emit(
            "data_source.schema_updated",
            ds.id,
            "data_source",
            self._author(self.owner_id),
            parent={"id": ds.database_id, "type": "database"},
            updated_properties=changes,
        )

    @property
    def url(self) -> str:
        """Base url for ``notion_client.Client(base_url=...)`` (the client appends ``/v1/``)."""
        return self.base_url

    # ------------------------------------------------------------ control API

    def control_routes(self) -> list[ControlRoute]:
        """Act as a Notion user over HTTP: list, add, edit, trash and restore rows; revoke a
        token; unshare a database (docs/emulators.md)."""

        def values(body: dict[str, Any]) -> dict[str, Any]:
            props = body.get("properties")
            if not isinstance(props, dict) or not props:
                raise ControlError(400, 'give \'properties\': {name: simple value}, e.g. {"Name": "Renamed"}')
            return props

        def guarded(action: Any) -> Any:
            try:
                return action()
            except (ValueError, TypeError) as exc:
                raise ControlError(400, str(exc)) from None

        def edit(body: dict[str, Any], page_id: str) -> dict[str, Any]:
            guarded(lambda: self.update_page(page_id, values(body)))
            return self.page_json(page_id)

        def add(body: dict[str, Any], ds_id: str) -> dict[str, Any]:
            return self.page_json(guarded(lambda: self.add_page(ds_id, values(body))))

        def trash(body: dict[str, Any], page_id: str) -> dict[str, Any]:
            self.trash_page(page_id)
            return self.page_json(page_id)

        def restore(body: dict[str, Any], page_id: str) -> dict[str, Any]:
            self.restore_page(page_id)
            return self.page_json(page_id)

        def token_of(body: dict[str, Any]) -> str:
            token = body.get("token", self.token)
            if token not in self._tokens:
                raise ControlError(404, "no such token: give one the emulator accepts ('token' in the body)")
            return str(token)

        def revoke(body: dict[str, Any]) -> None:
            self.revoke_token(token_of(body))

        def capabilities(body: dict[str, Any]) -> dict[str, Any]:
            wanted = body.get("capabilities")
            if not isinstance(wanted, list) or not all(isinstance(c, str) for c in wanted):
                raise ControlError(400, 'give \'capabilities\': a list such as ["read_content", "update_content"]')
            self.set_capabilities(wanted, token_of(body))
            return {"capabilities": sorted(self.capabilities(token_of(body)))}

        def unshare(body: dict[str, Any], database_id: str) -> None:
            self.share(database_id, token_of(body), shared=False)

        def share(body: dict[str, Any], database_id: str) -> None:
            self.share(database_id, token_of(body), shared=True)

        def subscribe(body: dict[str, Any]) -> dict[str, Any]:
            url, types = body.get("url"), body.get("event_types")
            if not isinstance(url, str) or not url.startswith(("http://", "https://")):
                raise ControlError(400, "give 'url': the webhook endpoint, e.g. http://127.0.0.1:8787/notion/webhook")
            if types is not None and not (isinstance(types, list) and all(isinstance(t, str) for t in types)):
                raise ControlError(400, "'event_types' must be a list of event types, e.g. [\"page.created\"]")
            return _subscription_json(self.subscribe_webhook(url, types, verify=bool(body.get("verify", True))))

        def subscription(subscription_id: str) -> Subscription:
            found = self.webhooks.subscriptions.get(subscription_id)
            if found is None:
                raise ControlError(404, f"no webhook subscription {subscription_id}")
            return found

        def verify(body: dict[str, Any], subscription_id: str) -> dict[str, Any]:
            sub = subscription(subscription_id)
            guarded(lambda: sub.verify(str(body.get("verification_token", ""))))
            return _subscription_json(sub)

        def resend(body: dict[str, Any], subscription_id: str) -> dict[str, Any]:
            return {"status": self.webhooks.resend_token(subscription(subscription_id).id)}

        def unsubscribe(body: dict[str, Any], subscription_id: str) -> None:
            self.webhooks.unsubscribe(subscription(subscription_id).id)

        def webhooks(body: dict[str, Any]) -> dict[str, Any]:
            return {
                "subscriptions": [_subscription_json(s) for s in self.webhooks.subscriptions.values()],
                "deliveries": list(self.webhooks.deliveries),
                "idle": self.webhooks.idle(),
            }

        return [
            ControlRoute("GET", "webhooks", webhooks, "webhook subscriptions and every delivery attempt"),
            ControlRoute(
                "POST", "webhooks", subscribe, "subscribe: {'url', 'event_types'?, 'verify'?}; sends the handshake"
            ),
            ControlRoute("POST", "webhooks/{subscription_id}/verify", verify, "paste the verification token back"),
            ControlRoute("POST", "webhooks/{subscription_id}/resend", resend, "send the handshake again"),
            ControlRoute("DELETE", "webhooks/{subscription_id}", unsubscribe, "delete a subscription"),
            ControlRoute("GET", "databases", lambda body: self.content(), "databases, data sources and row ids"),
            ControlRoute("POST", "data_sources/{data_source_id}/pages", add, "add a row from simple values"),
            ControlRoute("PATCH", "pages/{page_id}", edit, "edit a row: {'properties': {name: simple value}}"),
            ControlRoute("POST", "pages/{page_id}/trash", trash, "move a row to the trash"),
            ControlRoute("POST", "pages/{page_id}/restore", restore, "restore a row from the trash"),
            ControlRoute("POST", "tokens/revoke", revoke, "revoke a token (default: the default one): 401 after"),
            ControlRoute("POST", "databases/{database_id}/unshare", unshare, "remove the integration's access"),
            ControlRoute(
                "POST", "tokens/capabilities", capabilities, "set the integration's capabilities (403 without one)"
            ),
            ControlRoute("POST", "databases/{database_id}/share", share, "give the integration access again"),
        ]

    def content(self) -> dict[str, Any]:
        """Every database with its data sources and their rows (id, title, in_trash): what a test
        needs to find the page it wants to edit."""
        with self._lock:
            out = []
            for db in self._databases.values():
                sources = []
                for ds_id in db.data_source_ids:
                    ds = self._data_sources[ds_id]
                    title = next(p for p in ds.properties.values() if p["type"] == "title")
                    pages = sorted((p for p in self._pages.values() if p.data_source_id == ds_id), key=lambda p: p.seq)
                    rows = [
                        {"id": p.id, "title": plain_text(self._content(p, title)), "in_trash": p.in_trash}
                        for p in pages
                    ]
                    sources.append({"id": ds_id, "name": ds.name, "pages": rows})
                out.append({"id": db.id, "title": db.title, "url": slug_url("", db.id), "data_sources": sources})
            return {"databases": out}

    # ------------------------------------------------------------ tokens and users

    def add_token(
        self,
        token: str,
        *,
        bot_name: str = "notion-sync demo",
        workspace_name: str = "Demo workspace",
        capabilities: Iterable[str] = DEFAULT_CAPABILITIES,
        regenerated_from: str | None = None,
    ) -> str:
        """Register an integration token; returns its bot user id.

        ``regenerated_from``: an existing token of the same integration, as when its secret is
        regenerated on the integration's page: same bot, same workspace, same shares."""
        with self._lock:
            if regenerated_from is not None:
                old = self._tokens[regenerated_from]
                self._tokens[token] = TokenState(
                    token, old.bot_id, old.bot_name, old.workspace_name, old.workspace_id, frozenset(capabilities)
                )
                for database in self._databases.values():
                    if regenerated_from in database.shared_with:
                        database.shared_with.add(token)
                return old.bot_id
            bot_id = new_uuid(self._rng)
            workspace_id = self._workspace_id(workspace_name)
            self._tokens[token] = TokenState(
                token, bot_id, bot_name, workspace_name, workspace_id, frozenset(capabilities)
            )
            self._users[bot_id] = {
                "object": "user",
                "id": bot_id,
                "name": bot_name,
                "avatar_url": None,
                "type": "bot",
                "bot": {},
            }
            return bot_id

    def _workspace_id(self, workspace_name: str) -> str:
        for known in self._tokens.values():
            if known.workspace_name == workspace_name:
                return known.workspace_id
        return new_uuid(self._rng)

    def set_capabilities(self, capabilities: Iterable[str], token: str | None = None) -> None:
        """Set an integration's capabilities, as its owner would on the integration's page
        (``read_content``, ``update_content``, ``insert_content``, ``read_user_email``...): a
        request that needs one it lacks answers 403 ``restricted_resource``."""
        with self._lock:
            self._tokens[token or self.token].capabilities = frozenset(capabilities)

    def capabilities(self, token: str | None = None) -> frozenset[str]:
        """An integration's capabilities."""
        with self._lock:
            return self._tokens[token or self.token].capabilities

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
        user: dict[str, Any] = {
            "object": "user",
            "id": user_id,
            "name": name or (email or "").split("@")[0],
            "avatar_url": None,
            "type": "person",
            "person": {},
        }
        if email:
            user["person"] = {"email": email}
            self._users_by_email[email.lower()] = user_id
        self._users[user_id] = user
        return user_id

    # ------------------------------------------------------------ databases and schema

    def create_database(
        self,
        title: str,
        properties: dict[str, dict[str, Any]],
        *,
        data_sources: list[str] | None = None,
        database_id: str | None = None,
        shared_with: list[str] | None = None,
    ) -> Database:
        """Create a database with one data source per name in ``data_sources`` (default: one named
        like the title), all with the schema ``properties`` (name -> spec, see the module docs),
        shared with the tokens in ``shared_with`` (default: the default token)."""
        with self._lock:
            db_id = dashed_id(database_id) if database_id else new_uuid(self._rng)
            if db_id in self._databases:
                raise ValueError(f"database {db_id} exists")
            now = self.now()
            tokens = set(shared_with) if shared_with is not None else {self.token}
            for token in tokens:
                if token not in self._tokens:
                    raise ValueError(f"unknown token for shared_with (add_token first): {token[:8]}...")
            state = DatabaseState(db_id, title, new_uuid(self._rng), now, now, tokens)
            self._databases[db_id] = state
            for name in data_sources or [title]:
                self._new_data_source(state, name, properties)
            return self._database_record(state)

    def _database_record(self, state: DatabaseState) -> Database:
        return Database(
            state.id,
            slug_url("", state.id),
            [DataSource(ds_id, self._data_sources[ds_id].name) for ds_id in state.data_source_ids],
        )

    def database_of(self, data_source_id: str) -> str:
        """The id of the database that holds a data source."""
        with self._lock:
            return self._data_sources[dashed_id(data_source_id)].database_id

    def database(self, database_id: str) -> Database:
        """The :class:`Database` record of an existing database (current data sources)."""
        with self._lock:
            return self._database_record(self._databases[dashed_id(database_id)])

    def _new_data_source(self, db: DatabaseState, name: str, properties: Mapping[str, Mapping[str, Any]]) -> str:
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
        self._data_sources[ds_id] = DataSourceState(ds_id, name, db.id, schema, now, now)
        db.data_source_ids.append(ds_id)
        self._link_schema(self._data_sources[ds_id])
        return ds_id

    def _link_schema(self, ds: DataSourceState) -> None:
        """Fill the ids Notion shows in relation and rollup configs (a relation defaults to its own data source)."""
        for prop in ds.properties.values():
            if prop["type"] == "relation":
                config = prop["relation"]
                target = config.setdefault("data_source_id", ds.id)
                related = self._data_sources.get(normalize_id(str(target)) or "")
                config.setdefault("database_id", related.database_id if related else ds.database_id)
        for prop in ds.properties.values():
            if prop["type"] != "rollup":
                continue
            config = prop["rollup"]
            relation = ds.properties.get(config.get("relation_property_name", ""))
            if relation is None or relation["type"] != "relation":
                continue
            config["relation_property_id"] = relation["id"]
            related = self._data_sources.get(normalize_id(str(relation["relation"]["data_source_id"])) or "")
            rolled = related.properties.get(config.get("rollup_property_name", "")) if related else None
            if rolled is not None:
                config["rollup_property_id"] = rolled["id"]

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
            self._schema_event(ds, [{"id": ds.properties[new]["id"], "name": new, "action": "updated"}])

    def rename_option(self, data_source_id: str, name: str, old: str, new: str) -> None:
        """Rename an option of a select, multi-select or status property, as the Notion app (or a
        data source update naming the option's id) does: every page with that option shows the new
        name at once, and no page's ``last_edited_time`` moves, since no page was edited."""
        with self._lock:
            ds = self._data_sources[dashed_id(data_source_id)]
            prop = ds.properties[name]
            kind = prop["type"]
            if kind not in ("select", "multi_select", "status"):
                raise ValueError(f"{name} is a {kind} property: only select, multi_select and status have options")
            options = prop[kind]["options"]
            if any(o["name"] == new for o in options):
                raise ValueError(f"{name} has an option {new!r} already")
            option = next((o for o in options if o["name"] == old), None)
            if option is None:
                raise ValueError(f"{name} has no option {old!r}")
            option["name"] = new
            for page in self._pages.values():
                value = page.values.get(prop["id"]) if page.data_source_id == ds.id else None
                for chosen in value if isinstance(value, list) else [value]:
                    if isinstance(chosen, dict) and chosen.get("id") == option["id"]:
                        chosen["name"] = new
            ds.edited = self.now()
            self._schema_event(ds, [{"id": prop["id"], "name": name, "action": "updated"}])

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
            self._schema_event(ds, [{"id": prop["id"], "name": name, "action": "deleted"}])

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
            self._link_schema(ds)
            ds.edited = self.now()
            self._schema_event(ds, [{"id": prop_id, "name": name, "action": "created"}])
            return prop_id

    def schema(self, data_source_id: str) -> dict[str, dict[str, Any]]:
        """The data source's schema properties (name -> JSON, a copy)."""
        with self._lock:
            schema: dict[str, dict[str, Any]] = json.loads(
                json.dumps(self._data_sources[dashed_id(data_source_id)].properties)
            )
            return schema

    # ------------------------------------------------------------ pages

    def add_blocks(self, parent_id: str, blocks: list[dict[str, Any]]) -> list[str]:
        """Append blocks to a page's body or a block (``{"type", "text", "checked", "children"}``)."""
        with self._lock:
            return super().add_blocks(parent_id, blocks)

    def set_block(self, block_id: str, *, text: Any = None, checked: bool | None = None) -> None:
        """Change a block's text or tick; the page's ``last_edited_time`` becomes now."""
        with self._lock:
            super().set_block(block_id, text=text, checked=checked)

    def add_page(self, data_source_id: str, values: dict[str, Any], *, page_id: str | None = None) -> str:
        """Add a row from simple Python values (see module docs); returns its dashed id."""
        with self._lock:
            return self._create_page(self._data_sources[dashed_id(data_source_id)], values, page_id, self.owner_id)

    def _create_page(self, ds: DataSourceState, values: Mapping[str, Any], page_id: str | None, creator: str) -> str:
        pid = dashed_id(page_id) if page_id else new_uuid(self._rng)
        if pid in self._pages:
            raise ValueError(f"page {pid} exists")
        now = self.now()
        page = PageState(self, pid, ds.id, self._seq + 1, now, now, creator, creator, unique_number=ds.next_unique)
        self._apply_values(ds, page, values)
        self._seq += 1
        ds.next_unique += 1
        self._pages[pid] = page
        self._page_event("page.created", page, creator)
        return pid

    def add_pages(self, data_source_id: str, rows: Iterable[dict[str, Any]]) -> list[str]:
        """Add many rows at once (benchmarks); returns their ids in order."""
        with self._lock:
            return [self.add_page(data_source_id, values) for values in rows]

    def update_page(self, page_id: str, values: dict[str, Any]) -> None:
        """Change some values of a row; ``last_edited_time`` becomes now (rounded down on output)."""
        with self._lock:
            self._update_page(self._page(page_id), values, self.owner_id)

    def _update_page(self, page: PageState, values: Mapping[str, Any], editor: str) -> None:
        """Apply all of ``values`` or none of them."""
        saved = (dict(page.values), page.created, page.created_by, page.edited, page.edited_by, page.unique_number)
        page.edited, page.edited_by = self.now(), editor  # before: values may set last_edited_* themselves
        ds = self._data_sources[page.data_source_id]
        try:
            self._apply_values(ds, page, values)
        except Exception:
            page.values, page.created, page.created_by, page.edited, page.edited_by, page.unique_number = saved
            raise
        if values:
            ids = [p["id"] for p in (find_property(ds.properties, n) for n in values) if p is not None]
            self._page_event("page.properties_updated", page, editor, ids)

    def trash_page(self, page_id: str) -> None:
        """Move a row to the trash: gone from queries and search, still retrievable by id."""
        self._set_trash(page_id, True)

    def restore_page(self, page_id: str) -> None:
        """Restore a row from the trash."""
        self._set_trash(page_id, False)

    def _set_trash(self, page_id: str, in_trash: bool, editor: str | None = None) -> None:
        with self._lock:
            page = self._page(page_id)
            changed = page.in_trash != in_trash
            page.in_trash = in_trash
            page.edited = self.now()
            if changed:
                self._page_event("page.deleted" if in_trash else "page.undeleted", page, editor or self.owner_id)

    def delete_page(self, page_id: str) -> None:
        """Delete a row for good: 404 afterwards, and gone from every relation that pointed at it."""
        with self._lock:
            gone = self._pages.pop(dashed_id(page_id)).id
            for page in self._pages.values():
                for prop_id, content in page.values.items():
                    if isinstance(content, list) and any(
                        isinstance(r, dict) and r.keys() == {"id"} and r["id"] == gone for r in content
                    ):
                        page.values[prop_id] = [r for r in content if not (isinstance(r, dict) and r.get("id") == gone)]

    def page_json(self, page_id: str) -> dict[str, Any]:
        """The page object as ``GET /v1/pages/{id}`` returns it (without ``request_id``)."""
        with self._lock:
            page: dict[str, Any] = json.loads(json.dumps(self._page_json(self._page(page_id))))
            return page

    def page_ids(self, data_source_id: str, *, include_trashed: bool = False) -> list[str]:
        """Ids of a data source's rows in creation order."""
        with self._lock:
            ds_id = dashed_id(data_source_id)
            pages = sorted((p for p in self._pages.values() if p.data_source_id == ds_id), key=lambda p: p.seq)
            return [p.id for p in pages if include_trashed or not p.in_trash]

    def _page(self, page_id: str) -> PageState:
        return self._pages[dashed_id(page_id)]

    # ------------------------------------------------------------ values

    def _apply_values(self, ds: DataSourceState, page: PageState, values: Mapping[str, Any]) -> None:
        for name, value in values.items():
            prop = find_property(ds.properties, name)
            if prop is None:
                raise KeyError(f"no property {name!r} in data source {ds.name!r} (has {', '.join(ds.properties)})")
            kind = prop["type"]
            if isinstance(value, Mapping) and value.get("type") == kind and kind in value:
                content: Any = value[kind]
                if kind == "relation":
                    content = [{"id": dashed_id(r["id"])} for r in content]
                page.values[prop["id"]] = content
                continue
            if kind in ("created_time", "last_edited_time"):
                moment = value if isinstance(value, datetime) else datetime.fromisoformat(str(value))
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

    def _convert(self, prop: Mapping[str, Any], value: Any) -> Any:
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
            if isinstance(value, (date, datetime)) or (
                isinstance(value, str) and re.match(r"\d{4}-\d{2}-\d{2}", value)
            ):
                return {"type": "date", "date": parse_date_value(value), "function": function}
            return {"type": "number", "number": value, "function": function}
        if kind == "verification":
            if isinstance(value, Mapping):
                return {"state": "unverified", "date": None, "verified_by": None, **value}
            return {"state": value or "unverified", "date": None, "verified_by": None}
        if kind == "button":
            return {}
        return value

    def _option(self, prop: Mapping[str, Any], value: Any) -> dict[str, Any]:
        kind = prop["type"]
        wanted = value["name"] if isinstance(value, Mapping) else str(value)
        options = prop[kind]["options"]
        for option in options:
            if option["name"] == wanted:
                return {"id": option["id"], "name": option["name"], "color": option["color"]}
        if kind == "status":
            raise ValueError(
                f"{prop['name']}: no status option {wanted!r} "
                f"(has {', '.join(o['name'] for o in options)}); Notion cannot add one through the API"
            )
        # Like Notion, writing an unknown select/multi_select name adds the option.
        option = {"id": new_uuid(self._rng), "name": wanted, "color": "default", "description": None}
        options.append(option)
        return {"id": option["id"], "name": wanted, "color": "default"}

    def _user_ref(self, value: Any) -> str:
        if isinstance(value, Mapping):
            if "id" in value and value["id"] in self._users:
                return str(value["id"])
            return self._person(value.get("name"), value.get("email"))
        text = str(value)
        if text in self._users:
            return text
        if normalize_id(text) in self._users:
            return normalize_id(text)  # type: ignore[return-value]
        return self._person(None, text) if "@" in text else self._person(text, None)

    def _file(self, value: Any) -> dict[str, Any]:
        if isinstance(value, str):
            return {
                "name": value.rstrip("/").rsplit("/", 1)[-1] or value,
                "type": "external",
                "external": {"url": value},
            }
        given: dict[str, Any] = dict(value)
        if "type" in given and given["type"] in given:
            return given
        value = given
        url = str(value["url"])
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

    def _content(self, page: PageState, prop: Mapping[str, Any]) -> Any:
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
