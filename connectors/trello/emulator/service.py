"""A stateful Trello emulator on 127.0.0.1 that py-trello (and so the connector) talks to.

It answers like Trello (see ``../shared/reference/api-notes.md`` and Atlassian's OpenAPI):

* ``key`` and ``token`` query parameters (or an ``Authorization: OAuth ...`` header);
  401 ``invalid key`` / ``invalid token`` in plain text when they are wrong;
* 200 with a JSON body for every success, DELETE included (``{"limits": {}}``);
* plain-text errors: 400 ``invalid id`` / ``invalid value for idList``, 404
  ``The requested resource was not found.``, 401 ``unauthorized permission requested``
  for a token without write scope or a board observer; 403 for a GET with a body;
* 429 ``{"error":"API_TOKEN_LIMIT_EXCEEDED","message":"Rate limit exceeded"}`` past
  100 requests per 10 s per token (``API_KEY_LIMIT_EXCEEDED`` past 300 per key), with no
  Retry-After;
* boards (by id or short link), lists, labels (``GET`` defaults to 50 of them), cards
  (``GET /boards/{id}/cards/{filter}``), memberships, ``members/me``, ``tokens/{token}``,
  and py-trello's legacy per-field routes (``PUT /cards/{id}/name`` with ``{"value": ...}``).

Use it from Python::

    emu = TrelloEmulator().start()
    member = emu.add_credentials("key", "token")
    board = emu.add_board("Tasks", lists=["To do", "Done"], members={member: "admin"})
    ...; emu.cards(board["id"]); emu.stop()

``emu.faults`` has the fault and latency knobs; ``emu.requests`` counts requests.
"""

from __future__ import annotations

import hashlib
import itertools
import json
import re
import threading
from collections import Counter
from collections.abc import Callable
from copy import deepcopy
from typing import Any

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, PlainTextResponse, Response
from starlette.routing import Route

from notion_sync.sdk import ControlError, ControlRoute, Faults, ServiceEmulator, SlidingWindow

from .checklists import TrelloChecklists
from .values import (
    LABEL_COLORS,
    NOT_FOUND,
    SHORT_LINK,
    TRELLO_ID,
    TrelloReply,
    as_bool,
    as_time,
    fmt_time,
    id_list,
    pick_fields,
)

__all__ = ["TrelloEmulator"]


