"""The HTTP side of the Notion emulator: routing, auth, Notion's error bodies, the JSON of every object.

:class:`NotionHTTP` is mixed into :class:`notion_sync.core.emulator.notion.NotionEmulator`, which owns the
state declared here; the handlers run under the emulator's lock.
"""

from __future__ import annotations

import json
import math
import re
import threading
import uuid
from collections.abc import Iterable, Mapping
from datetime import datetime
from typing import TYPE_CHECKING, Any
from urllib.parse import unquote

from starlette.requests import Request
from starlette.responses import Response

from notion_sync.core.emulator.notion_blocks import NotionBlocks
from notion_sync.core.emulator.notion_state import (
    CursorState,
    DatabaseState,
    DataSourceState,
    NotionAPIError,
    PageState,
    TokenState,
)
from notion_sync.core.emulator.notion_values import (
    INLINE_REFERENCE_LIMIT,
    PAGINATED_PROPERTY_TYPES,
    format_database_time,
    format_page_time,
    new_uuid,
    normalize_id,
    rich_text,
    slug_url,
)
from notion_sync.core.notion_filters import (
    QueryValidationError,
    compile_filter,
    compile_sorts,
    find_property,
    plain_text,
    same_property_id,
    sort_pages,
)

if TYPE_CHECKING:
    import random

    from notion_sync.core.emulator.server import EmulatorServer

__all__ = [
    "LEGACY_ROUTES",
    "LEGACY_VERSION",
    "MAX_CURSORS",
    "MAX_PAGE_SIZE",
    "ROUTES",
    "SUPPORTED_VERSIONS",
    "NotionHTTP",
]

SUPPORTED_VERSIONS = frozenset({"2022-06-28", "2025-09-03", "2026-03-11"})
"""Versions the emulator answers in; 2026-03-11 drops ``archived`` and rejects ``in_trash`` in a query;
2022-06-28 (still used by most of the ecosystem) has no data sources: ``POST /v1/databases/{id}/query``,
the schema on the database object, ``parent.database_id`` on pages, and a 400 on a database with
more than one data source (https://developers.notion.com/guides/get-started/upgrade-guide-2025-09-03)."""

LEGACY_VERSION = "2022-06-28"

MAX_PAGE_SIZE = 100

ROUTES: tuple[tuple[str, str], ...] = (
    ("GET", "/v1/users/me"),
    ("GET", "/v1/users"),
    ("GET", "/v1/users/{user_id}"),
    ("GET", "/v1/blocks/{block_id}/children"),
    ("PATCH", "/v1/blocks/{block_id}"),
    ("GET", "/v1/databases/{database_id}"),
    ("GET", "/v1/data_sources/{data_source_id}"),
    ("POST", "/v1/data_sources/{data_source_id}/query"),
    ("GET", "/v1/pages/{page_id}"),
    ("PATCH", "/v1/pages/{page_id}"),
    ("POST", "/v1/pages"),
    ("GET", "/v1/pages/{page_id}/properties/{property_id}"),
    ("POST", "/v1/search"),
)
"""The endpoints served in 2025-09-03 and later, as (method, path template of the OpenAPI spec). Other paths of the real
API answer 400 ``invalid_request`` (saying the emulator lacks them); any other path 400
``invalid_request_url``, as recorded from the real API."""

LEGACY_ROUTES: tuple[tuple[str, str], ...] = (("POST", "/v1/databases/{database_id}/query"),)
"""Endpoints served only in 2022-06-28 (gone from the 2025-09-03 spec)."""

_UNSERVED = (
    r"/v1/(pages|blocks|databases|data_sources|comments|users|file_uploads|views|custom_emojis|oauth)"
    r"(/[^/]+)*"
)
"""Paths of the real API the emulator does not serve: answered ``invalid_request``, not a bad URL."""

READ_ONLY_TYPES = frozenset(
    {
        "formula",
        "rollup",
        "created_time",
        "created_by",
        "last_edited_time",
        "last_edited_by",
        "unique_id",
        "button",
        "verification",
    }
)
"""Property types a create/update request cannot write."""

MAX_CURSORS = 10_000
"""Cursors kept at once; older ones expire (a client holding one gets 400, as with an expired cursor)."""

_ERROR_MESSAGES = {
    429: ("rate_limited", "You have been rate limited. Please try again in a few minutes."),
    500: ("internal_server_error", "Unexpected error occurred."),
    502: ("bad_gateway", ("Notion encountered an issue while attempting to complete this request. Please try again.")),
    503: (
        "service_unavailable",
        (
            "Notion is unavailable. This can occur when the time to respond to a "
            "request takes longer than 60 seconds, the maximum request timeout. "
            "Please try again later."
        ),
    ),
    504: ("gateway_timeout", ("Notion timed out while attempting to complete this request. Please try again later.")),
    529: ("service_overload", "Notion is experiencing high demand. Please try again later."),
}


