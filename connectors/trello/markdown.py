"""Trello's Markdown for card descriptions: escaping values and writing rich text.

Trello renders a description as Markdown (``**bold**``, ``*italic*``, ``~~strike~~``,
`` `code` ``, ``[text](url)``); a backslash makes a formatting character literal.
"""

from __future__ import annotations

import re

from notion_sync.sdk import Markup

__all__ = ["MARKUP", "escape"]

_SPECIAL = re.compile(r"([\\`*_~\[\]<>])")
_LINE_START = re.compile(r"^(\s*)([#+-]|\d+\.)", re.MULTILINE)


def escape(value: str) -> str:
    """A value as literal Markdown text: each formatting character behind a backslash, and a
    line that would start a heading or a list too."""
    return _LINE_START.sub(_line_start, _SPECIAL.sub(r"\\\1", value))


def _line_start(match: re.Match[str]) -> str:
    mark = match.group(2)
    return match.group(1) + (mark[:-1] + "\\." if mark.endswith(".") else "\\" + mark)


def _code(text: str) -> str:
    # A backtick inside would end the span: fence with two and pad, as CommonMark allows.
    return f"`` {text} ``" if "`" in text else f"`{text}`"


def _link(text: str, url: str) -> str:
    return f"[{text}]({url.replace(' ', '%20').replace('(', '%28').replace(')', '%29')})"


def _code_block(text: str) -> str:
    fence = "````" if "```" in text else "```"
    return f"{fence}\n{text}\n{fence}"


MARKUP = Markup(
    escape=escape,
    bold=lambda text: f"**{text}**",
    italic=lambda text: f"*{text}*",
    strike=lambda text: f"~~{text}~~",
    code=_code,
    link=_link,
    heading=lambda text, level: f"{'#' * level} {text}",
    bullet="-",
    quote=lambda text: f"> {text}",
    code_block=_code_block,
    divider="---",
)
"""Rich text in Trello Markdown."""
