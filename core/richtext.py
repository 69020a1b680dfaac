"""Notion rich text as segments, and the markup a target writes them in.

A ``Span`` is one run of text with its annotations (bold, italic, strikethrough, code) and
its link. ``spans`` reads a rich text array exactly as Notion sends it (title, text
properties, block contents); a mention becomes its plain name, an equation its expression.
``Markup`` is what a connector supplies to write spans in its own format (Slack mrkdwn,
Trello Markdown, HTML): how to escape plain text and how to wrap each annotation.
``PLAIN`` writes plain text.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from typing import Any

__all__ = ["PLAIN", "Markup", "Span", "render_spans", "spans", "spans_of"]


@dataclass(frozen=True, slots=True)
class Span:
    """One run of rich text: its text, annotations and link (None: not a link)."""

    text: str
    bold: bool = False
    italic: bool = False
    strike: bool = False
    code: bool = False
    href: str | None = None


def _identity(text: str) -> str:
    return text


def _link_text(text: str, url: str) -> str:
    return f"{text} ({url})" if text != url else url


@dataclass(frozen=True)
class Markup:
    """How a target writes rich text. ``escape`` makes plain text literal (a ``*`` in a value
    never turns bold); the wrappers receive text already escaped. ``link`` gets the escaped text
    and the raw URL, and escapes the URL its own way. The block parts (``heading``, ``bullet``,
    ``quote``, ``code_block``, ``divider``) are used by page bodies (``notion_sync.core.page_body``)."""

    escape: Callable[[str], str] = _identity
    bold: Callable[[str], str] = _identity
    italic: Callable[[str], str] = _identity
    strike: Callable[[str], str] = _identity
    code: Callable[[str], str] = _identity
    link: Callable[[str, str], str] = _link_text
    heading: Callable[[str, int], str] = lambda text, level: text
    bullet: str = "•"
    quote: Callable[[str], str] = lambda text: f"> {text}"
    code_block: Callable[[str], str] = _identity
    """Gets the code raw (not escaped)."""
    divider: str = "———"
    flanking: bool = True
    """The target's markers must touch the text (``*bold*``, not ``* bold *``): spaces at either end
    of a span go outside the markers."""


PLAIN = Markup()
"""Plain text: annotations dropped, a link as ``text (url)``."""


def spans(items: Iterable[dict[str, Any]] | None) -> list[Span]:
    """A Notion rich text array as spans; adjacent items with the same annotations are merged, so
    markup is not closed and opened again between them."""
    out: list[Span] = []
    for item in items or ():
        if not isinstance(item, dict):
            continue
        kind = item.get("type")
        text = str(item.get("plain_text") or "")
        href: str | None = None
        if kind == "text":
            content = item.get("text") or {}
            text = str(content.get("content", text))
            link = content.get("link") or {}
            href = str(link.get("url")) if link.get("url") else (str(item["href"]) if item.get("href") else None)
        elif kind == "equation":
            text = str((item.get("equation") or {}).get("expression", text))
        # A mention keeps its plain text, the name Notion shows, and no link.
        notes = item.get("annotations") or {}
        span = Span(
            text,
            bool(notes.get("bold")),
            bool(notes.get("italic")),
            bool(notes.get("strikethrough")),
            bool(notes.get("code")),
            href,
        )
        if not text:
            continue
        if out and _same_style(out[-1], span):
            last = out[-1]
            out[-1] = Span(last.text + text, last.bold, last.italic, last.strike, last.code, last.href)
        else:
            out.append(span)
    return out


def _same_style(a: Span, b: Span) -> bool:
    return (a.bold, a.italic, a.strike, a.code, a.href) == (b.bold, b.italic, b.strike, b.code, b.href)


def spans_of(kind: str, raw: dict[str, Any], text: str) -> list[Span]:
    """The spans of a property value (``raw`` as Notion sends it): a title or text property's rich
    text, a formula's string; any other property is one plain span of its ``text``."""
    data = raw.get(kind)
    if kind in ("title", "rich_text") and isinstance(data, list):
        return spans(data)
    return [Span(text)] if text else []


def render_spans(items: Sequence[Span], markup: Markup) -> str:
    """Spans written in ``markup``: each span's text escaped, then wrapped in its annotations."""
    out: list[str] = []
    for span in items:
        body = span.text
        lead = trail = ""
        if markup.flanking and (span.bold or span.italic or span.strike or span.code):
            stripped = body.strip()
            if not stripped:
                out.append(markup.escape(body))
                continue
            start = body.index(stripped[0])
            lead, trail, body = body[:start], body[start + len(stripped) :], stripped
        if span.code:
            text = markup.code(body)
        else:
            text = markup.escape(body)
        if span.italic:
            text = markup.italic(text)
        if span.bold:
            text = markup.bold(text)
        if span.strike:
            text = markup.strike(text)
        if span.href:
            text = markup.link(text, span.href)
        out.append(markup.escape(lead) + text + markup.escape(trail))
    return "".join(out)
