"""The settings of the Slack connector: the ``[slack]`` table and a mapping's Slack keys."""

from __future__ import annotations

import json
import re
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from notion_sync.sdk import (
    MappingSettings,
    PropertyRef,
    Question,
    Routing,
    ServiceSettings,
    Starter,
    Template,
    compile_template,
    first_property,
    title_property,
)

__all__ = ["SlackSettings", "SlackMapping", "SlackFields", "BlockTemplate", "DEFAULT_BASE_URL", "CHANNEL_ID", "starter"]

DEFAULT_BASE_URL = "https://slack.com/api/"
CHANNEL_ID = re.compile(r"^[CGD][A-Z0-9]{8,}$")
"""A conversation id as Slack writes it (public C…, private G…/C…, direct D…)."""

MAX_BLOCKS = 50


class SlackSettings(ServiceSettings):
    """The ``[slack]`` table: the bot token, the API base and pacing."""

    token_env: str | None = None
    """Environment variable holding the bot token (``xoxb-…``)."""
    token_file: str | None = None
    """File (mode 600) holding the bot token; relative to the config file."""
    token_keyring: str | None = None
    """OS keyring entry ``service/name`` holding the bot token (``pip install 'notion-sync[keyring]'``)."""
    token: str | None = None
    """The bot token itself: works, with a warning on every run; prefer the others."""
    base_url: str = DEFAULT_BASE_URL
    """The Web API base; only changed to point at an emulator or a proxy."""
    pacing_scale: float = Field(default=1.0, gt=0)
    """Divides the client-side pacing delays (1 message/s/channel); tests and benchmarks raise it."""
    timeout: float = Field(default=30.0, gt=0)
    """Seconds to wait for one HTTP reply; a timeout is retried (a post only after looking it up)."""
    recover_max_messages: int = Field(default=1000, ge=1, le=100_000)
    """How many recent channel messages recovery reads, at most, looking for its own messages."""

    @model_validator(mode="after")
    def _token_source(self) -> SlackSettings:
        if not (self.token_env or self.token_file or self.token_keyring or self.token):
            raise ValueError(
                'set token_env (e.g. "SLACK_BOT_TOKEN"), token_file or token_keyring to where the '
                "bot token (xoxb-…) is kept"
            )
        return self

    @field_validator("base_url")
    @classmethod
    def _trailing_slash(cls, value: str) -> str:
        if not value.startswith(("http://", "https://")):
            raise ValueError("must be an http(s) URL such as https://slack.com/api/")
        return value if value.endswith("/") else value + "/"


class SlackFields(BaseModel):
    """What a message shows. ``text`` is mrkdwn; property values are escaped for it."""

    model_config = ConfigDict(extra="forbid")

    text: Template = "{Name}"
    """The message text (with ``blocks`` or ``layout``: the notification and fallback text)."""


def _strings(value: Any) -> list[str]:
    if isinstance(value, str):
        return [value]
    if isinstance(value, dict):
        return [s for item in value.values() for s in _strings(item)]
    if isinstance(value, list):
        return [s for item in value for s in _strings(item)]
    return []


