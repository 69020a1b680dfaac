"""A stateful Slack Web API emulator that slack-sdk's ``WebClient`` talks to.

It covers what the connector uses: ``auth.test``, ``chat.postMessage``/``update``/``delete``,
``conversations.info``/``history``/``list`` and ``users.lookupByEmail``, and answers like
Slack: every method under ``/api/<method>``, GET or POST, with its arguments in the query,
a form body or a JSON body; the token as ``Authorization: Bearer`` (or a ``token``
argument); errors as HTTP 200 ``{"ok": false, "error": ...}``; 429 ``ratelimited`` with
``Retry-After``; channel membership; message metadata (returned only with
``include_all_metadata``); threads; cursor pagination.

Use it from Python::

    emu = SlackEmulator().start()
    channel = emu.add_channel("releases")            # the bot is a member
    emu.add_user("ada@example.com", "Ada")
    WebClient(token=emu.token, base_url=emu.api_url).chat_postMessage(channel=channel, text="hi")
    emu.messages(channel)                            # newest last
"""

from __future__ import annotations

import base64
import json
import math
import threading
from typing import Any
from urllib.parse import parse_qsl

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from notion_sync.sdk import ControlRoute, Faults, ServiceEmulator

from .models import APP_ID, DEFAULT_SCOPES, MAX_TEXT, TEAM_ID, TEAM_NAME, EmuChannel, EmuMessage, EmuUser

__all__ = ["SlackEmulator"]


class _OkFalseError(Exception):
    def __init__(self, code: str, **extra: Any) -> None:
        super().__init__(code)
        self.code = code
        self.extra = extra


def _flag(value: Any) -> bool:
    return value is True or str(value).lower() in ("1", "true")


