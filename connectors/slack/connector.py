"""The Slack connector: Notion rows as Slack messages, in ``mirror`` or ``notify`` mode.

**mirror**: one message per row, edited in place (``chat.update``) when the row's
rendered message changes; on_delete ``delete`` (default), ``strike`` or ``keep``.

**notify**: one message when a row enters the mapping; a threaded reply when a
``notify_on`` property changes ("*Status*: In progress → Done"). The payload the core
hashes holds only the watched values, so a change to anything else writes nothing.
``render`` keeps the rendered message in memory for ``create`` (same run, same
instance); the payload could not carry it without turning every edit into an update.

Exactly once: every message carries metadata ``{"event_type": "notion_sync_row",
"event_payload": {"mapping": ..., "page_id": ...}}``; ``recover`` finds messages by it
through ``conversations.history(include_all_metadata=true)``, read newest first,
lazily, at most ``recover_max_messages`` per channel and run. A post whose answer was
lost (network error, 5xx) is looked up the same way before it is tried again.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from http.client import HTTPException
from typing import Any, TypeVar
from urllib.error import URLError

from slack_sdk import WebClient
from slack_sdk.errors import SlackApiError

from notion_sync.sdk import (
    AccessError,
    CheckResult,
    ConfigError,
    Connector,
    DesiredItem,
    EmulatedTarget,
    ExternalRef,
    FatalError,
    Link,
    MappingContext,
    NotionSyncError,
    Pace,
    Row,
    Secret,
    Starter,
    call_with_retry,
    pace_key,
)

from . import checks, mrkdwn, spec
from .client import build_client
from .errors import ErrorContext, SlackItemError, classify
from .markers import marker, normalize_page_id, parse_marker, watched_values
from .render import Message, change_reply, render_message, render_watch
from .settings import CHANNEL_ID, SlackMapping, SlackSettings
from .settings import starter as settings_starter

__all__ = ["Channel", "SlackConnector"]

log = logging.getLogger(__name__)
T = TypeVar("T")

REMOVED_NOTE = "_Removed from Notion_"
HISTORY_PAGE = 200
"""Slack recommends at most 200 per page for conversations.history and conversations.list."""


@dataclass(frozen=True)
class Channel:
    """A mapping's channel: its id, how the user named it, and how messages show it."""

    id: str
    label: str


@dataclass
class _History:
    """What has been read of a channel's history this run: our messages, newest first."""

    found: dict[tuple[str, str], tuple[str, bool]] = field(default_factory=dict)
    """(mapping, page id) -> (ts, struck)."""
    messages: dict[tuple[str, str], dict[str, Any]] = field(default_factory=dict)
    """(mapping, page id) -> the message as history returned it (dropped once this run edits it)."""
    cursor: str = ""
    started: bool = False
    done: bool = False
    scanned: int = 0