class BlockTemplate(BaseModel):
    """One Block Kit block as given (``block``), and its strings as templates (``texts``), so
    the core checks every ``{Property}`` they name against the database before a run."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    block: dict[str, Any]
    texts: list[Template] = Field(default_factory=list)

    @classmethod
    def of(cls, block: dict[str, Any]) -> BlockTemplate:
        """Wrap a block, collecting the strings that hold placeholders."""
        compiled = _compiled(block)
        return cls(block=compiled, texts=[s for s in _strings(compiled) if "{" in s])


def _compiled(value: Any) -> Any:
    """A block with each string that holds a placeholder parsed once (``compile_template``)."""
    if isinstance(value, str):
        return compile_template(value) if "{" in value else value
    if isinstance(value, list):
        return [_compiled(v) for v in value]
    if isinstance(value, dict):
        return {k: _compiled(v) for k, v in value.items()}
    return value


def _channel_setting(value: str) -> str:
    value = value.strip()
    if not value or value == "#":
        raise ValueError('give a channel id (C0123ABCD) or a name ("#releases")')
    if not value.startswith("#") and not CHANNEL_ID.match(value):
        raise ValueError(f'{value!r} is not a channel id; write a channel name with its "#": "#{value}"')
    return value


class SlackMapping(MappingSettings):
    """A mapping's Slack keys."""

    channel: str | None = None
    """A channel id (``C0123ABCD``) or a public channel name (``#releases``). With ``channel_from``:
    the channel of rows whose value has none in ``channels``."""
    channel_from: PropertyRef(("select", "status", "rich_text", "formula")) | None = None  # type: ignore[valid-type]
    """A property whose value picks each row's channel through ``channels`` (routing)."""
    channels: dict[str, str] = Field(default_factory=dict)
    """Value of ``channel_from`` → channel id or ``#name``, e.g. ``{ Design = "#design", Eng = "#eng" }``."""
    mode: Literal["mirror", "notify"] = "mirror"
    """``mirror``: one message per row, edited in place. ``notify``: one message when a row
    enters the mapping, and threaded replies when a ``notify_on`` property changes."""
    fields: SlackFields = Field(default_factory=SlackFields)
    blocks: list[BlockTemplate] | None = None
    """A Block Kit layout whose strings may hold ``{Property}`` placeholders (JSON text or TOML)."""
    layout: Literal["card"] | None = None
    """A built-in layout: ``card`` shows the title linked to the Notion page and ``card_properties``."""
    card_properties: list[PropertyRef()] = Field(default_factory=list)  # type: ignore[valid-type]
    """The properties the ``card`` layout shows as fields (at most 10)."""
    notify_on: list[PropertyRef()] = Field(default_factory=list)  # type: ignore[valid-type]
    """In ``notify`` mode: the properties whose changes are posted as threaded replies."""
    mention_people: bool = False
    """People properties become @mentions (looked up by email; needs ``users:read.email``)."""
    unfurl_links: bool = False
    """Let Slack unfurl links in the message (off: a Notion link preview per row is noise)."""

    @field_validator("channel")
    @classmethod
    def _channel(cls, value: str | None) -> str | None:
        return _channel_setting(value) if value is not None else None

    @field_validator("channels")
    @classmethod
    def _channels(cls, value: dict[str, str]) -> dict[str, str]:
        return {key: _channel_setting(channel) for key, channel in value.items()}

    @model_validator(mode="after")
    def _a_channel(self) -> SlackMapping:
        problem = self.routing.problem()
        if problem:
            raise ValueError(problem)
        return self

    @property
    def routing(self) -> Routing:
        """Which channel each row goes to (``channel_from``, ``channels``, ``channel``)."""
        return Routing(
            self.channel_from,
            self.channels,
            self.channel,
            ("channel_from", "channels", "channel"),
            '{ Design = "#design" }',
        )

    @property
    def routed_channels(self) -> list[str]:
        """Every channel (as set) this mapping may post to: the routed ones, then the fallback."""
        return self.routing.places

    @property
    def home_channel(self) -> str:
        """The channel of a row nothing routes: the fallback, else the first routed one."""
        return self.routing.home

    @field_validator("blocks", mode="before")
    @classmethod
    def _blocks_json(cls, value: Any) -> Any:
        if isinstance(value, str):
            try:
                value = json.loads(value)
            except json.JSONDecodeError as exc:
                raise ValueError(
                    f"is not valid JSON ({exc.msg} at line {exc.lineno}); paste the Block Kit Builder's blocks array"
                ) from None
            if isinstance(value, dict) and "blocks" in value:
                value = value["blocks"]
        if value is None or isinstance(value, BlockTemplate):
            return value
        if not isinstance(value, list):
            raise ValueError("must be a list of Block Kit blocks (or the JSON text of one)")
        if not value:
            raise ValueError("is empty; leave blocks out to post fields.text alone")
        if len(value) > MAX_BLOCKS:
            raise ValueError(f"has {len(value)} blocks; Slack allows at most {MAX_BLOCKS} per message")
        wrapped = []
        for i, block in enumerate(value):
            if isinstance(block, BlockTemplate):
                wrapped.append(block)
                continue
            if not isinstance(block, dict) or not isinstance(block.get("type"), str):
                raise ValueError(f'block {i} has no "type"; every Block Kit block needs one')
            wrapped.append(BlockTemplate.of(block))
        return wrapped

    @property
    def block_list(self) -> list[dict[str, Any]] | None:
        """The blocks as Slack takes them (placeholders unfilled)."""
        return None if self.blocks is None else [b.block for b in self.blocks]

    @model_validator(mode="after")
    def _consistent(self) -> SlackMapping:
        if self.blocks is not None and self.layout is not None:
            raise ValueError("set either blocks or layout, not both")
        if self.card_properties and self.layout != "card":
            raise ValueError('card_properties is only used with layout = "card"')
        if len(self.card_properties) > 10:
            raise ValueError("card_properties: Slack shows at most 10 fields in a section")
        if self.notify_on and self.mode != "notify":
            raise ValueError('notify_on is only used with mode = "notify"')
        return self


def starter(schema: dict[str, dict[str, Any]]) -> Starter:
    """``notion-sync init``'s guesses: ``channel = "#general"``, ``mode = "mirror"``; field ``text``
    (the title, and the status if there is one)."""
    status = first_property(schema, "status")
    text = "{" + title_property(schema) + "}" + (" ({" + status + "})" if status else "")
    return Starter(
        mapping={"channel": "#general", "mode": "mirror", "fields": {"text": text}},
        notes={
            "channel": "a public channel name with its #, or a channel id (C0123ABCD); invite the bot to it",
            "mode": "mirror: one message per row, edited in place; notify: one message, then threaded replies",
        },
        service={"token_env": "SLACK_BOT_TOKEN"},
        service_notes={"token_env": "export SLACK_BOT_TOKEN=xoxb-... (the app's Bot User OAuth Token)"},
        questions=[Question("channel", "Slack channel (#name or id)", "#general")],
    )