class SlackEmulator(ServiceEmulator):
    """One emulated workspace with one bot, served on 127.0.0.1."""

    service_name = "slack"

    def __init__(
        self,
        *,
        token: str = "xoxb-emulated-0000-bot-token",
        bot_name: str = "notion-sync",
        scopes: str = DEFAULT_SCOPES,
        faults: Faults | None = None,
    ) -> None:
        self.token = token
        self.bot = EmuUser("U0EMUBOT01", bot_name, "", real_name="notion-sync", is_bot=True)
        self.bot_id = "B0EMUBOT01"
        self.scopes = scopes
        self.revoked: set[str] = set()
        self.channels: dict[str, EmuChannel] = {}
        self.users: dict[str, EmuUser] = {}
        self.errors: list[tuple[str, str, int]] = []
        """Scheduled ok:false answers: (method, error code, count)."""
        self.lost_answers: dict[str, int] = {}
        """Methods whose next calls are carried out but answered with a 500 (a lost answer)."""
        self._lock = threading.RLock()
        self._last_ts = 0.0
        self._ids = 0
        super().__init__(
            Starlette(routes=[Route("/api/{method}", self._handle, methods=["GET", "POST"])]), faults=faults
        )

    @property
    def api_url(self) -> str:
        """The ``base_url`` to give ``WebClient`` (ends with ``/api/``)."""
        return f"{self.base_url}/api/"

    # -- seeding and reading --------------------------------------------------------
    def _new_id(self, prefix: str) -> str:
        self._ids += 1
        return f"{prefix}0EMU{self._ids:06d}"

    def add_channel(self, name: str, *, member: bool = True, private: bool = False, archived: bool = False) -> str:
        """Create a channel; returns its id."""
        with self._lock:
            channel = EmuChannel(
                self._new_id("G" if private else "C"),
                name.lstrip("#"),
                private,
                archived,
                member,
                created=int(self.clock.timestamp()),
            )
            self.channels[channel.id] = channel
            return channel.id

    def add_user(self, email: str, name: str, real_name: str = "") -> str:
        """Add a member who can be found by email; returns the user id."""
        with self._lock:
            user = EmuUser(self._new_id("U"), name, email, real_name or name)
            self.users[user.id] = user
            return user.id

    def reset(self) -> None:
        """Forget every channel, user, scheduled error and fault; count requests from zero."""
        with self._lock:
            self.channels.clear()
            self.users.clear()
            self.errors.clear()
            self.lost_answers.clear()
            self.revoked.clear()
            self.scopes = DEFAULT_SCOPES
            self.reset_server()

    def set_member(self, channel: str, member: bool) -> None:
        """Invite the bot to, or remove it from, a channel."""
        self.channels[channel].bot_member = member

    def fail_next(self, method: str, error: str, count: int = 1) -> None:
        """Answer the next ``count`` calls of ``method`` with ``{"ok": false, "error": error}``."""
        with self._lock:
            self.errors.append((method, error, count))

    def lose_next_answer(self, method: str, count: int = 1) -> None:
        """Carry out the next ``count`` calls of ``method`` but answer them with a 500."""
        with self._lock:
            self.lost_answers[method] = self.lost_answers.get(method, 0) + count

    def messages(self, channel: str) -> list[EmuMessage]:
        """Top-level messages of a channel, oldest first (thread replies left out)."""
        with self._lock:
            return [m for m in self.channels[channel].messages if m.thread_ts is None or m.thread_ts == m.ts]

    def replies(self, channel: str, ts: str) -> list[EmuMessage]:
        """The thread replies under a message, oldest first."""
        with self._lock:
            return [m for m in self.channels[channel].messages if m.thread_ts == ts and m.ts != ts]

    def channel_id(self, name: str) -> str:
        """The id of a channel by name."""
        for channel in self.channels.values():
            if channel.name == name.lstrip("#"):
                return channel.id
        raise KeyError(name)

    # -- control API (docs/emulators.md) --------------------------------------------
    def control_routes(self) -> list[ControlRoute]:
        """Act as a workspace member over HTTP: list channels and messages, revoke the token,
        remove the bot from a channel."""

        def channel(raw: str) -> str:
            if raw in self.channels:
                return raw
            return self.channel_id(raw.lstrip("#"))

        def channels(body: dict[str, Any]) -> dict[str, Any]:
            with self._lock:
                return {
                    "channels": [
                        {"id": c.id, "name": c.name, "is_private": c.is_private, "is_member": c.bot_member}
                        for c in self.channels.values()
                    ]
                }

        def messages(body: dict[str, Any], raw: str) -> dict[str, Any]:
            found = channel(raw)
            return {"messages": [m.to_api(with_metadata=True) for m in self.messages(found)]}

        def revoke(body: dict[str, Any]) -> None:
            with self._lock:
                self.revoked.add(self.token)

        def leave(body: dict[str, Any], raw: str) -> None:
            self.set_member(channel(raw), False)

        def join(body: dict[str, Any], raw: str) -> None:
            self.set_member(channel(raw), True)

        return [
            ControlRoute("GET", "channels", channels, "channels and whether the bot is in them"),
            ControlRoute("GET", "channels/{channel}/messages", messages, "a channel's messages, oldest first"),
            ControlRoute("POST", "channels/{channel}/remove_bot", leave, "remove the bot: not_in_channel after"),
            ControlRoute("POST", "channels/{channel}/invite_bot", join, "invite the bot again"),
            ControlRoute("POST", "tokens/revoke", revoke, "revoke the bot token: token_revoked after"),
        ]

    # -- HTTP -----------------------------------------------------------------------
    def fault_response(self, status: int, request: Request) -> Response:
        """Slack's own answer to an injected status."""
        if status == 429:
            after = self.faults.retry_after
            headers = {"Retry-After": str(max(0, math.ceil(after)))} if after is not None else None
            return JSONResponse({"ok": False, "error": "ratelimited"}, status_code=429, headers=headers)
        if status >= 500:
            return JSONResponse({"ok": False, "error": "fatal_error"}, status_code=status)
        return JSONResponse({"ok": False, "error": "invalid_request"}, status_code=status)

    async def _args(self, request: Request) -> dict[str, Any]:
        args: dict[str, Any] = dict(request.query_params)
        kind = request.headers.get("content-type", "")
        if request.method == "POST":
            if kind.startswith("application/json"):
                body = await request.body()
                try:
                    data = json.loads(body or b"{}")
                except json.JSONDecodeError:
                    raise _OkFalseError("invalid_json") from None
                if not isinstance(data, dict):
                    raise _OkFalseError("json_not_object")
                args.update(data)
            elif kind.startswith("application/x-www-form-urlencoded"):
                # Parsed by hand: Starlette's form parser needs python-multipart, not a dependency.
                form = (await request.body()).decode("utf-8", errors="replace")
                args.update(parse_qsl(form, keep_blank_values=True))
            elif await request.body():
                raise _OkFalseError("invalid_form_data")
        return args

    def _auth(self, request: Request, args: dict[str, Any]) -> None:
        header = request.headers.get("authorization", "")
        token = header[7:].strip() if header.lower().startswith("bearer ") else str(args.pop("token", "") or "")
        if not token:
            raise _OkFalseError("not_authed")
        if token in self.revoked:
            raise _OkFalseError("token_revoked")
        if token != self.token:
            raise _OkFalseError("invalid_auth")

    async def _handle(self, request: Request) -> Response:
        method = request.path_params["method"]
        headers = {"x-oauth-scopes": self.scopes, "x-accepted-oauth-scopes": ""}
        try:
            args = await self._args(request)
            self._auth(request, args)
            with self._lock:
                for i, (name, code, count) in enumerate(self.errors):
                    if name == method:
                        self.errors[i] = (name, code, count - 1)
                        if count <= 1:
                            del self.errors[i]
                        raise _OkFalseError(code)
                handler = getattr(self, "_m_" + method.replace(".", "_"), None)
                if handler is None:
                    raise _OkFalseError("unknown_method")
                body = handler(args)
                if self.lost_answers.get(method, 0) > 0:
                    self.lost_answers[method] -= 1
                    return JSONResponse({"ok": False, "error": "fatal_error"}, status_code=500)
        except _OkFalseError as fail:
            return JSONResponse({"ok": False, "error": fail.code, **fail.extra}, headers=headers)
        return JSONResponse({"ok": True, **body}, headers=headers)

    # -- helpers ----------------------------------------------------------------------
    def _next_ts(self) -> str:
        # A ts names one message: a frozen clock must still give each message its own.
        now = max(self.clock.timestamp(), self._last_ts + 0.000001)
        self._last_ts = now
        return f"{now:.6f}"

    def _channel(self, args: dict[str, Any], *, write: bool = False, read: bool = False) -> EmuChannel:
        ref = str(args.get("channel") or "")
        if not ref:
            raise _OkFalseError("channel_not_found")
        channel = self.channels.get(ref)
        if channel is None and ref.startswith("#"):
            channel = next((c for c in self.channels.values() if c.name == ref[1:]), None)
        if channel is None or (channel.is_private and not channel.bot_member):
            raise _OkFalseError("channel_not_found")
        if write and channel.is_archived:
            raise _OkFalseError("is_archived")
        if (write or read) and not channel.bot_member:
            raise _OkFalseError("not_in_channel")
        return channel

    @staticmethod
    def _json_arg(args: dict[str, Any], name: str, error: str) -> Any:
        """An argument that may come JSON-encoded (form bodies) or as JSON already (JSON bodies)."""
        value = args.get(name)
        if isinstance(value, str):
            try:
                return json.loads(value)
            except json.JSONDecodeError:
                raise _OkFalseError(error) from None
        return value

    @classmethod
    def _blocks(cls, args: dict[str, Any]) -> list[dict[str, Any]] | None:
        blocks = cls._json_arg(args, "blocks", "invalid_blocks_format")
        if blocks is None:
            return None
        if not isinstance(blocks, list) or not all(isinstance(b, dict) and "type" in b for b in blocks):
            raise _OkFalseError("invalid_blocks_format")
        if len(blocks) > 50:
            raise _OkFalseError("invalid_blocks")
        return blocks

    @classmethod
    def _metadata(cls, args: dict[str, Any]) -> dict[str, Any] | None:
        meta = cls._json_arg(args, "metadata", "invalid_metadata_format")
        if meta is None:
            return None
        if meta == []:
            return {}
        if (
            not isinstance(meta, dict)
            or not isinstance(meta.get("event_type"), str)
            or not isinstance(meta.get("event_payload", {}), dict)
        ):
            raise _OkFalseError("invalid_metadata_format")
        if len(json.dumps(meta)) > 8000:
            raise _OkFalseError("metadata_too_large")
        return {"event_type": meta["event_type"], "event_payload": meta.get("event_payload", {})}

    @staticmethod
    def _text(args: dict[str, Any], blocks: list[dict[str, Any]] | None) -> str:
        text = args.get("text")
        text = "" if text is None else str(text)
        if not text.strip() and not blocks:
            raise _OkFalseError("no_text")
        # Slack cuts longer text rather than refusing it.
        return text[:MAX_TEXT]

    # -- methods ------------------------------------------------------------------------
    def _m_auth_test(self, args: dict[str, Any]) -> dict[str, Any]:
        return {
            "url": "https://emulated.slack.com/",
            "team": TEAM_NAME,
            "user": self.bot.name,
            "team_id": TEAM_ID,
            "user_id": self.bot.id,
            "bot_id": self.bot_id,
            "is_enterprise_install": False,
        }

    def _m_chat_postMessage(self, args: dict[str, Any]) -> dict[str, Any]:  # noqa: N802 - Slack's name
        channel = self._channel(args, write=True)
        blocks = self._blocks(args)
        message = EmuMessage(
            self._next_ts(), self.bot.id, self._text(args, blocks), self.bot_id, blocks, self._metadata(args) or None
        )
        message.bot_profile = self._bot_profile()
        thread_ts = args.get("thread_ts")
        if thread_ts:
            parent = channel.find(str(thread_ts))
            if parent is not None and parent.thread_ts not in (None, parent.ts):
                parent = channel.find(parent.thread_ts)  # replying to a reply joins its thread
            if parent is not None:
                parent.thread_ts = parent.ts
                parent.replies.append(message.ts)
                message.thread_ts = parent.ts
            else:
                message.thread_ts = str(thread_ts)
        channel.messages.append(message)
        return {"channel": channel.id, "ts": message.ts, "message": message.to_api()}

    def _bot_profile(self) -> dict[str, Any]:
        icon = "https://a.slack-edge.com/80588/img/plugins/app/bot_{}.png"
        return {
            "id": self.bot_id,
            "deleted": False,
            "name": self.bot.name,
            "updated": int(self.clock.timestamp()),
            "app_id": APP_ID,
            "icons": {f"image_{n}": icon.format(n) for n in (36, 48, 72)},
            "team_id": TEAM_ID,
        }

    def _own_message(self, args: dict[str, Any], not_ours: str) -> tuple[EmuChannel, EmuMessage]:
        """The bot's message at ``ts`` in ``channel``: only its own can be changed."""
        channel = self._channel(args, write=True)
        message = channel.find(str(args.get("ts") or ""))
        if message is None:
            raise _OkFalseError("message_not_found")
        if message.user != self.bot.id:
            raise _OkFalseError(not_ours)
        return channel, message

    def _m_chat_update(self, args: dict[str, Any]) -> dict[str, Any]:
        channel, message = self._own_message(args, "cant_update_message")
        blocks = self._blocks(args)
        if "text" in args or blocks is not None:
            message.text = self._text(args, blocks if blocks is not None else message.blocks)
        if blocks is not None:
            # An empty array removes the blocks; leaving the argument out keeps them.
            message.blocks = blocks or None
        metadata = self._metadata(args)
        if metadata is not None:
            message.metadata = metadata or None
        message.edited = self._next_ts()
        shown = message.to_api()
        for key in ("ts", "thread_ts", "reply_count", "reply_users_count", "latest_reply", "reply_users"):
            shown.pop(key, None)  # chat.update's "message" leaves these out, as recorded by Slack's docs
        return {"channel": channel.id, "ts": message.ts, "text": message.text, "message": shown}

    def _m_chat_delete(self, args: dict[str, Any]) -> dict[str, Any]:
        channel, message = self._own_message(args, "cant_delete_message")
        channel.messages.remove(message)
        return {"channel": channel.id, "ts": message.ts}

    def _m_conversations_info(self, args: dict[str, Any]) -> dict[str, Any]:
        return {"channel": self._channel(args).to_api()}

    @staticmethod
    def _page(args: dict[str, Any], default: int, most: int) -> tuple[int, int]:
        try:
            limit = int(args.get("limit") or default)
        except ValueError:
            raise _OkFalseError("invalid_limit") from None
        limit = max(1, min(limit, most))
        cursor = str(args.get("cursor") or "")
        offset = 0
        if cursor:
            try:
                offset = int(base64.b64decode(cursor).decode().split(":", 1)[1])
            except (ValueError, IndexError, UnicodeDecodeError):
                raise _OkFalseError("invalid_cursor") from None
        return offset, limit

    @staticmethod
    def _cursor(offset: int) -> str:
        return base64.b64encode(f"next:{offset}".encode()).decode()

    def _m_conversations_history(self, args: dict[str, Any]) -> dict[str, Any]:
        channel = self._channel(args, read=True)
        offset, limit = self._page(args, 100, 999)
        with_meta = _flag(args.get("include_all_metadata"))
        newest_first = [m for m in reversed(channel.messages) if m.thread_ts in (None, m.ts)]
        # inclusive: oldest and latest themselves are included (https://docs.slack.dev/reference/methods/conversations.history)
        inclusive = _flag(args.get("inclusive"))
        if args.get("oldest"):
            oldest = float(args["oldest"])
            newest_first = [m for m in newest_first if float(m.ts) > oldest or (inclusive and float(m.ts) == oldest)]
        if args.get("latest"):
            latest = float(args["latest"])
            newest_first = [m for m in newest_first if float(m.ts) < latest or (inclusive and float(m.ts) == latest)]
        page = newest_first[offset : offset + limit]
        has_more = offset + limit < len(newest_first)
        body: dict[str, Any] = {
            "messages": [m.to_api(with_metadata=with_meta) for m in page],
            "has_more": has_more,
            "pin_count": 0,
            "channel_actions_ts": None,
            "channel_actions_count": 0,
        }
        if has_more:
            body["response_metadata"] = {"next_cursor": self._cursor(offset + limit)}
        return body

    def _m_conversations_list(self, args: dict[str, Any]) -> dict[str, Any]:
        offset, limit = self._page(args, 100, 1000)
        types = str(args.get("types") or "public_channel").split(",")
        found = [
            c
            for c in self.channels.values()
            if ("private_channel" in types if c.is_private else "public_channel" in types)
            and not (c.is_private and not c.bot_member)
            and not (_flag(args.get("exclude_archived")) and c.is_archived)
        ]
        page = found[offset : offset + limit]
        more = offset + limit < len(found)
        return {
            "channels": [c.to_api() for c in page],
            "response_metadata": {"next_cursor": self._cursor(offset + limit) if more else ""},
        }

    def _m_users_lookupByEmail(self, args: dict[str, Any]) -> dict[str, Any]:  # noqa: N802 - Slack's name
        if "users:read.email" not in self.scopes.split(","):
            raise _OkFalseError("missing_scope", needed="users:read.email", provided=self.scopes)
        email = str(args.get("email") or "").lower()
        for user in self.users.values():
            if user.email.lower() == email:
                return {
                    "user": {
                        "id": user.id,
                        "team_id": TEAM_ID,
                        "name": user.name,
                        "deleted": False,
                        "real_name": user.real_name,
                        "is_bot": False,
                        "is_app_user": False,
                        "updated": 1700000000,
                        "profile": {
                            "email": user.email,
                            "real_name": user.real_name,
                            "display_name": user.name,
                            "real_name_normalized": user.real_name,
                            "display_name_normalized": user.name,
                            "team": TEAM_ID,
                            "avatar_hash": "",
                            "title": "",
                            "phone": "",
                            "skype": "",
                            "status_text": "",
                            "status_emoji": "",
                            "status_expiration": 0,
                            "fields": None,
                        },
                    }
                }
        raise _OkFalseError("users_not_found")