class NotionHTTP(NotionBlocks):
    """Serves the emulator's state over Notion's HTTP API (a mixin of ``NotionEmulator``)."""

    _lock: threading.RLock
    _rng: random.Random
    _tokens: dict[str, TokenState]
    _users: dict[str, dict[str, Any]]
    _databases: dict[str, DatabaseState]
    _data_sources: dict[str, DataSourceState]
    _pages: dict[str, PageState]
    _cursors: dict[str, CursorState]
    owner_id: str
    query_cap: int
    server: EmulatorServer

    if TYPE_CHECKING:

        @property
        def url(self) -> str: ...

        def now(self) -> datetime: ...

        def _content(self, page: PageState, prop: Mapping[str, Any]) -> Any: ...

        def _create_page(
            self, ds: DataSourceState, values: Mapping[str, Any], page_id: str | None, creator: str
        ) -> str: ...

        def _update_page(self, page: PageState, values: Mapping[str, Any], editor: str) -> None: ...

        def _set_trash(self, page_id: str, in_trash: bool, editor: str | None = None) -> None: ...

    # ------------------------------------------------------------ JSON rendering

    @staticmethod
    def _sees_emails(token: TokenState | None) -> bool:
        """Notion shows people's emails only with the "user information with email" capability; the
        emulator assumes it unless the token was given ``read_user_without_email`` instead."""
        if token is None:
            return True
        caps = token.capabilities
        return "read_user_with_email" in caps or "read_user_without_email" not in caps

    @staticmethod
    def _hide_email(value: Any) -> Any:
        if isinstance(value, dict) and value.get("object") == "user" and value.get("type") == "person":
            return {**value, "person": {}}
        return value

    def _property_json(self, page: PageState, prop: Mapping[str, Any], emails: bool = True) -> dict[str, Any]:
        kind = prop["type"]
        content = self._content(page, prop)
        if not emails and kind == "people":
            content = [self._hide_email(user) for user in content]
        elif not emails and kind in ("created_by", "last_edited_by"):
            content = self._hide_email(content)
        result: dict[str, Any] = {"id": prop["id"], "type": kind}
        if kind in ("relation", "people"):
            result[kind] = content[:INLINE_REFERENCE_LIMIT]
            if kind == "relation":
                result["has_more"] = len(content) > INLINE_REFERENCE_LIMIT
        else:
            result[kind] = content
        return result

    def _page_json(
        self,
        page: PageState,
        version: str = "2025-09-03",
        only: list[str] | None = None,
        token: TokenState | None = None,
    ) -> dict[str, Any]:
        ds = self._data_sources[page.data_source_id]
        emails = self._sees_emails(token)
        props = {
            name: self._property_json(page, prop, emails)
            for name, prop in ds.properties.items()
            if only is None or any(same_property_id(prop["id"], o) for o in only)
        }
        title_prop = next(p for p in ds.properties.values() if p["type"] == "title")
        title = plain_text(self._content(page, title_prop))
        body: dict[str, Any] = {
            "object": "page",
            "id": page.id,
            "created_time": format_page_time(page.created),
            "last_edited_time": format_page_time(page.edited),
            "created_by": {"object": "user", "id": page.created_by},
            "last_edited_by": {"object": "user", "id": page.edited_by},
            "cover": page.decoration.get("cover"),
            "icon": page.decoration.get("icon"),
            "parent": {"type": "data_source_id", "data_source_id": ds.id, "database_id": ds.database_id}
            if version != LEGACY_VERSION
            else {"type": "database_id", "database_id": ds.database_id},
            "in_trash": page.in_trash,
            "is_archived": False,
            "is_locked": False,
            "properties": props,
            "url": slug_url(title, page.id),
            "public_url": None,
        }
        if version != "2026-03-11":
            body["archived"] = page.in_trash
        return body

    def _database_json(self, db: DatabaseState, version: str) -> dict[str, Any]:
        body: dict[str, Any] = {
            "object": "database",
            "id": db.id,
            "title": rich_text(db.title),
            "description": [],
            "parent": {"type": "page_id", "page_id": db.parent_page_id},
            "is_inline": False,
            "in_trash": db.in_trash,
            "is_locked": False,
            "created_time": format_database_time(db.created),
            "last_edited_time": format_database_time(db.edited),
            "data_sources": [{"id": ds_id, "name": self._data_sources[ds_id].name} for ds_id in db.data_source_ids],
            "icon": None,
            "cover": None,
            "url": slug_url("", db.id),
            "public_url": None,
        }
        if version == LEGACY_VERSION:  # before data sources: the schema sits on the database
            del body["data_sources"]
            body["properties"] = json.loads(json.dumps(self._data_sources[db.data_source_ids[0]].properties))
        if version != "2026-03-11":
            body["archived"] = db.in_trash
        return body

    def _data_source_json(self, ds: DataSourceState, version: str) -> dict[str, Any]:
        db = self._databases[ds.database_id]
        body: dict[str, Any] = {
            "object": "data_source",
            "id": ds.id,
            "cover": None,
            "icon": None,
            "created_time": format_page_time(ds.created),
            "created_by": {"object": "user", "id": self.owner_id},
            "last_edited_by": {"object": "user", "id": self.owner_id},
            "last_edited_time": format_page_time(ds.edited),
            "title": rich_text(ds.name),
            "description": [],
            "is_inline": False,
            "properties": json.loads(json.dumps(ds.properties)),
            "parent": {"type": "database_id", "database_id": db.id},
            "database_parent": {"type": "page_id", "page_id": db.parent_page_id},
            "url": slug_url("", db.id),
            "public_url": None,
            "in_trash": ds.in_trash,
        }
        if version != "2026-03-11":
            body["archived"] = ds.in_trash
        return body

    # ------------------------------------------------------------ HTTP plumbing

    @staticmethod
    def _json(body: dict[str, Any], status: int = 200, headers: dict[str, str] | None = None) -> Response:
        return Response(
            json.dumps(body, ensure_ascii=False),
            status_code=status,
            headers=headers,
            media_type="application/json; charset=utf-8",
        )

    @classmethod
    def _error(
        cls,
        status: int,
        code: str,
        message: str,
        additional_data: dict[str, Any] | None = None,
        headers: dict[str, str] | None = None,
    ) -> Response:
        body: dict[str, Any] = {"object": "error", "status": status, "code": code, "message": message}
        if additional_data is not None:
            body["additional_data"] = additional_data
        body["request_id"] = str(uuid.uuid4())
        return cls._json(body, status, headers)

    def fault_response(self, status: int, request: Request) -> Response:
        """Notion's own reply for an injected fault (429 carries Retry-After in whole seconds)."""
        code, message = _ERROR_MESSAGES.get(status, ("internal_server_error", "Unexpected error occurred."))
        headers = None
        retry_after = self.server.faults.retry_after
        if status in (429, 529) and retry_after is not None:  # Notion documents Retry-After (whole seconds) on both
            headers = {"Retry-After": str(math.ceil(retry_after))}
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
            raise NotionAPIError(
                400,
                "missing_version",
                "Notion-Version header failed validation: Notion-Version "
                "header should be defined, instead was `undefined`.",
            )
        if version not in SUPPORTED_VERSIONS:
            raise NotionAPIError(
                400,
                "validation_error",
                f"Notion-Version header failed validation: this emulator "
                f"speaks {', '.join(sorted(SUPPORTED_VERSIONS))}, instead was `{version}`.",
            )
        auth = request.headers.get("authorization", "")
        with self._lock:
            token = self._tokens.get(auth[len("Bearer ") :]) if auth.startswith("Bearer ") else None
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

    def _route(self, request: Request, token: TokenState, version: str, body: dict[str, Any]) -> Response:
        method, path = request.method, request.scope["path"]
        params = request.query_params
        only = self._filter_properties(params)
        handlers: dict[tuple[str, str], Any] = {
            ("GET", "/v1/users/me"): lambda: self._get_me(token),
            ("GET", "/v1/users"): lambda: self._list_users(token, params),
            ("GET", "/v1/users/{user_id}"): lambda user: self._get_user(token, user),
            ("POST", "/v1/databases/{database_id}/query"): lambda db: self._legacy_query(
                token, version, db, body, only
            ),
            ("GET", "/v1/blocks/{block_id}/children"): lambda block: self._block_children(
                token, version, block, params
            ),
            ("PATCH", "/v1/blocks/{block_id}"): lambda block: self._patch_block(token, version, block, body),
            ("GET", "/v1/databases/{database_id}"): lambda db: self._get_database(token, version, db),
            ("GET", "/v1/data_sources/{data_source_id}"): lambda ds: self._get_data_source(token, version, ds),
            ("POST", "/v1/data_sources/{data_source_id}/query"): lambda ds: self._query(token, version, ds, body, only),
            ("GET", "/v1/pages/{page_id}"): lambda page: self._get_page(token, version, page, only),
            ("PATCH", "/v1/pages/{page_id}"): lambda page: self._patch_page(token, version, page, body),
            ("POST", "/v1/pages"): lambda: self._create_page_http(token, version, body),
            ("GET", "/v1/pages/{page_id}/properties/{property_id}"): lambda page, prop: self._get_property(
                token, page, prop, params
            ),
            ("POST", "/v1/search"): lambda: self._search(token, version, body),
        }
        for verb, template in ROUTES + (LEGACY_ROUTES if version == LEGACY_VERSION else ()):
            match = re.fullmatch(re.sub(r"\{\w+\}", "([^/]+)", template), path)
            if template == "/v1/users/{user_id}" and path == "/v1/users/me":
                continue
            if match and verb == method:
                result = handlers[(verb, template)](*match.groups())
                result["request_id"] = str(uuid.uuid4())
                return self._json(result)
        if re.fullmatch(_UNSERVED, path):
            raise NotionAPIError(
                400,
                "invalid_request",
                f"Unsupported request: {method} {path} is part of the Notion API but not of this emulator.",
            )
        raise NotionAPIError(400, "invalid_request_url", "Invalid request URL.")

    @staticmethod
    def _filter_properties(params: Any) -> list[str] | None:
        values = params.getlist("filter_properties") + params.getlist("filter_properties[]")
        return values or None

    def _require(self, token: TokenState, capability: str = "read_content") -> None:
        if capability not in token.capabilities:
            raise NotionAPIError(403, "restricted_resource", "Insufficient permissions for this endpoint.")

    def _not_found(self, token: TokenState, kind: str, object_id: str) -> NotionAPIError:
        return NotionAPIError(
            404,
            "object_not_found",
            f"Could not find {kind} with ID: {object_id}. Make sure the relevant pages and "
            f'databases are shared with your integration "{token.bot_name}".',
            {"integration_id": token.bot_id},
        )

    @staticmethod
    def _path_id(raw: str, what: str) -> str:
        value = normalize_id(unquote(raw))
        if value is None:
            raise NotionAPIError(
                400,
                "validation_error",
                f'path failed validation: path.{what} should be a valid uuid, instead was `"{unquote(raw)}"`.',
            )
        return value

    def _visible(self, token: TokenState, database_id: str) -> bool:
        return token.token in self._databases[database_id].shared_with

    # ------------------------------------------------------------ handlers

    def _get_me(self, token: TokenState) -> dict[str, Any]:
        return {
            "object": "user",
            "id": token.bot_id,
            "name": token.bot_name,
            "avatar_url": None,
            "type": "bot",
            "bot": {
                "owner": {"type": "workspace", "workspace": True},
                "workspace_name": token.workspace_name,
                "workspace_id": token.workspace_id,
                "workspace_limits": {"max_file_upload_size_in_bytes": 5242880},
            },
        }

    def _list_users(self, token: TokenState, params: Any) -> dict[str, Any]:
        """``GET /v1/users``: the workspace's people and bots, paginated (https://developers.notion.com/reference/get-users)."""
        emails = self._sees_emails(token)
        chunk, next_cursor = self._offset_page(list(self._users), params, f"users:{token.token}")
        users = [dict(self._users[i]) if emails else self._hide_email(dict(self._users[i])) for i in chunk]
        return {
            "object": "list",
            "results": users,
            "next_cursor": next_cursor,
            "has_more": next_cursor is not None,
            "type": "user",
            "user": {},
        }

    def _get_user(self, token: TokenState, raw_id: str) -> dict[str, Any]:
        """``GET /v1/users/{id}`` (https://developers.notion.com/reference/get-user)."""
        user_id = self._path_id(raw_id, "user_id")
        user = self._users.get(user_id)
        if user is None:
            raise self._not_found(token, "user", user_id)
        return dict(user) if self._sees_emails(token) else dict(self._hide_email(dict(user)))

    def _legacy_query(
        self, token: TokenState, version: str, raw_id: str, body: dict[str, Any], only: list[str] | None
    ) -> dict[str, Any]:
        """``POST /v1/databases/{id}/query`` of 2022-06-28: the query of the database's one data source."""
        db = self._legacy_database(token, raw_id)
        return self._query(token, version, db.data_source_ids[0], body, only)

    def _legacy_database(self, token: TokenState, raw_id: str) -> DatabaseState:
        self._require(token)
        db = self._visible_database(token, raw_id)
        db_id = db.id
        if len(db.data_source_ids) != 1:
            raise NotionAPIError(
                400,
                "validation_error",
                f"Databases with multiple data sources are not supported in this API version "
                f"({LEGACY_VERSION}). Use Notion-Version 2025-09-03 and the data sources of database {db_id}.",
            )
        return db

    def _get_database(self, token: TokenState, version: str, raw_id: str) -> dict[str, Any]:
        if version == LEGACY_VERSION:
            return self._database_json(self._legacy_database(token, raw_id), version)
        self._require(token)
        return self._database_json(self._visible_database(token, raw_id), version)

    def _visible_database(self, token: TokenState, raw_id: str) -> DatabaseState:
        """The database at ``raw_id`` if the token may see it, else Notion's 404 naming the integration."""
        db_id = self._path_id(raw_id, "database_id")
        db = self._databases.get(db_id)
        if db is None or not self._visible(token, db_id):
            raise self._not_found(token, "database", db_id)
        return db

    def _data_source_for(self, token: TokenState, raw_id: str) -> DataSourceState:
        self._require(token)
        ds_id = self._path_id(raw_id, "data_source_id")
        ds = self._data_sources.get(ds_id)
        if ds is None or not self._visible(token, ds.database_id):
            raise self._not_found(token, "data_source", ds_id)
        return ds

    def _get_data_source(self, token: TokenState, version: str, raw_id: str) -> dict[str, Any]:
        return self._data_source_json(self._data_source_for(token, raw_id), version)

    def _page_for(self, token: TokenState, raw_id: str) -> PageState:
        self._require(token)
        page_id = self._path_id(raw_id, "page_id")
        page = self._pages.get(page_id)
        if page is None or not self._visible(token, self._data_sources[page.data_source_id].database_id):
            raise self._not_found(token, "page", page_id)
        return page

    def _get_page(self, token: TokenState, version: str, raw_id: str, only: list[str] | None) -> dict[str, Any]:
        return self._page_json(self._page_for(token, raw_id), version, only, token)

    def _patch_page(self, token: TokenState, version: str, raw_id: str, body: dict[str, Any]) -> dict[str, Any]:
        page = self._page_for(token, raw_id)
        self._require(token, "update_content")
        unsupported = [k for k in body if k not in ("in_trash", "archived", "properties", "icon", "cover")]
        if unsupported:
            raise NotionAPIError(
                400,
                "invalid_request",
                f"Unsupported request: the emulator updates properties, "
                f"icon, cover and in_trash, not {', '.join(unsupported)}.",
            )
        if "archived" in body and version == "2026-03-11":
            raise NotionAPIError(
                400,
                "validation_error",
                "body failed validation: body.archived should be not "
                "present, instead was `" + json.dumps(body["archived"]) + "`.",
            )
        for key in ("in_trash", "archived"):
            if key in body and not isinstance(body[key], bool):
                raise NotionAPIError(
                    400,
                    "validation_error",
                    f"body failed validation: body.{key} should be a boolean, instead was `{json.dumps(body[key])}`.",
                )
        ds = self._data_sources[page.data_source_id]
        values = self._request_values(ds, body.get("properties") or {})
        try:
            self._update_page(page, values, token.bot_id)
        except (KeyError, ValueError) as error:
            raise NotionAPIError(400, "validation_error", str(error).strip("'\"")) from None
        for key in ("in_trash", "archived"):
            if key in body:
                self._set_trash(page.id, body[key], token.bot_id)
        for key in ("icon", "cover"):
            if key in body:
                page.decoration[key] = body[key]
        return self._page_json(page, version, token=token)

    def _create_page_http(self, token: TokenState, version: str, body: dict[str, Any]) -> dict[str, Any]:
        parent = body.get("parent")
        if not isinstance(parent, dict):
            raise NotionAPIError(
                400,
                "validation_error",
                "body failed validation: body.parent should be defined, instead was `undefined`.",
            )
        self._require(token, "insert_content")
        if parent.get("data_source_id"):
            ds_id = self._path_id(str(parent["data_source_id"]), "data_source_id")
            ds = self._data_sources.get(ds_id)
            if ds is None or not self._visible(token, ds.database_id):
                raise self._not_found(token, "data_source", ds_id)
        elif parent.get("database_id"):
            db = self._visible_database(token, str(parent["database_id"]))
            if len(db.data_source_ids) != 1:
                raise NotionAPIError(
                    400,
                    "validation_error",
                    "body failed validation: the database has "
                    f"{len(db.data_source_ids)} data sources; use parent.data_source_id.",
                )
            ds = self._data_sources[db.data_source_ids[0]]
        else:
            raise NotionAPIError(
                400,
                "invalid_request",
                "Unsupported request: the emulator creates pages only "
                "in a data source (parent.data_source_id or parent.database_id).",
            )
        if body.get("content") or body.get("markdown") or body.get("template"):
            raise NotionAPIError(
                400,
                "invalid_request",
                "Unsupported request: the emulator stores page content only as children blocks "
                "(not content, markdown, template).",
            )
        children = body.get("children") or []
        if not isinstance(children, list):
            raise NotionAPIError(400, "validation_error", "body failed validation: body.children should be an array.")
        values = self._request_values(ds, body.get("properties") or {})
        try:
            page_id = self._create_page(ds, values, None, token.bot_id)
        except (KeyError, ValueError) as error:
            raise NotionAPIError(400, "validation_error", str(error).strip("'\"")) from None
        page = self._pages[page_id]
        if children:
            self._append_request_blocks(page_id, children)
        for key in ("icon", "cover"):
            if body.get(key) is not None:
                page.decoration[key] = body[key]
        return self._page_json(page, version, token=token)

    def _request_values(self, ds: DataSourceState, properties: Any) -> dict[str, Any]:
        """Property values as a create/update request writes them, turned into the emulator's value forms."""
        if not isinstance(properties, dict):
            raise NotionAPIError(
                400, "validation_error", "body failed validation: body.properties should be an object."
            )
        values: dict[str, Any] = {}
        for key, value in properties.items():
            prop = find_property(ds.properties, key)
            if prop is None:
                raise NotionAPIError(400, "validation_error", f"{key} is not a property that exists.")
            kind = prop["type"]
            if kind in READ_ONLY_TYPES:
                raise NotionAPIError(
                    400,
                    "validation_error",
                    f"body failed validation: body.properties.{key} is a {kind} property, which cannot be written.",
                )
            if not isinstance(value, dict) or kind not in value:
                raise NotionAPIError(
                    400,
                    "validation_error",
                    f"body failed validation: body.properties.{key}.{kind} should be defined, instead was `undefined`.",
                )
            values[prop["name"]] = self._request_value(prop, key, value[kind])
        return values

    def _request_value(self, prop: Mapping[str, Any], key: str, inner: Any) -> Any:
        kind = prop["type"]

        def option_name(choice: Any) -> str:
            if isinstance(choice, dict) and "name" in choice:
                return str(choice["name"])
            if isinstance(choice, dict) and "id" in choice:
                for option in prop[kind]["options"]:
                    if option["id"] == choice["id"]:
                        return str(option["name"])
            raise NotionAPIError(
                400,
                "validation_error",
                f"body failed validation: body.properties.{key}.{kind} "
                f"should name an option (name or id), instead was `{json.dumps(choice)}`.",
            )

        if kind in ("select", "status"):
            return None if inner is None else option_name(inner)
        if kind == "multi_select":
            return [option_name(choice) for choice in inner or []]
        if kind == "people":
            ids = [str(user.get("id")) if isinstance(user, dict) else "" for user in inner or []]
            unknown = [i for i in ids if i not in self._users]
            if unknown:
                raise NotionAPIError(
                    400,
                    "validation_error",
                    f"body failed validation: body.properties.{key}: no user with id `{unknown[0]}`.",
                )
            return ids
        if kind == "relation":
            refs = []
            for ref in inner or []:
                ref_id = normalize_id(str(ref.get("id"))) if isinstance(ref, dict) else None
                if ref_id is None:
                    raise NotionAPIError(
                        400,
                        "validation_error",
                        f"body failed validation: body.properties.{key}."
                        'relation should be a list of `{"id": <page id>}`.',
                    )
                refs.append(ref_id)
            return refs
        if kind == "files":
            files = []
            for item in inner or []:
                item = dict(item)
                item.setdefault("type", "file" if "file" in item else "external")
                files.append(item)
            return files
        return inner

    @staticmethod
    def _page_size(raw: Any, where: str) -> int:
        if raw is None:
            return MAX_PAGE_SIZE
        if where == "query" and isinstance(raw, str) and raw.isdigit():
            raw = int(raw)  # a query string carries numbers as text; a JSON body must not
        if isinstance(raw, bool) or not isinstance(raw, int):
            raise NotionAPIError(
                400,
                "validation_error",
                f"body failed validation: {where}.page_size should be a "
                f"number or `undefined`, instead was `{json.dumps(raw)}`.",
            )
        if raw > MAX_PAGE_SIZE:
            raise NotionAPIError(
                400,
                "validation_error",
                f"body failed validation: {where}.page_size should be "
                f"less than or equal to `{MAX_PAGE_SIZE}`, instead was `{raw}`.",
            )
        if raw < 1:
            raise NotionAPIError(
                400,
                "validation_error",
                f"body failed validation: {where}.page_size should be "
                f"greater than or equal to `1`, instead was `{raw}`.",
            )
        return raw

    def _default_order(self, pages: Iterable[PageState]) -> list[PageState]:
        return sorted(pages, key=lambda p: (p.created, p.seq), reverse=True)

    def _query(
        self, token: TokenState, version: str, raw_id: str, body: dict[str, Any], only: list[str] | None
    ) -> dict[str, Any]:
        ds = self._data_source_for(token, raw_id)
        known = {"filter", "sorts", "start_cursor", "page_size", "archived", "in_trash", "result_type"}
        extra = [k for k in body if k not in known]
        if extra:
            raise NotionAPIError(
                400,
                "validation_error",
                f"body failed validation: body.{extra[0]} should be not "
                f"present, instead was `{json.dumps(body[extra[0]])}`.",
            )
        if version == "2026-03-11" and ("in_trash" in body or "archived" in body):
            key = "in_trash" if "in_trash" in body else "archived"
            raise NotionAPIError(
                400,
                "validation_error",
                f"body failed validation: body.{key} should be not present, instead was `{json.dumps(body[key])}`.",
            )
        page_size = self._page_size(body.get("page_size"), "body")
        cursor_id = body.get("start_cursor")
        if cursor_id is not None:
            cursor = self._cursor(cursor_id, f"query:{ds.id}", "body")
        else:
            try:
                predicate = compile_filter(body["filter"], ds.properties, self.now()) if body.get("filter") else None
                compare = compile_sorts(body.get("sorts"), ds.properties)
            except QueryValidationError as error:
                raise NotionAPIError(400, "validation_error", str(error)) from None
            pages = self._default_order(p for p in self._pages.values() if p.data_source_id == ds.id and not p.in_trash)
            if predicate is not None:
                pages = [p for p in pages if predicate(p)]
            pages = sort_pages(pages, compare)
            cursor = CursorState([p.id for p in pages], 0, 0, f"query:{ds.id}")
        results: list[dict[str, Any]] = []
        position = cursor.position
        room = self.query_cap - cursor.served
        while position < len(cursor.ids) and len(results) < min(page_size, room):
            page = self._pages.get(cursor.ids[position])
            position += 1
            if page is None or page.in_trash or page.data_source_id != ds.id:
                continue
            results.append(self._page_json(page, version, only, token))
        # Skip rows removed since the first request, so has_more is honest.
        while position < len(cursor.ids) and (
            cursor.ids[position] not in self._pages or self._pages[cursor.ids[position]].in_trash
        ):
            position += 1
        served = cursor.served + len(results)
        more = position < len(cursor.ids)
        response = _list_envelope(results)
        if len(cursor.ids) > self.query_cap:
            # Every page of a capped query carries it, the first ones too
            # (https://developers.notion.com/guides/data-apis/query-large-data-sources).
            response["request_status"] = {"type": "incomplete", "incomplete_reason": "query_result_limit_reached"}
        if more and served < self.query_cap:
            response["next_cursor"] = self._store_cursor(CursorState(cursor.ids, position, served, cursor.owner))
            response["has_more"] = True
        return response

    def _get_property(self, token: TokenState, raw_page_id: str, raw_prop_id: str, params: Any) -> dict[str, Any]:
        page = self._page_for(token, raw_page_id)
        ds = self._data_sources[page.data_source_id]
        prop_id = unquote(raw_prop_id)
        prop = next((p for p in ds.properties.values() if same_property_id(p["id"], prop_id)), None)
        if prop is None:
            raise NotionAPIError(400, "validation_error", f"{raw_prop_id} is not a property that exists.")
        kind = prop["type"]
        emails = self._sees_emails(token)
        if kind in ("relation", "people"):
            content = self._content(page, prop)  # every reference, not the page object's first 25
            if kind == "people" and not emails:
                content = [self._hide_email(user) for user in content]
        else:
            content = self._property_json(page, prop, emails)[kind]
        if kind not in PAGINATED_PROPERTY_TYPES:
            return {"object": "property_item", "id": prop["id"], "type": kind, kind: content}
        page_size = self._page_size(params.get("page_size"), "query")
        start = 0
        if params.get("start_cursor") is not None:
            start = self._property_cursor(params["start_cursor"], page.id, prop["id"])
        items = content[start : start + page_size]
        end = start + len(items)
        has_more = end < len(content)
        next_cursor = self._make_property_cursor(page.id, prop["id"], end) if has_more else None
        results = [{"object": "property_item", "type": kind, "id": prop["id"], kind: item} for item in items]
        next_url = (
            f"{self.url}/v1/pages/{page.id}/properties/{prop['id']}?start_cursor={next_cursor}" if has_more else None
        )
        return {
            "object": "list",
            "results": results,
            "next_cursor": next_cursor,
            "has_more": has_more,
            "type": "property_item",
            "property_item": {"id": prop["id"], "next_url": next_url, "type": kind, kind: {}},
        }

    def _store_cursor(self, cursor: CursorState) -> str:
        cursor_id = new_uuid(self._rng)
        self._cursors[cursor_id] = cursor
        while len(self._cursors) > MAX_CURSORS:
            del self._cursors[next(iter(self._cursors))]
        return cursor_id

    def _make_property_cursor(self, page_id: str, prop_id: str, offset: int) -> str:
        return self._store_cursor(CursorState([], offset, 0, f"property:{page_id}:{prop_id}"))

    def _property_cursor(self, raw: str, page_id: str, prop_id: str) -> int:
        return self._cursor(raw, f"property:{page_id}:{prop_id}", "query").position

    def _cursor(self, raw: Any, owner: str, where: str) -> CursorState:
        cursor = self._cursors.get(str(raw))
        if cursor is None or cursor.owner != owner:
            raise NotionAPIError(
                400,
                "validation_error",
                f"{where} failed validation: {where}.start_cursor should "
                f"be a valid cursor, instead was `{json.dumps(raw)}`.",
            )
        return cursor

    def _search(self, token: TokenState, version: str, body: dict[str, Any]) -> dict[str, Any]:
        self._require(token)
        page_size = self._page_size(body.get("page_size"), "body")
        wanted = None
        legacy = version == LEGACY_VERSION  # 2022-06-28 finds databases, not data sources
        containers = "database" if legacy else "data_source"
        if body.get("filter") is not None:
            flt = body["filter"]
            if (
                not isinstance(flt, dict)
                or flt.get("property") != "object"
                or flt.get("value") not in ("page", containers)
            ):
                raise NotionAPIError(
                    400,
                    "validation_error",
                    "body failed validation: body.filter.value should be "
                    f'`"page"` or `"{containers}"`, instead was '
                    f"`{json.dumps((flt or {}).get('value') if isinstance(flt, dict) else flt)}`.",
                )
            wanted = flt["value"]
        sort = body.get("sort") or {"direction": "descending", "timestamp": "last_edited_time"}
        if sort.get("timestamp", "last_edited_time") != "last_edited_time" or sort.get(
            "direction", "descending"
        ) not in ("ascending", "descending"):
            raise NotionAPIError(
                400,
                "validation_error",
                "body failed validation: body.sort.timestamp should be "
                '`"last_edited_time"` and body.sort.direction `"ascending"` or `"descending"`.',
            )
        query = str(body.get("query") or "").lower()
        cursor_id = body.get("start_cursor")
        if cursor_id is not None:
            cursor = self._cursor(cursor_id, f"search:{token.token}", "body")
        else:
            found: list[tuple[datetime, int, str]] = []
            if wanted in (None, "database") and legacy:
                for db in self._databases.values():
                    single = len(db.data_source_ids) == 1  # the version cannot show the others
                    if single and self._visible(token, db.id) and not db.in_trash and query in db.title.lower():
                        found.append((db.edited, 0, "db:" + db.id))
            if wanted in (None, "data_source") and not legacy:
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
            cursor = CursorState([key for _, _, key in found], 0, 0, f"search:{token.token}")
        results: list[dict[str, Any]] = []
        position = cursor.position
        while position < len(cursor.ids) and len(results) < page_size:
            kind, object_id = cursor.ids[position].split(":", 1)
            position += 1
            if kind == "db" and object_id in self._databases:
                results.append(self._database_json(self._databases[object_id], version))
            elif kind == "ds" and object_id in self._data_sources:
                results.append(self._data_source_json(self._data_sources[object_id], version))
            elif kind == "page" and object_id in self._pages and not self._pages[object_id].in_trash:
                results.append(self._page_json(self._pages[object_id], version, token=token))
        response = _list_envelope(results)
        if legacy:
            del response["page_or_data_source"]
            response.update(type="page_or_database", page_or_database={})
        if position < len(cursor.ids):
            response["next_cursor"] = self._store_cursor(CursorState(cursor.ids, position, 0, cursor.owner))
            response["has_more"] = True
        return response


def _list_envelope(results: list[dict[str, Any]]) -> dict[str, Any]:
    """The envelope of a query or search page, as Notion sends it (cursor fields filled in later)."""
    return {
        "object": "list",
        "results": results,
        "next_cursor": None,
        "has_more": False,
        "type": "page_or_data_source",
        "page_or_data_source": {},
    }