class TrelloEmulator(TrelloChecklists, ServiceEmulator):
    """The emulator's state and its Starlette app, served by ``ServiceEmulator``."""

    service_name = "trello"

    def __init__(
        self,
        *,
        token_limit: tuple[int, float] | None = (100, 10.0),
        key_limit: tuple[int, float] | None = (300, 10.0),
        faults: Faults | None = None,
    ) -> None:
        self.token_limit = token_limit
        self.key_limit = key_limit
        self.keys: set[str] = set()
        self.tokens: dict[str, dict[str, Any]] = {}
        self.members: dict[str, dict[str, Any]] = {}
        self.boards: dict[str, dict[str, Any]] = {}
        self.lists: dict[str, dict[str, Any]] = {}
        self.labels: dict[str, dict[str, Any]] = {}
        self._cards: dict[str, dict[str, Any]] = {}
        self._positions: dict[str, dict[str, float]] = {}
        """List id -> card id -> pos: "top" and "bottom" of a list without a scan of every card
        (a scan made each create cost about 1 ms per 5,000 cards on the board)."""
        self._init_checklists()
        self.rate_limited: Counter[str] = Counter()
        """429s the emulator's own limiter answered, by ``token``/``key``."""
        self.params_seen: dict[tuple[str, str], set[str]] = {}
        """Parameter names received per (method, spec route), for the spec tests."""
        self._calls: dict[str, SlidingWindow] = {}
        self._ids = itertools.count(1)
        self._short_ids: Counter[str] = Counter()
        self._lock = threading.RLock()
        super().__init__(self._app(), faults=faults)

    @property
    def url(self) -> str:
        """The base URL to give the connector (``[trello] base_url``)."""
        return f"{self.base_url}/1"

    def _timestamp(self) -> str:
        return fmt_time(self.now())

    # -- seeding and reading (Python API) ---------------------------------------------
    def _new_id(self) -> str:
        return f"5f{next(self._ids):022x}"

    def _short_link(self, obj_id: str) -> str:
        digest = hashlib.sha256(obj_id.encode()).hexdigest()
        alphabet = "ABCDEFGHJKLMNPQRSTUVWXYZabcdefghijkmnopqrstuvwxyz23456789"
        return "".join(alphabet[int(digest[i * 2 : i * 2 + 2], 16) % len(alphabet)] for i in range(8))

    def add_credentials(self, key: str, token: str, *, username: str = "demo", write: bool = True) -> str:
        """Register an API key and a token for a (new) member; returns the member id."""
        with self._lock:
            member = next((m for m in self.members.values() if m["username"] == username), None)
            if member is None:
                member_id = self._new_id()
                member = {
                    "id": member_id,
                    "username": username,
                    "fullName": username.title(),
                    "initials": username[:2].upper(),
                    "url": f"https://trello.com/{username}",
                    "memberType": "normal",
                    "confirmed": True,
                }
                self.members[member_id] = member
            self.keys.add(key)
            self.tokens[token] = {"key": key, "idMember": member["id"], "write": write, "id": self._new_id()}
            return str(member["id"])

    def add_board(
        self,
        name: str,
        *,
        lists: list[str] = (),  # type: ignore[assignment]
        labels: list[tuple[str, str | None]] = (),  # type: ignore[assignment]
        members: dict[str, str] | None = None,
        id_organization: str | None = None,
    ) -> dict[str, Any]:
        """Create a board with open lists and labels; ``members`` maps member id -> admin/normal/observer."""
        with self._lock:
            board_id = self._new_id()
            short = self._short_link(board_id)
            slug = re.sub(r"[^a-z0-9]+", "-", name.lower()).strip("-")
            board = {
                "id": board_id,
                "name": name,
                "desc": "",
                "closed": False,
                "idOrganization": id_organization,
                "pinned": False,
                "url": f"https://trello.com/b/{short}/{slug}",
                "shortUrl": f"https://trello.com/b/{short}",
                "shortLink": short,
                "memberships": [
                    {"id": self._new_id(), "idMember": m, "memberType": t, "unconfirmed": False, "deactivated": False}
                    for m, t in (members or {}).items()
                ],
            }
            self.boards[board_id] = board
            for list_name in lists:
                self.add_list(board_id, list_name)
            for label_name, color in labels:
                self.add_label(board_id, label_name, color)
            return deepcopy(board)

    def add_list(self, board_id: str, name: str, *, closed: bool = False) -> dict[str, Any]:
        """Add a list at the right end of a board."""
        with self._lock:
            pos = max((x["pos"] for x in self.lists.values() if x["idBoard"] == board_id), default=0) + 16384
            list_id = self._new_id()
            item: dict[str, Any] = {
                "id": list_id,
                "name": name,
                "closed": closed,
                "idBoard": board_id,
                "pos": pos,
                "subscribed": False,
                "softLimit": None,
            }
            self.lists[list_id] = item
            return deepcopy(item)

    def add_label(self, board_id: str, name: str, color: str | None) -> dict[str, Any]:
        """Add a label to a board."""
        with self._lock:
            label_id = self._new_id()
            label: dict[str, Any] = {"id": label_id, "idBoard": board_id, "name": name, "color": color, "uses": 0}
            self.labels[label_id] = label
            return deepcopy(label)

    def close_list(self, list_id: str) -> None:
        """Archive a list (it leaves ``GET /boards/{id}/lists``)."""
        with self._lock:
            self.lists[list_id]["closed"] = True

    def cards(self, board_id: str | None = None, *, closed: bool | None = None) -> list[dict[str, Any]]:
        """Copies of the cards (of one board; only open or only archived ones if ``closed`` is given)."""
        with self._lock:
            return [
                deepcopy(c)
                for c in self._cards.values()
                if (board_id is None or c["idBoard"] == board_id) and (closed is None or c["closed"] == closed)
            ]

    def card(self, card_id: str) -> dict[str, Any] | None:
        """A copy of one card, or None once deleted."""
        with self._lock:
            card = self._cards.get(card_id)
            return deepcopy(card) if card else None

    def list_name(self, list_id: str) -> str:
        return str(self.lists[list_id]["name"])

    def set_member_type(self, board_id: str, member_id: str, member_type: str) -> None:
        with self._lock:
            for m in self.boards[board_id]["memberships"]:
                if m["idMember"] == member_id:
                    m["memberType"] = member_type

    # -- control API (docs/emulators.md) --------------------------------------------
    def move_card(self, card_id: str, list_ref: str) -> dict[str, Any]:
        """Drag a card to another list of its board (by name or id), as a board member would in
        Trello: its ``dateLastActivity`` moves on, and it goes to the bottom of the list."""
        with self._lock:
            card = self._cards[card_id]
            target = next(
                (
                    x
                    for x in self.lists.values()
                    if x["idBoard"] == card["idBoard"] and list_ref in (x["id"], x["name"])
                ),
                None,
            )
            if target is None:
                raise LookupError(f"no list {list_ref!r} on the card's board")
            old = card["idList"]
            card["idList"] = target["id"]
            card["pos"] = self._position(target["id"], "bottom", card_id)
            self._place(card, old)
            card["dateLastActivity"] = self._timestamp()
            return deepcopy(card)

    def edit_card(self, card_id: str, changes: dict[str, Any]) -> dict[str, Any]:
        """Change a card's ``name``, ``due``, ``start`` or ``dueComplete`` as a board member would in
        Trello (dates as Trello stores them: UTC with milliseconds, or None); ``dateLastActivity``
        moves on."""
        allowed = {"name", "due", "start", "dueComplete"}
        unknown = set(changes) - allowed
        if unknown:
            raise ValueError(f"a person edits only {', '.join(sorted(allowed))} here, not {', '.join(sorted(unknown))}")
        with self._lock:
            card = self._cards[card_id]
            for key in ("due", "start"):
                if key in changes:
                    try:
                        changes = {**changes, key: as_time(changes[key], key)}
                    except TrelloReply:
                        raise ValueError(f"{key}: give a date-time such as 2026-11-27T17:00:00.000Z") from None
            card.update(changes)
            card["dateLastActivity"] = self._timestamp()
            return deepcopy(card)

    def control_routes(self) -> list[ControlRoute]:
        """Act as a board member over HTTP: list boards and cards, move a card, revoke a token."""

        def boards(body: dict[str, Any]) -> dict[str, Any]:
            with self._lock:
                return {
                    "boards": [
                        {
                            **deepcopy(b),
                            "lists": [deepcopy(x) for x in self.lists.values() if x["idBoard"] == b["id"]],
                            "labels": [deepcopy(x) for x in self.labels.values() if x["idBoard"] == b["id"]],
                            "cards": self.cards(b["id"]),
                        }
                        for b in self.boards.values()
                    ]
                }

        def move(body: dict[str, Any], card_id: str) -> dict[str, Any]:
            wanted = body.get("list")
            if not isinstance(wanted, str):
                raise ControlError(400, "give 'list': the name or id of a list on the card's board")
            try:
                return self.move_card(card_id, wanted)
            except LookupError as exc:
                if card_id not in self._cards:
                    raise KeyError(f"card {card_id}") from None
                raise ControlError(404, str(exc).strip("'\"")) from None

        def edit(body: dict[str, Any], card_id: str) -> dict[str, Any]:
            if card_id not in self._cards:
                raise KeyError(f"card {card_id}")
            try:
                return self.edit_card(card_id, body)
            except ValueError as exc:
                raise ControlError(400, str(exc)) from None

        def revoke(body: dict[str, Any]) -> None:
            token = body.get("token")
            with self._lock:
                if token not in self.tokens:
                    raise ControlError(404, "give 'token': one the emulator accepts")
                del self.tokens[token]

        return [
            ControlRoute("GET", "boards", boards, "boards with their lists, labels and cards"),
            ControlRoute("POST", "cards/{card_id}/move", move, "move a card to another list"),
            ControlRoute("PATCH", "cards/{card_id}", edit, "edit a card's name, due, start or dueComplete"),
            ControlRoute("POST", "tokens/revoke", revoke, "revoke a token: 401 invalid token after"),
        ]

    # -- HTTP plumbing ------------------------------------------------------------------
    def fault_response(self, status: int, request: Request) -> Response:
        """Trello's reply to an injected status: its 429 carries no Retry-After."""
        if status == 429:
            with self._lock:
                limits = self._limit_headers(*self._credentials(request))
            return JSONResponse(
                {"error": "API_TOKEN_LIMIT_EXCEEDED", "message": "Rate limit exceeded"}, 429, headers=limits
            )
        if status == 401:
            return PlainTextResponse("invalid token", 401)
        if status == 404:
            return PlainTextResponse(NOT_FOUND, 404)
        if status >= 500:
            return PlainTextResponse("Internal Server Error", status)
        return PlainTextResponse(f"error {status}", status)

    def _over_limit(self, bucket: str, limit: tuple[int, float] | None) -> bool:
        if limit is None:
            return False
        return not self._calls.setdefault(bucket, SlidingWindow()).admit(*limit)

    def _limit_headers(self, key: str | None, token: str | None) -> dict[str, str]:
        """Trello's ``x-rate-limit-api-{token,key}-{interval-ms,max,remaining}`` headers: what is
        left of the shared per-token and per-key windows, which every process spends from."""
        headers: dict[str, str] = {}
        for kind, ident, limit in (("token", token, self.token_limit), ("key", key, self.key_limit)):
            if limit is None or not ident:
                continue
            count, window = limit
            left = self._calls.setdefault(f"{kind}:{ident}", SlidingWindow()).remaining(count, window)
            headers[f"x-rate-limit-api-{kind}-interval-ms"] = str(int(window * 1000))
            headers[f"x-rate-limit-api-{kind}-max"] = str(count)
            headers[f"x-rate-limit-api-{kind}-remaining"] = str(left)
        return headers

    @staticmethod
    def _credentials(request: Request) -> tuple[str | None, str | None]:
        """The key and token of a request: query parameters, or an ``Authorization: OAuth`` header."""
        key = request.query_params.get("key")
        token = request.query_params.get("token")
        header = request.headers.get("authorization", "")
        if header.startswith("OAuth "):
            parts = dict(re.findall(r'(\w+)="([^"]*)"', header))
            key = key or parts.get("oauth_consumer_key")
            token = token or parts.get("oauth_token")
        return key, token

    def _auth(self, request: Request) -> dict[str, Any]:
        key, token = self._credentials(request)
        if not key or key not in self.keys:
            raise TrelloReply(401, "invalid key")
        grant = self.tokens.get(token or "")
        if grant is None or grant["key"] != key:
            raise TrelloReply(401, "invalid token")
        if self._over_limit(f"token:{token}", self.token_limit):
            self.rate_limited["token"] += 1
            raise _RateLimited("API_TOKEN_LIMIT_EXCEEDED")
        if self._over_limit(f"key:{key}", self.key_limit):
            self.rate_limited["key"] += 1
            raise _RateLimited("API_KEY_LIMIT_EXCEEDED")
        return grant

    async def _params(self, request: Request) -> dict[str, Any]:
        params: dict[str, Any] = {k: v for k, v in request.query_params.items() if k not in ("key", "token")}
        raw = await request.body()
        if raw:
            if request.method == "GET":
                raise TrelloReply(403, "GET requests cannot have a body")
            ctype = request.headers.get("content-type", "")
            if "json" in ctype:
                try:
                    body = json.loads(raw)
                except ValueError:
                    raise TrelloReply(400, "invalid JSON") from None
                if isinstance(body, dict):
                    params.update(body)
            else:
                form = await request.form()
                params.update({k: v for k, v in form.items() if isinstance(v, str)})
        return params

    def _app(self) -> Starlette:
        def route(
            method: str,
            path: str,
            spec: str | None,
            handler: Callable[[dict[str, Any], dict[str, Any], dict[str, str]], Any],
        ) -> Route:
            async def endpoint(request: Request) -> Response:
                try:
                    params = await self._params(request)
                    with self._lock:
                        grant = self._auth(request)
                        if spec:
                            self.params_seen.setdefault((method, spec), set()).update(params)
                        result = handler(grant, params, dict(request.path_params))
                        limits = self._limit_headers(*self._credentials(request))
                except _RateLimited as exc:
                    with self._lock:
                        limits = self._limit_headers(*self._credentials(request))
                    return JSONResponse({"error": exc.code, "message": "Rate limit exceeded"}, 429, headers=limits)
                except TrelloReply as exc:
                    return PlainTextResponse(exc.text, exc.status)
                return JSONResponse(result, headers=limits)

            return Route("/1" + path, endpoint, methods=[method])

        h = self
        routes = [
            route("GET", "/members/{id}", "/members/{id}", h._get_member),
            route("GET", "/members/{id}/boards", "/members/{id}/boards", h._get_member_boards),
            route("GET", "/tokens/{token}", "/tokens/{token}", h._get_token),
            route("GET", "/boards/{id}", "/boards/{id}", h._get_board),
            route("GET", "/boards/{id}/lists", "/boards/{id}/lists", h._get_lists),
            route("GET", "/boards/{id}/labels", "/boards/{id}/labels", h._get_labels),
            route("POST", "/boards/{id}/labels", "/boards/{id}/labels", h._post_label),
            route("GET", "/boards/{id}/cards", "/boards/{id}/cards", h._get_board_cards),
            route("GET", "/boards/{id}/cards/{filter}", "/boards/{id}/cards/{filter}", h._get_board_cards),
            route("GET", "/boards/{id}/memberships", "/boards/{id}/memberships", h._get_memberships),
            route("GET", "/lists/{id}", "/lists/{id}", h._get_list),
            route("GET", "/lists/{id}/cards", "/lists/{id}/cards", h._get_list_cards),
            route("POST", "/cards", "/cards", h._post_card),
            route("GET", "/cards/{id}", "/cards/{id}", h._get_card),
            route("PUT", "/cards/{id}", "/cards/{id}", h._put_card),
            route("DELETE", "/cards/{id}", "/cards/{id}", h._delete_card),
            route("POST", "/cards/{id}/idLabels", "/cards/{id}/idLabels", h._post_card_label_id),
            route("DELETE", "/cards/{id}/idLabels/{idLabel}", "/cards/{id}/idLabels/{idLabel}", h._delete_card_label),
            route("POST", "/cards/{id}/labels", "/cards/{id}/labels", h._post_card_label),
            route("GET", "/cards/{id}/checklists", "/cards/{id}/checklists", h._get_card_checklists),
            route("POST", "/cards/{id}/checklists", "/cards/{id}/checklists", h._post_card_checklist),
            route("PUT", "/cards/{id}/checkItem/{item}", "/cards/{id}/checkItem/{item}", h._put_check_item),
            route(
                "PUT",
                "/cards/{id}/checklist/{checklist}/checkItem/{item}",
                "/cards/{id}/checklist/{checklist}/checkItem/{item}",
                h._put_check_item,
            ),
            route("POST", "/checklists/{id}/checkItems", "/checklists/{id}/checkItems", h._post_check_item),
            route(
                "DELETE",
                "/checklists/{id}/checkItems/{item}",
                "/checklists/{id}/checkItems/{item}",
                h._delete_check_item,
            ),
            route("DELETE", "/checklists/{id}", "/checklists/{id}", h._delete_checklist),
            route("PUT", "/cards/{id}/{field}", None, h._put_card_field),
        ]

        async def not_found(request: Request, exc: Exception) -> Response:
            return PlainTextResponse("Cannot " + request.method + " " + request.url.path, 404)

        return Starlette(routes=routes, exception_handlers={404: not_found, 405: not_found})

    # -- lookups -------------------------------------------------------------------------
    @staticmethod
    def _by_ref(table: dict[str, dict[str, Any]], ref: str) -> dict[str, Any]:
        """A board or card by id or short link: 400 for neither shape, 404 when unknown."""
        if not (TRELLO_ID.match(ref) or SHORT_LINK.match(ref)):
            raise TrelloReply(400, "invalid id")
        found = table.get(ref) or next((x for x in table.values() if x["shortLink"] == ref), None)
        if found is None:
            raise TrelloReply(404, NOT_FOUND)
        return found

    def _board(self, grant: dict[str, Any], ref: str, *, write: bool = False) -> dict[str, Any]:
        board = self._by_ref(self.boards, ref)
        membership = next((m for m in board["memberships"] if m["idMember"] == grant["idMember"]), None)
        if membership is None:
            raise TrelloReply(401, "unauthorized permission requested")
        if write and (not grant["write"] or membership["memberType"] == "observer"):
            raise TrelloReply(401, "unauthorized permission requested")
        return board

    def _card(self, grant: dict[str, Any], card_id: str, *, write: bool = False) -> dict[str, Any]:
        card = self._by_ref(self._cards, card_id)
        self._board(grant, card["idBoard"], write=write)
        return card

    def _card_json(self, card: dict[str, Any]) -> dict[str, Any]:
        out = deepcopy(card)
        out["labels"] = [deepcopy(self.labels[i]) for i in card["idLabels"] if i in self.labels]
        out["badges"]["due"] = card["due"]
        out["badges"]["start"] = card["start"]
        out["badges"]["dueComplete"] = card["dueComplete"]
        out["badges"]["description"] = bool(card["desc"])
        return out

    # -- handlers: members, tokens, boards -------------------------------------------------
    def _get_member(self, grant: dict[str, Any], params: dict[str, Any], path: dict[str, str]) -> Any:
        ref = path["id"]
        member = (
            self.members[grant["idMember"]]
            if ref == "me"
            else (self.members.get(ref) or next((m for m in self.members.values() if m["username"] == ref), None))
        )
        if member is None:
            raise TrelloReply(404, "model not found")
        return pick_fields(member, params.get("fields"))

    def _get_member_boards(self, grant: dict[str, Any], params: dict[str, Any], path: dict[str, str]) -> Any:
        member_id = grant["idMember"] if path["id"] == "me" else path["id"]
        boards = [b for b in self.boards.values() if any(m["idMember"] == member_id for m in b["memberships"])]
        filt = params.get("filter", "all")
        if filt == "open":
            boards = [b for b in boards if not b["closed"]]
        elif filt == "closed":
            boards = [b for b in boards if b["closed"]]
        return [pick_fields(b, params.get("fields")) for b in boards]

    def _get_token(self, grant: dict[str, Any], params: dict[str, Any], path: dict[str, str]) -> Any:
        target = self.tokens.get(path["token"])
        if target is None:
            raise TrelloReply(401, "invalid token")
        permissions = target.get("permissions") or [
            # Real replies capitalise the model type (the OpenAPI spec writes it lowercase).
            {"idModel": "*", "modelType": "Board", "read": True, "write": target["write"]},
            {"idModel": "*", "modelType": "Organization", "read": True, "write": target["write"]},
        ]
        token = {
            "id": target["id"],
            "identifier": "notion-sync",
            "idMember": target["idMember"],
            "dateCreated": "2026-01-01T00:00:00.000Z",
            "dateExpires": None,
            "permissions": permissions,
        }
        return pick_fields(token, params.get("fields"))

    def _get_board(self, grant: dict[str, Any], params: dict[str, Any], path: dict[str, str]) -> Any:
        board = self._board(grant, path["id"])
        shown = {k: v for k, v in board.items() if k != "memberships"}
        return pick_fields(shown, params.get("fields", "name,desc,descData,closed,idOrganization,pinned,url,shortUrl"))

    def _get_lists(self, grant: dict[str, Any], params: dict[str, Any], path: dict[str, str]) -> Any:
        board = self._board(grant, path["id"])
        lists = sorted((x for x in self.lists.values() if x["idBoard"] == board["id"]), key=lambda x: x["pos"])
        filt = params.get("filter", "open")
        if filt == "open":
            lists = [x for x in lists if not x["closed"]]
        elif filt == "closed":
            lists = [x for x in lists if x["closed"]]
        elif filt == "none":
            lists = []
        return [pick_fields(x, params.get("fields")) for x in lists]

    def _get_labels(self, grant: dict[str, Any], params: dict[str, Any], path: dict[str, str]) -> Any:
        board = self._board(grant, path["id"])
        limit = self._limit(params, default=50, least=0)
        labels = [x for x in self.labels.values() if x["idBoard"] == board["id"]][:limit]
        return [pick_fields(x, params.get("fields")) for x in labels]

    @staticmethod
    def _limit(params: dict[str, Any], *, default: int, least: int) -> int:
        try:
            limit = int(params.get("limit", default))
        except ValueError:
            raise TrelloReply(400, "invalid value for limit") from None
        if not least <= limit <= 1000:
            raise TrelloReply(400, "invalid value for limit")
        return limit

    def _new_label(self, board_id: str, params: dict[str, Any]) -> dict[str, Any]:
        name = params.get("name")
        if name is None:
            raise TrelloReply(400, "invalid value for name")
        color = params.get("color")
        if color in ("", "null"):
            color = None
        if color is not None and color not in LABEL_COLORS:
            raise TrelloReply(400, "invalid value for color")
        label = self.add_label(board_id, str(name), color)
        return label

    def _post_label(self, grant: dict[str, Any], params: dict[str, Any], path: dict[str, str]) -> Any:
        board = self._board(grant, path["id"], write=True)
        return self._new_label(board["id"], params)

    def _get_board_cards(self, grant: dict[str, Any], params: dict[str, Any], path: dict[str, str]) -> Any:
        board = self._board(grant, path["id"])
        filt = path.get("filter") or params.get("filter", "visible")
        if filt not in ("all", "closed", "complete", "incomplete", "none", "open", "visible"):
            raise TrelloReply(400, "invalid value for filter")
        cards = [c for c in self._cards.values() if c["idBoard"] == board["id"]]
        if filt in ("open", "visible"):
            cards = [c for c in cards if not c["closed"]]
        elif filt == "closed":
            cards = [c for c in cards if c["closed"]]
        elif filt == "complete":
            cards = [c for c in cards if c["dueComplete"]]
        elif filt == "incomplete":
            cards = [c for c in cards if not c["dueComplete"]]
        elif filt == "none":
            cards = []
        limit = self._limit(params, default=1000, least=1)
        before = params.get("before")
        if before:
            cards = [c for c in cards if c["id"] < before]
        # At most `limit` cards, the newest first; `before=<oldest id seen>` gives the next page.
        cards = sorted(cards, key=lambda c: c["id"])[-limit:]
        cards.sort(key=lambda c: (self.lists[c["idList"]]["pos"], c["pos"]))
        return [pick_fields(self._card_json(c), params.get("fields")) for c in cards]

    def _get_memberships(self, grant: dict[str, Any], params: dict[str, Any], path: dict[str, str]) -> Any:
        board = self._board(grant, path["id"])
        return deepcopy(board["memberships"])

    def _get_list(self, grant: dict[str, Any], params: dict[str, Any], path: dict[str, str]) -> Any:
        item = self.lists.get(path["id"])
        if item is None:
            raise TrelloReply(404, NOT_FOUND)
        self._board(grant, item["idBoard"])
        return pick_fields(item, params.get("fields"))

    def _get_list_cards(self, grant: dict[str, Any], params: dict[str, Any], path: dict[str, str]) -> Any:
        item = self.lists.get(path["id"])
        if item is None:
            raise TrelloReply(404, NOT_FOUND)
        self._board(grant, item["idBoard"])
        cards = sorted(
            (c for c in self._cards.values() if c["idList"] == item["id"] and not c["closed"]), key=lambda c: c["pos"]
        )
        return [pick_fields(self._card_json(c), params.get("fields")) for c in cards]

    # -- handlers: cards ---------------------------------------------------------------------
    def _place(self, card: dict[str, Any], old_list: str | None) -> None:
        """Keep ``_positions`` in step with a card whose list or pos may have changed."""
        if old_list and old_list != card["idList"]:
            self._positions.get(old_list, {}).pop(card["id"], None)
        self._positions.setdefault(card["idList"], {})[card["id"]] = card["pos"]

    def _position(self, list_id: str, value: Any, card_id: str | None) -> float:
        here = self._positions.get(list_id, {})
        siblings = [p for c, p in here.items() if c != card_id] if card_id in here else list(here.values())
        if value == "top":
            return min(siblings) / 2 if siblings else 65535.0
        if value == "bottom" or value is None:
            return max(siblings, default=0.0) + 65535.0
        try:
            number = float(value)
        except (TypeError, ValueError):
            raise TrelloReply(400, "invalid value for pos") from None
        if number < 0:
            raise TrelloReply(400, "invalid value for pos")
        return number

    def _apply(self, card: dict[str, Any], params: dict[str, Any], *, creating: bool) -> None:
        """Validate every field first, then write them all: a bad value changes nothing."""
        changes: dict[str, Any] = {}
        for text_field in ("name", "desc"):
            if text_field in params and params[text_field] is not None:
                value = params[text_field]
                if not isinstance(value, str) or len(value) > 16384:
                    raise TrelloReply(400, f"invalid value for {text_field}")
                changes[text_field] = value
        if "idList" in params or creating:
            list_id = params.get("idList")
            target = self.lists.get(str(list_id)) if list_id else None
            if target is None or (not creating and target["idBoard"] != card["idBoard"] and "idBoard" not in params):
                raise TrelloReply(400, "invalid value for idList")
            changes["idList"] = target["id"]
            changes["idBoard"] = target["idBoard"]
        board_id = changes.get("idBoard", card.get("idBoard"))
        if "idLabels" in params:
            ids = id_list(params["idLabels"], "idLabels")
            if any(i not in self.labels or self.labels[i]["idBoard"] != board_id for i in ids):
                raise TrelloReply(400, "invalid value for idLabels")
            changes["idLabels"] = list(dict.fromkeys(ids))
        if "idMembers" in params:
            changes["idMembers"] = id_list(params["idMembers"], "idMembers")
        for time_field in ("due", "start"):
            if time_field in params:
                changes[time_field] = as_time(params[time_field], time_field)
        for flag in ("dueComplete", "closed", "subscribed"):
            if flag in params and params[flag] is not None:
                changes[flag] = as_bool(params[flag], flag)
        list_id = str(changes.get("idList", card.get("idList")))
        if "pos" in params or creating or changes.get("idList") not in (None, card.get("idList")):
            changes["pos"] = self._position(list_id, params.get("pos", "bottom"), card.get("id"))
        old_list = card.get("idList")
        card.update(changes)
        self._place(card, old_list)
        card["dateLastActivity"] = self._timestamp()

    def _post_card(self, grant: dict[str, Any], params: dict[str, Any], path: dict[str, str]) -> Any:
        list_id = params.get("idList")
        if not list_id or not TRELLO_ID.match(str(list_id)) or str(list_id) not in self.lists:
            raise TrelloReply(400, "invalid value for idList")
        self._board(grant, self.lists[str(list_id)]["idBoard"], write=True)
        card_id = self._new_id()
        short = self._short_link(card_id)
        card: dict[str, Any] = {
            "id": card_id,
            "badges": {
                "attachments": 0,
                "checkItems": 0,
                "checkItemsChecked": 0,
                "comments": 0,
                "description": False,
                "due": None,
                "start": None,
                "dueComplete": False,
                "subscribed": False,
                "viewingMemberVoted": False,
                "votes": 0,
            },
            "checkItemStates": [],
            "closed": False,
            "dueComplete": False,
            "dateLastActivity": self._timestamp(),
            "desc": "",
            "descData": {"emoji": {}},
            "due": None,
            "dueReminder": None,
            "idBoard": "",
            "idChecklists": [],
            "idList": "",
            "idMembers": [],
            "idMembersVoted": [],
            "idShort": 0,
            "idAttachmentCover": None,
            "idLabels": [],
            "manualCoverAttachment": False,
            "name": "",
            "pos": 0.0,
            "shortLink": short,
            "shortUrl": f"https://trello.com/c/{short}",
            "start": None,
            "subscribed": False,
            "url": f"https://trello.com/c/{short}",
            "cover": {"idAttachment": None, "color": None, "size": "normal"},
        }
        self._apply(card, params, creating=True)
        self._short_ids[card["idBoard"]] += 1
        card["idShort"] = self._short_ids[card["idBoard"]]
        slug = re.sub(r"[^a-z0-9]+", "-", card["name"].lower()).strip("-")[:60]
        card["url"] = f"https://trello.com/c/{short}/{card['idShort']}-{slug}"
        self._cards[card_id] = card
        return self._card_json(card)

    def _get_card(self, grant: dict[str, Any], params: dict[str, Any], path: dict[str, str]) -> Any:
        return pick_fields(self._card_json(self._card(grant, path["id"])), params.get("fields"))

    def _put_card(self, grant: dict[str, Any], params: dict[str, Any], path: dict[str, str]) -> Any:
        card = self._card(grant, path["id"], write=True)
        self._apply(card, params, creating=False)
        return self._card_json(card)

    def _delete_card(self, grant: dict[str, Any], params: dict[str, Any], path: dict[str, str]) -> Any:
        card = self._card(grant, path["id"], write=True)
        del self._cards[card["id"]]
        self._positions.get(card["idList"], {}).pop(card["id"], None)
        for checklist_id in [c["id"] for c in self.checklists.values() if c["idCard"] == card["id"]]:
            del self.checklists[checklist_id]
        return {"limits": {}}

    def _put_card_field(self, grant: dict[str, Any], params: dict[str, Any], path: dict[str, str]) -> Any:
        card = self._card(grant, path["id"], write=True)
        field = path["field"]
        if field not in (
            "name",
            "desc",
            "closed",
            "idList",
            "due",
            "start",
            "dueComplete",
            "pos",
            "subscribed",
            "idLabels",
            "idMembers",
            "dueReminder",
        ):
            raise TrelloReply(404, f"Cannot PUT /1/cards/{path['id']}/{field}")
        if field == "dueReminder":
            card["dueReminder"] = params.get("value")
        else:
            self._apply(card, {field: params.get("value")}, creating=False)
        return self._card_json(card)

    def _post_card_label_id(self, grant: dict[str, Any], params: dict[str, Any], path: dict[str, str]) -> Any:
        card = self._card(grant, path["id"], write=True)
        label_id = str(params.get("value", ""))
        label = self.labels.get(label_id)
        if label is None or label["idBoard"] != card["idBoard"]:
            raise TrelloReply(400, "invalid value for value")
        if label_id in card["idLabels"]:
            raise TrelloReply(400, "that label is already on the card")
        card["idLabels"].append(label_id)
        return list(card["idLabels"])

    def _delete_card_label(self, grant: dict[str, Any], params: dict[str, Any], path: dict[str, str]) -> Any:
        card = self._card(grant, path["id"], write=True)
        if path["idLabel"] not in card["idLabels"]:
            raise TrelloReply(400, "invalid value for idLabel")
        card["idLabels"].remove(path["idLabel"])
        return {"limits": {}}

    def _post_card_label(self, grant: dict[str, Any], params: dict[str, Any], path: dict[str, str]) -> Any:
        card = self._card(grant, path["id"], write=True)
        label = self._new_label(card["idBoard"], params)
        card["idLabels"].append(label["id"])
        return list(card["idLabels"])


class _RateLimited(Exception):
    def __init__(self, code: str) -> None:
        super().__init__(code)
        self.code = code