class SlackConnector(Connector[SlackSettings, SlackMapping]):
    """Writes Notion rows to a Slack channel as messages (mirror) or notifications (notify)."""

    name = spec.name
    summary = spec.summary
    Settings = spec.Settings
    MappingSettings = spec.MappingSettings
    on_delete_modes = spec.on_delete_modes

    @classmethod
    def default_on_delete(cls, settings: SlackMapping) -> str:
        """A notification is history: notify mappings keep their messages unless told otherwise."""
        return "keep" if settings.mode == "notify" else "delete"

    @classmethod
    def notion_capabilities(cls, settings: SlackMapping) -> set[str]:
        """Mentions need people's emails: the integration's "Read user information including email"."""
        return {"read_content", "read_user_email"} if settings.mention_people else {"read_content"}

    batch_size = 1

    def __init__(self, settings: SlackSettings) -> None:
        super().__init__(settings)
        self._client: WebClient | None = None
        self._identity: dict[str, Any] | None = None
        self._channels: dict[str, Channel] = {}
        self._users: dict[str, str | None] = {}
        self._mentions_off = False
        self._messages: dict[tuple[str, str], Message] = {}
        self._history: dict[str, _History] = {}

    # -- pacing -------------------------------------------------------------------
    @property
    def _post_pacer(self) -> Pace:
        # 1 post per 1.1 s per channel: 10% below Slack's 1 per second, since Slack's clock and
        # ours see each post at slightly different moments (exactly 1 s apart is over it now and then).
        return self.pacers.pacer("slack-channel", 1, 1.1, scale=self.settings.pacing_scale)

    @property
    def _edit_pacer(self) -> Pace:
        # chat.update and chat.delete are Tier 3: about 50 a minute per workspace.
        return self.pacers.pacer("slack-method", 50, 60.0, scale=self.settings.pacing_scale)

    def _pace_key(self, what: str) -> str:
        """A channel or a method, per workspace: keyed on the token's hash, never the token."""
        return pace_key(Secret(self.client.token or ""), what)

    # -- client and identity -----------------------------------------------------
    @property
    def client(self) -> WebClient:
        """The slack-sdk client, built on first use."""
        if self._client is None:
            self._client = build_client(self.settings)
        return self._client

    def _call(self, fn: Callable[[], T], what: str, channel: Channel | None = None) -> T:
        context = ErrorContext(what, channel.label if channel else "", self._bot_name())
        return call_with_retry(fn, classify=lambda exc: classify(exc, context), what=what, policy=self.retry_policy)

    def _bot_name(self) -> str:
        return str((self._identity or {}).get("user") or "")

    def identity(self) -> dict[str, Any]:
        """``auth.test``'s answer (team, bot user and bot id), read once per run."""
        if self._identity is None:
            response = self._call(lambda: self.client.auth_test(), "auth.test")
            self._identity = dict(response.data) if isinstance(response.data, dict) else {}
            self._identity["scopes"] = str(response.headers.get("x-oauth-scopes", "") or "")
        return self._identity

    # -- channels ---------------------------------------------------------------
    def resolve_channel(self, setting: str) -> Channel:
        """The channel a mapping's ``channel`` names (a name is looked up once per run)."""
        if setting in self._channels:
            return self._channels[setting]
        if CHANNEL_ID.match(setting):
            channel = Channel(setting, setting)
        else:
            name = setting.lstrip("#").lower()
            found = None
            cursor = ""
            while found is None:
                response = self._call(
                    lambda cursor=cursor: self.client.conversations_list(  # type: ignore[misc]
                        types="public_channel", exclude_archived=True, limit=HISTORY_PAGE, cursor=cursor or None
                    ),
                    "conversations.list",
                )
                for item in response.get("channels") or []:
                    if str(item.get("name", "")).lower() == name:
                        found = str(item["id"])
                        break
                cursor = str((response.get("response_metadata") or {}).get("next_cursor") or "")
                if not cursor:
                    break
            if found is None:
                raise ConfigError(
                    f"slack channel {setting}: no public channel of that name (archived channels are left out); "
                    "check the mapping's channel, or give a private channel's id (C…) and invite the bot"
                )
            channel = Channel(found, f"#{name}")
        self._channels[setting] = channel
        return channel

    def channel_info(self, channel: Channel) -> dict[str, Any] | None:
        """conversations.info, or None when the token may not read it (private, no groups:read)."""
        try:
            response = self._call(
                lambda: self.client.conversations_info(channel=channel.id), "conversations.info", channel
            )
        except AccessError as exc:
            if "scope" in str(exc):
                log.warning(
                    "slack channel %s: cannot read its details (%s); membership not checked", channel.label, exc
                )
                return None
            raise
        info = response.get("channel") or {}
        if channel.label == channel.id and info.get("name"):
            label = f"#{info['name']}"
            channel = Channel(channel.id, label)
            for key, value in list(self._channels.items()):
                if value.id == channel.id:
                    self._channels[key] = channel
        return dict(info)

    def invite_fix(self, channel: Channel) -> str:
        """What to type in Slack to invite the bot to ``channel``."""
        return f"in Slack, open {channel.label} and type: /invite @{self._bot_name() or '<your bot>'}"

    def channel_and_info(self, setting: str) -> tuple[Channel, dict[str, Any] | None]:
        """The mapping's channel (labelled by its name once known) and its conversations.info."""
        info = self.channel_info(self.resolve_channel(setting))
        return self._channels[setting], info

    def prepare(self, mapping: MappingContext[SlackMapping]) -> None:
        """Check the token, resolve each channel (every routed one) once and make sure the bot can
        post there."""
        self.identity()
        for setting in mapping.settings.routed_channels:
            channel, info = self.channel_and_info(setting)
            if info is None:
                continue
            if info.get("is_archived"):
                raise ConfigError(f"slack channel {channel.label} is archived; unarchive it or choose another channel")
            if info.get("is_member") is False:
                raise AccessError(f"slack channel {channel.label}: the bot is not a member; {self.invite_fix(channel)}")

    def _channel(self, mapping: MappingContext[SlackMapping], setting: str | None = None) -> Channel:
        """The channel ``setting`` names (by default the mapping's own), resolved."""
        setting = setting or mapping.settings.home_channel
        if setting not in self._channels:
            self.prepare(mapping)
        return self._channels[setting]

    def _channel_of(self, item: DesiredItem, mapping: MappingContext[SlackMapping]) -> Channel:
        """The channel an item goes to: the one its payload names (routed), else the mapping's."""
        named = item.payload.get("channel")
        if isinstance(named, str):
            known = next((c for c in self._channels.values() if c.id == named), None)
            if known is not None:
                return known
            if named in mapping.settings.routed_channels:
                return self._channel(mapping, named)
        return self._channel(mapping)

    @classmethod
    def route_of(cls, payload: dict[str, Any]) -> str | None:
        """A message's channel: an update that changes it is a move."""
        channel = payload.get("channel")
        return str(channel) if channel is not None else None

    # -- rendering --------------------------------------------------------------
    def render(self, row: Row, mapping: MappingContext[SlackMapping]) -> dict[str, Any]:
        """The payload the core hashes: the message (mirror) or the watched values (notify)."""
        settings = mapping.settings
        setting = settings.routing.pick(row)
        resolved = self._channels.get(setting)
        message = render_message(row, settings)
        if settings.mode == "notify":
            self._messages[(mapping.name, normalize_page_id(row.id))] = message
            watched: dict[str, Any] = {"notify_on": render_watch(row, settings)}
            if settings.channel_from is not None:
                watched["channel"] = resolved.id if resolved else setting
            return watched
        payload: dict[str, Any] = {"channel": resolved.id if resolved else setting, "text": message.text}
        if message.blocks is not None:
            payload["blocks"] = message.blocks
        return payload

    def _message_for(self, item: DesiredItem, mapping: MappingContext[SlackMapping]) -> Message:
        if mapping.settings.mode == "mirror" and "text" in item.payload:
            return Message(str(item.payload["text"]), item.payload.get("blocks"))
        kept = self._messages.pop((mapping.name, normalize_page_id(item.page_id)), None)
        return kept or Message(mrkdwn.escape(item.title) or "Untitled")

    # -- mentions ---------------------------------------------------------------
    def _user_id(self, email: str) -> str | None:
        key = mrkdwn.unescape(email).strip().lower()
        if self._mentions_off or not key:
            return None
        if key not in self._users:
            try:
                response = self._call(lambda: self.client.users_lookupByEmail(email=key), "users.lookupByEmail")
                self._users[key] = str((response.get("user") or {}).get("id") or "") or None
            except SlackItemError as exc:
                if exc.code != "users_not_found":
                    log.warning("slack: looking up a mention failed (%s); the name is shown instead", exc.code)
                self._users[key] = None
            except AccessError as exc:
                log.warning("slack: mentions are off for this run: %s", exc)
                self._mentions_off = True
                return None
        return self._users[key]

    def _final_text(self, text: str) -> str:
        if mrkdwn.has_mentions(text):
            text = mrkdwn.resolve_mentions(text, self._user_id)
        return mrkdwn.truncate(text)

    def _final_blocks(self, blocks: list[dict[str, Any]] | None) -> list[dict[str, Any]] | None:
        if blocks is None:
            return None

        def walk(value: Any) -> Any:
            if isinstance(value, dict):
                return {k: walk(v) for k, v in value.items()}
            if isinstance(value, list):
                return [walk(v) for v in value]
            if isinstance(value, str) and mrkdwn.has_mentions(value):
                return mrkdwn.resolve_mentions(value, self._user_id)
            return value

        walked: list[dict[str, Any]] = walk(blocks)
        return walked

    # -- history (exactly once) ---------------------------------------------------
    def _find(
        self, channel: Channel, mapping: str, page_ids: set[str] | None, *, fresh: bool = False
    ) -> dict[str, str]:
        """Our messages for these pages (all of the mapping's if None) in the channel (page id ->
        ts), reading history lazily."""
        if fresh or channel.id not in self._history:
            self._history[channel.id] = _History()
        history = self._history[channel.id]
        bot_id = self.identity().get("bot_id")
        wanted = {(mapping, p) for p in page_ids} if page_ids is not None else None
        while (
            not history.done
            and (wanted is None or not wanted <= history.found.keys())
            and history.scanned < self.settings.recover_max_messages
        ):
            cursor = history.cursor
            limit = min(HISTORY_PAGE, self.settings.recover_max_messages - history.scanned)
            response = self._call(
                lambda cursor=cursor, limit=limit: self.client.conversations_history(  # type: ignore[misc]
                    channel=channel.id, include_all_metadata=True, limit=limit, cursor=cursor or None
                ),
                "conversations.history",
                channel,
            )
            history.started = True
            for message in response.get("messages") or []:
                history.scanned += 1
                mark = parse_marker(message)
                if mark is None or (bot_id and message.get("bot_id") != bot_id):
                    continue
                mapping_name, page_id, removed = mark
                if (mapping_name, page_id) not in history.found:
                    history.found[(mapping_name, page_id)] = (str(message["ts"]), removed)
                    history.messages[(mapping_name, page_id)] = message
            history.cursor = str((response.get("response_metadata") or {}).get("next_cursor") or "")
            history.done = not response.get("has_more") or not history.cursor
        if page_ids is None:
            return {page: ts for (name, page), (ts, _) in history.found.items() if name == mapping}
        return {page: history.found[(mapping, page)][0] for page in page_ids if (mapping, page) in history.found}

    def _remember(self, channel: str, mapping: str, page_id: str, ts: str | None, removed: bool = False) -> None:
        history = self._history.get(channel)
        if history is None:
            return
        history.messages.pop((mapping, page_id), None)
        if ts is None:
            history.found.pop((mapping, page_id), None)
        else:
            history.found[(mapping, page_id)] = (ts, removed)

    def recover(self, items: Sequence[DesiredItem], mapping: MappingContext[SlackMapping]) -> dict[str, ExternalRef]:
        """Find messages posted earlier for these rows, by their metadata, in one history read."""
        if not items:
            return {}
        refs: dict[str, ExternalRef] = {}
        for setting in mapping.settings.routed_channels:
            missing = [i for i in items if i.page_id not in refs]
            if missing:
                refs.update(self._recover_in(self._channel(mapping, setting), missing, mapping))
        return refs

    def _recover_in(
        self, channel: Channel, items: Sequence[DesiredItem], mapping: MappingContext[SlackMapping]
    ) -> dict[str, ExternalRef]:
        found = self._find(channel, mapping.name, {normalize_page_id(i.page_id) for i in items})
        history = self._history[channel.id]
        refs = {}
        for item in items:
            key = (mapping.name, normalize_page_id(item.page_id))
            ts = found.get(key[1])
            if ts:
                content = self._found_payload(history.messages.get(key), history.found[key][1], channel, mapping)
                if content is not None and "text" in content and self._as_written(item.payload) == content:
                    # The payload holds mention and date tokens that are resolved on writing (the
                    # mentions by a lookup): the message is this payload as written.
                    content = item.payload
                refs[item.page_id] = ExternalRef(ts, {"channel": channel.id, "title": item.title[:200]}, found=content)
        return refs

    def _as_written(self, payload: dict[str, Any]) -> dict[str, Any]:
        """A mirror payload as the message it writes shows it (tokens resolved), as ``_found_payload`` reads it."""
        written: dict[str, Any] = {
            "channel": payload.get("channel"),
            "text": self._final_text(str(payload.get("text"))),
        }
        if "blocks" in payload:
            written["blocks"] = _without_block_ids(self._final_blocks(payload["blocks"]) or [])
        return written

    @staticmethod
    def _found_payload(
        message: dict[str, Any] | None, struck: bool, channel: Channel, mapping: MappingContext[SlackMapping]
    ) -> dict[str, Any] | None:
        """A message read back, in ``render``'s form, so that a message already right after a lost
        state file is adopted without a write. None for a struck message (it must be restored).
        Anything read differently from how it was rendered only costs a rewrite."""
        if message is None or struck:
            return None
        settings = mapping.settings
        if settings.mode == "notify":
            watch = watched_values(message)
            return {"notify_on": watch} if watch is not None else None
        payload: dict[str, Any] = {"channel": channel.id, "text": message.get("text", "")}
        if settings.blocks is not None or settings.layout == "card":
            payload["blocks"] = _without_block_ids(message.get("blocks") or [])
        return payload

    def list_marked(self, mapping: MappingContext[SlackMapping]) -> dict[str, ExternalRef]:
        """Every message of this mapping in its channel that is not struck through, from history
        (as far back as ``recover_max_messages``), in each of its channels."""
        marked: dict[str, ExternalRef] = {}
        for setting in mapping.settings.routed_channels:
            channel = self._channel(mapping, setting)
            self._find(channel, mapping.name, None)
            history = self._history[channel.id]
            for (name, page), (ts, struck) in history.found.items():
                if name == mapping.name and not struck:
                    marked.setdefault(page, ExternalRef(ts, {"channel": channel.id}))
        return marked

    # -- writes -----------------------------------------------------------------
    def _post(
        self, channel: Channel, item: DesiredItem, message: Message, mapping: MappingContext[SlackMapping]
    ) -> ExternalRef:
        """Post a new top-level message with its marker, exactly once."""
        page_id = normalize_page_id(item.page_id)
        text = self._final_text(message.text)
        blocks = self._final_blocks(message.blocks)
        unsure = [False]

        def post() -> str:
            if unsure[0]:
                found = self._find(channel, mapping.name, {page_id}, fresh=True).get(page_id)
                if found:
                    log.info("slack: a post whose answer was lost did arrive (ts %s); not posting again", found)
                    return found
            self._post_pacer.wait(self._pace_key(channel.id))
            try:
                response = self.client.chat_postMessage(
                    channel=channel.id,
                    text=text,
                    blocks=blocks,
                    metadata=marker(
                        mapping.name,
                        page_id,
                        watch=item.payload.get("notify_on") if mapping.settings.mode == "notify" else None,
                    ),
                    unfurl_links=mapping.settings.unfurl_links,
                    unfurl_media=mapping.settings.unfurl_links,
                )
            except (URLError, HTTPException, OSError, ValueError):
                unsure[0] = True
                raise
            except SlackApiError as exc:
                if int(getattr(exc.response, "status_code", 200) or 200) >= 500:
                    unsure[0] = True
                raise
            return str(response["ts"])

        try:
            ts = self._call(post, "chat.postMessage", channel)
        except NotionSyncError:
            if unsure[0]:
                # The message may have landed unseen: what was read of the history is stale.
                self._history.pop(channel.id, None)
            raise
        self._remember(channel.id, mapping.name, page_id, ts)
        return ExternalRef(ts, {"channel": channel.id, "title": item.title[:200]})

    def _edit(
        self,
        channel_id: str,
        ts: str,
        text: str,
        blocks: list[dict[str, Any]] | None,
        metadata: dict[str, Any],
        channel: Channel,
    ) -> None:
        def edit() -> Any:
            self._edit_pacer.wait(self._pace_key("chat.update"))
            return self.client.chat_update(channel=channel_id, ts=ts, text=text, blocks=blocks or [], metadata=metadata)

        self._call(edit, "chat.update", channel)

    def create(self, item: DesiredItem, mapping: MappingContext[SlackMapping]) -> ExternalRef:
        """Post the row's message (mirror) or its notification (notify)."""
        return self._post(self._channel_of(item, mapping), item, self._message_for(item, mapping), mapping)

    def update(self, link: Link, item: DesiredItem, mapping: MappingContext[SlackMapping]) -> ExternalRef:
        """Mirror: edit the message in place (in another channel: post there, then remove it).
        Notify: reply in its thread with what changed."""
        channel = self._channel_of(item, mapping)
        if mapping.settings.mode == "notify":
            return self._notify_update(link, item, mapping, channel)
        page_id = normalize_page_id(item.page_id)
        message = self._message_for(item, mapping)
        where = link.ref.extra.get("channel") or channel.id
        if where != channel.id:
            return self._move(link, item, mapping, channel, message)
        try:
            self._edit(
                where,
                link.ref.id,
                self._final_text(message.text),
                self._final_blocks(message.blocks),
                marker(mapping.name, page_id),
                channel,
            )
        except SlackItemError as exc:
            if exc.code != "message_not_found":
                raise
            # Someone deleted the message in Slack: post it again (once: a repost that
            # went unrecorded is found by its marker).
            found = self._find(channel, mapping.name, {page_id}, fresh=True).get(page_id)
            if found and found != link.ref.id:
                return self._adopt(channel, found, message, mapping.name, page_id, item)
            log.info("slack: the message for %s was deleted in Slack; posting it again", item.title)
            return self._post(channel, item, message, mapping)
        self._remember(where, mapping.name, page_id, link.ref.id)
        return ExternalRef(link.ref.id, {"channel": where, "title": item.title[:200]})

    def _adopt(
        self, channel: Channel, ts: str, message: Message, mapping_name: str, page_id: str, item: DesiredItem
    ) -> ExternalRef:
        """Take over a message found by its marker: bring it up to date and link to it."""
        self._edit(
            channel.id,
            ts,
            self._final_text(message.text),
            self._final_blocks(message.blocks),
            marker(mapping_name, page_id),
            channel,
        )
        return ExternalRef(ts, {"channel": channel.id, "title": item.title[:200]})

    def _move(
        self, link: Link, item: DesiredItem, mapping: MappingContext[SlackMapping], channel: Channel, message: Message
    ) -> ExternalRef:
        """The mapping's channel changed: post in the new channel (once), then remove the old message."""
        page_id = normalize_page_id(item.page_id)
        found = self._find(channel, mapping.name, {page_id}).get(page_id)
        if found:
            ref = self._adopt(channel, found, message, mapping.name, page_id, item)
        else:
            ref = self._post(channel, item, message, mapping)
        old = Channel(link.ref.extra["channel"], link.ref.extra["channel"])
        try:
            self._call(lambda: self.client.chat_delete(channel=old.id, ts=link.ref.id), "chat.delete", old)
        except (SlackItemError, FatalError, ConfigError) as exc:
            log.info("slack: could not remove the old message in %s after a channel change: %s", old.id, exc)
        return ref

    def _notify_update(
        self, link: Link, item: DesiredItem, mapping: MappingContext[SlackMapping], channel: Channel
    ) -> ExternalRef:
        if link.archived:
            # The row entered the mapping again: that is a new notification.
            return self._post(channel, item, self._message_for(item, mapping), mapping)
        before = (link.payload or {}).get("notify_on")
        after = item.payload.get("notify_on") or {}
        reply = change_reply(before, after) if isinstance(before, dict) else None
        if reply:
            where = link.ref.extra.get("channel") or channel.id

            def post_reply() -> Any:
                self._post_pacer.wait(self._pace_key(where))
                return self.client.chat_postMessage(
                    channel=where, thread_ts=link.ref.id, text=reply, unfurl_links=False, unfurl_media=False
                )

            self._call(post_reply, "chat.postMessage (thread reply)", channel)
        return link.ref

    def delete(self, link: Link, mode: str, mapping: MappingContext[SlackMapping]) -> ExternalRef | None:
        """``delete`` the message, or ``strike`` it through (kept, restorable)."""
        channel = self._channel(mapping)
        where = link.ref.extra.get("channel") or channel.id
        page_id = normalize_page_id(link.page_id)
        try:
            if mode == "strike":
                before = (link.payload or {}).get("text")
                if isinstance(before, str) and before.strip():
                    shown = self._final_text(before)
                else:
                    shown = mrkdwn.escape(link.ref.extra.get("title", "")) or "This row"
                text = mrkdwn.truncate(mrkdwn.strike(shown) + "\n" + REMOVED_NOTE)
                self._edit(where, link.ref.id, text, None, marker(mapping.name, page_id, removed=True), channel)
                self._remember(where, mapping.name, page_id, link.ref.id, removed=True)
                return link.ref

            def remove() -> Any:
                self._edit_pacer.wait(self._pace_key("chat.delete"))
                return self.client.chat_delete(channel=where, ts=link.ref.id)

            self._call(remove, "chat.delete", channel)
        except SlackItemError as exc:
            if exc.code != "message_not_found":
                raise
        self._remember(where, mapping.name, page_id, None)
        return None

    # -- check ------------------------------------------------------------------
    def check(self, mapping: MappingContext[SlackMapping]) -> list[CheckResult]:
        """The token works, the channel exists, the bot is in it (else the /invite to type)."""
        return checks.check(self, mapping)

    def close(self) -> None:
        """Forget this run's caches (the client holds no open connection between calls)."""
        self._history.clear()
        self._messages.clear()

    @classmethod
    def starter(cls, schema: dict[str, dict[str, Any]]) -> Starter:
        """What ``notion-sync init`` writes for a new mapping (see ``settings.starter``)."""
        return settings_starter(schema)

    @classmethod
    def emulated(cls) -> EmulatedTarget | None:
        """A running Slack emulator with a ``#notion-sync`` channel, for the demo and conformance."""
        from .target import SlackTarget

        return SlackTarget.start()


def _without_block_ids(blocks: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Blocks without their ``block_id``: Slack gives every block one when the message had none."""
    return [{k: v for k, v in block.items() if k != "block_id"} for block in blocks]
