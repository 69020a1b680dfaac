"""Turning a row into a Slack message: mrkdwn text, Block Kit blocks, the card layout,
and the lines of a notify-mode change reply. Pure functions, no I/O."""

from __future__ import annotations

import dataclasses
from collections.abc import Iterator, Mapping
from datetime import date, datetime
from typing import Any

from notion_sync.sdk import DateValue, PropertyValue, Row, render_template

from . import mrkdwn
from .settings import SlackMapping

__all__ = ["Message", "render_message", "render_watch", "change_reply", "SECTION_TEXT", "FIELD_TEXT", "HEADER_TEXT"]

SECTION_TEXT = 3000
FIELD_TEXT = 2000
HEADER_TEXT = 150
EMPTY = "—"


@dataclasses.dataclass(frozen=True)
class Message:
    """A message ready to post, except for mention tokens (resolved at write time)."""

    text: str
    blocks: list[dict[str, Any]] | None = None


def _people_emails(prop: PropertyValue) -> list[tuple[str, str]]:
    """(email, name) of each person of a people property, email possibly empty."""
    people = prop.raw.get("people") if isinstance(prop.raw, dict) else None
    out = []
    for user in people or []:
        if not isinstance(user, dict):
            continue
        email = str((user.get("person") or {}).get("email") or "")
        name = str(user.get("name") or email or user.get("id") or "")
        out.append((email, name))
    return out


def _moment(value: date | datetime) -> str:
    """A date as Slack shows it: a timed one in each reader's own time zone (``<!date^…>``),
    an all-day one as the date itself (no zone could shift it to another day)."""
    if not isinstance(value, datetime):
        return value.isoformat()
    fallback = value.strftime("%Y-%m-%d %H:%M %z")
    return mrkdwn.slack_token(f"!date^{int(value.timestamp())}^{{date_short_pretty}} {{time}}", fallback)


def _date_text(value: DateValue) -> str:
    start = _moment(value.start)
    return f"{start} → {_moment(value.end)}" if value.end is not None else start


class _View(Mapping[str, PropertyValue]):
    """A row's properties as a message shows them, each made the first time it is read, so a
    bad value in a property the mapping does not use never fails the row."""

    def __init__(self, props: Mapping[str, PropertyValue], mentions: bool) -> None:
        self._props = props
        self._mentions = mentions
        self._made: dict[str, PropertyValue] = {}

    def __getitem__(self, name: str) -> PropertyValue:
        if name not in self._made:
            self._made[name] = _shown(self._props[name], self._mentions)
        return self._made[name]

    def __iter__(self) -> Iterator[str]:
        return iter(self._props)

    def __len__(self) -> int:
        return len(self._props)

    def type_of(self, name: str) -> str:
        """The property's Notion type, without reading its value."""
        type_of = getattr(self._props, "type_of", None)
        return str(type_of(name)) if type_of is not None else self._props[name].type


def _shown(prop: PropertyValue, mentions: bool) -> PropertyValue:
    """A value cleaned of token characters, a timed date as a Slack date token, people as
    mention tokens if asked."""
    if mentions and prop.type == "people":
        text = ", ".join(
            mrkdwn.mention_token(email, person) if email else mrkdwn.clean(person)
            for email, person in _people_emails(prop)
        )
    elif isinstance(prop.value, DateValue):
        text = _date_text(prop.value)
    else:
        text = mrkdwn.clean(prop.text)
    return dataclasses.replace(prop, text=text)


def _view(row: Row, mentions: bool) -> Row:
    """The row as a message shows it (see ``_View``)."""
    return dataclasses.replace(row, properties=_View(row.properties, mentions))


def _fill(template: str, row: Row, *, markdown: bool, limit: int = mrkdwn.MAX_TEXT) -> str:
    if markdown:
        return render_template(
            template,
            row,
            escape=mrkdwn.escape_keeping_mentions,
            markup=mrkdwn.MARKUP,
            limit=limit,
            measure=mrkdwn.utf16_len,
        )
    return mrkdwn.strip_mentions(render_template(template, row, limit=limit, measure=mrkdwn.utf16_len))


def _render_blocks(value: Any, row: Row, *, in_header: bool = False) -> Any:
    """Fill placeholders in every string of a Block Kit structure.

    Text objects of type ``mrkdwn`` get escaped values and mentions; every other string
    (``plain_text``, URLs, ids) gets plain values. Texts are cut to Slack's limits.
    """
    if isinstance(value, list):
        return [_render_blocks(item, row, in_header=in_header) for item in value]
    if not isinstance(value, dict):
        return _fill(value, row, markdown=False) if isinstance(value, str) else value
    header = in_header or value.get("type") == "header"
    if value.get("type") in ("mrkdwn", "plain_text") and isinstance(value.get("text"), str):
        markdown = value["type"] == "mrkdwn"
        limit = HEADER_TEXT if header else SECTION_TEXT
        text = _fill(value["text"], row, markdown=markdown, limit=limit)
        return {**value, "text": mrkdwn.truncate(text, limit) or " "}
    return {key: _render_blocks(item, row, in_header=header) for key, item in value.items()}


def _card(row: Row, view: Row, settings: SlackMapping) -> list[dict[str, Any]]:
    # Cut the title, not the markup around it: the link and the bold stay whole.
    markup = f"*<{row.url}|>*" if row.url else "**"
    title = mrkdwn.truncate(mrkdwn.escape(row.title), SECTION_TEXT - mrkdwn.utf16_len(markup)) or "Untitled"
    head = f"*<{row.url}|{title}>*" if row.url else f"*{title}*"
    blocks: list[dict[str, Any]] = [{"type": "section", "text": {"type": "mrkdwn", "text": head}}]
    fields = []
    for name in settings.card_properties:
        prop = view.get(name)
        value = mrkdwn.escape_keeping_mentions(prop.text) if prop is not None and prop.text else EMPTY
        fields.append({"type": "mrkdwn", "text": mrkdwn.truncate(f"*{mrkdwn.escape(name)}*\n{value}", FIELD_TEXT)})
    if fields:
        blocks.append({"type": "section", "fields": fields})
    return blocks


def render_message(row: Row, settings: SlackMapping) -> Message:
    """The message a row produces under a mapping's settings."""
    view = _view(row, settings.mention_people)
    text = mrkdwn.truncate(_fill(settings.fields.text, view, markdown=True))
    if not text.strip():
        # Slack refuses an empty message (no_text); the title keeps the row visible.
        text = mrkdwn.escape(row.title) or "Untitled"
    blocks = None
    if settings.blocks is not None:
        blocks = _render_blocks(settings.block_list, view)
    elif settings.layout == "card":
        blocks = _card(row, view, settings)
    return Message(text, blocks)


def render_watch(row: Row, settings: SlackMapping) -> dict[str, str]:
    """The values of the ``notify_on`` properties, as plain text: what notify mode watches."""
    watch = {}
    for name in settings.notify_on:
        prop = row.get(name)
        watch[name] = prop.text if prop is not None else ""
    return watch


def change_reply(before: dict[str, str], after: dict[str, str]) -> str | None:
    """The threaded reply for changed watched values ("*Status*: In progress → Done"),
    or None when nothing watched changed."""
    lines = []
    for name, new in after.items():
        if name not in before:
            continue  # newly watched: nothing to compare with
        old = before[name]
        if old != new:
            lines.append(f"*{mrkdwn.escape(name)}*: {mrkdwn.escape(old) or EMPTY} → {mrkdwn.escape(new) or EMPTY}")
    return mrkdwn.truncate("\n".join(lines)) if lines else None
