"""Slack mrkdwn text: escaping values, cutting long text safely, striking text through,
and the mention tokens that ``render`` leaves for the write step to resolve."""

from __future__ import annotations

import html
import re
from collections.abc import Callable

from notion_sync.sdk import Markup

__all__ = [
    "MARKUP",
    "MAX_TEXT",
    "escape",
    "neutralize",
    "unescape",
    "utf16_len",
    "truncate",
    "strike",
    "mention_token",
    "resolve_mentions",
    "has_mentions",
    "clean",
    "slack_token",
    "escape_keeping_mentions",
    "plain",
    "strip_mentions",
]

MAX_TEXT = 40_000
"""Slack truncates message text beyond 40,000 characters; we cut first, at a safe place."""

ELLIPSIS = "…"

# Mention tokens use two ASCII control characters no Notion value keeps (``escape``
# drops them), so a token can never be forged by a property value.
_OPEN, _SEP = "\x1f", "\x1e"
_TOKEN = re.compile(f"{_OPEN}([^{_OPEN}{_SEP}]*){_SEP}([^{_OPEN}]*){_OPEN}")


# Slack has no way to escape its formatting characters, so a value's are swapped for
# lookalikes (as jsx-slack's <Escape> does): a value's *stars* never make bold text nor
# close the card's bold link. URLs keep theirs: Slack links them as they are.
_LOOKALIKES = {"*": "\u2217", "_": "\u02cd", "~": "\u223c", "`": "\u02cb"}
_NEUTRAL = str.maketrans(_LOOKALIKES)
_UNNEUTRAL = str.maketrans({v: k for k, v in _LOOKALIKES.items()})
_URL = re.compile(r"https?://\S+")
_QUOTE = re.compile(r"^&gt;", re.MULTILINE)
_SOFT_HYPHEN = "\u00ad"


def neutralize(value: str) -> str:
    """A value's formatting characters (``*``, ``_``, ``~``, `````) as lookalikes, outside URLs."""
    out: list[str] = []
    pos = 0
    for match in _URL.finditer(value):
        out.append(value[pos : match.start()].translate(_NEUTRAL))
        out.append(match.group())
        pos = match.end()
    out.append(value[pos:].translate(_NEUTRAL))
    return "".join(out)


def escape(value: str) -> str:
    """Escape a value for mrkdwn: ``&``, ``<`` and ``>``, as Slack asks (quotes stay); its
    formatting characters become lookalikes (``neutralize``) and a leading ``>`` quotes nothing."""
    value = neutralize(clean(value)).replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")
    return _QUOTE.sub(_SOFT_HYPHEN + "&gt;", value)


def unescape(text: str) -> str:
    """Undo ``escape`` (for showing message text as plain text)."""
    text = text.replace(_SOFT_HYPHEN + "&gt;", "&gt;").translate(_UNNEUTRAL)
    return text.replace("&lt;", "<").replace("&gt;", ">").replace("&amp;", "&")


def utf16_len(text: str) -> int:
    """Length in UTF-16 code units, the way Slack counts characters."""
    return len(text.encode("utf-16-le")) // 2


def _safe_cut(text: str, end: int) -> int:
    """Move ``end`` back so ``text[:end]`` does not end inside an entity, a ``<…>`` link or
    mention, or a mention token."""
    head = text[:end]
    amp = head.rfind("&")
    if amp != -1 and ";" not in head[amp:] and end - amp <= 8:
        end = amp
        head = text[:end]
    lt = head.rfind("<")
    if lt != -1 and ">" not in head[lt:]:
        end = lt
        head = text[:end]
    if head.count(_OPEN) % 2 == 1:
        end = head.rfind(_OPEN)
    return end


def truncate(text: str, limit: int = MAX_TEXT) -> str:
    """Cut ``text`` to at most ``limit`` UTF-16 units, ending with "…" when cut.

    Never splits an escape (``&amp;``), a link or mention (``<…>``), a mention token or a
    surrogate pair (Python strings hold whole code points, and we count their UTF-16 width).
    """
    if utf16_len(text) <= limit:
        return text
    budget = limit - utf16_len(ELLIPSIS)
    used = 0
    end = 0
    for end, char in enumerate(text):  # noqa: B007 - end is used after the loop
        width = 2 if ord(char) > 0xFFFF else 1
        if used + width > budget:
            break
        used += width
    return text[: _safe_cut(text, end)].rstrip() + ELLIPSIS


def strike(text: str) -> str:
    """Strike every line of a mrkdwn text through (``~…~`` works line by line)."""
    lines = []
    for line in text.splitlines() or [""]:
        stripped = line.strip()
        lines.append(
            f"~{stripped}~" if stripped and not (stripped.startswith("~") and stripped.endswith("~")) else line
        )
    return "\n".join(lines)


def clean(value: str) -> str:
    """Drop the control characters tokens are made of from a property value."""
    return value.replace(_OPEN, "").replace(_SEP, "").replace("\x1d", "")


def mention_token(email: str, name: str) -> str:
    """A placeholder for a person, resolved at write time to ``<@U…>`` or the name."""
    return f"{_OPEN}{clean(email)}{_SEP}{clean(name)}{_OPEN}"


_RAW = "\x1d"


def slack_token(raw: str, fallback: str) -> str:
    """A placeholder for a Slack formatting token (``<!date^…|…>``) that must not be escaped;
    plain-text places show ``fallback``."""
    return f"{_OPEN}{_RAW}{clean(raw)}{_SEP}{clean(fallback)}{_OPEN}"


def escape_keeping_mentions(text: str) -> str:
    """``escape`` a rendered value that may hold mention tokens, keeping the tokens whole
    (their names are escaped inside)."""
    out: list[str] = []
    pos = 0
    for match in _TOKEN.finditer(text):
        out.append(escape(text[pos : match.start()]))
        out.append(f"{_OPEN}{match.group(1)}{_SEP}{escape(match.group(2))}{_OPEN}")
        pos = match.end()
    out.append(escape(text[pos:]))
    return "".join(out)


def has_mentions(text: str) -> bool:
    """Whether the text still holds mention tokens."""
    return _OPEN in text


def resolve_mentions(text: str, lookup: Callable[[str], str | None]) -> str:
    """Replace each mention token with ``<@USER_ID>`` (``lookup(email)``) or the plain name."""

    def replace(match: re.Match[str]) -> str:
        if match.group(1).startswith(_RAW):
            return f"<{match.group(1)[1:]}|{match.group(2)}>"
        user_id = lookup(match.group(1)) if match.group(1) else None
        return f"<@{user_id}>" if user_id else match.group(2)

    return _TOKEN.sub(replace, text)


def plain(text: str) -> str:
    """The text a reader sees, roughly: mention tokens as names, entities decoded, lookalikes
    read as the characters they stand for."""
    return html.unescape(_TOKEN.sub(lambda m: m.group(2), text)).replace(_SOFT_HYPHEN, "").translate(_UNNEUTRAL)


def strip_mentions(text: str) -> str:
    """Mention tokens replaced by the plain names (for plain_text objects)."""
    return _TOKEN.sub(lambda m: m.group(2), text)


def _code(text: str) -> str:
    # Inside `code` Slack formats nothing, but a backtick would end it.
    return (
        "`" + clean(text).replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;").replace("`", "\u02cb") + "`"
    )


def _link(text: str, url: str) -> str:
    target = url.replace("&", "&amp;").replace("<", "%3C").replace(">", "%3E").replace("|", "%7C")
    return f"<{target}|{text}>"


def _code_block(text: str) -> str:
    return "```\n" + clean(text).replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;") + "\n```"


MARKUP = Markup(
    escape=escape,
    bold=lambda text: f"*{text}*",
    italic=lambda text: f"_{text}_",
    strike=lambda text: f"~{text}~",
    code=_code,
    link=_link,
    heading=lambda text, level: f"*{text}*",
    quote=lambda text: f">{text}",
    code_block=_code_block,
)
"""Rich text in mrkdwn: ``*bold*``, ``_italic_``, ``~strike~``, `` `code` ``, ``<url|text>``; a value's
own formatting characters become lookalikes (``escape``)."""
