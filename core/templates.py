"""Text templates: ``"{Name} is due {Due}\\n{url}"``.

``{Property Name}`` becomes the property's plain text. Any character but ``}`` may
stand in a name, so spaces, punctuation and non-ASCII work. ``{Property:rich}`` is the
property's rich text (a title, a text property, a formula's string) in the target's markup:
bold, italic, strikethrough, code and links as the connector writes them. ``{body}`` is the
page's content as plain text and ``{body:rich}`` in the target's markup. ``{url}`` and
``{id}`` are the page's own URL and id. ``{{`` and ``}}`` are literal braces.

A template is parsed once: ``compile_template`` gives a ``CompiledTemplate``, a ``str`` that
keeps its parsed parts, and the ``Template`` settings field compiles each template as the
config is read. Rendering a plain ``str`` parses it on the spot.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from functools import lru_cache

from notion_sync.core.page_body import body_lines
from notion_sync.core.richtext import PLAIN, Markup, render_spans, spans_of
from notion_sync.core.rows import LazyProperties, Row

__all__ = [
    "BODY",
    "PAGE_FIELDS",
    "RICH",
    "CompiledTemplate",
    "compile_template",
    "render_template",
    "template_properties",
    "template_uses_body",
]

BODY = "body"
"""The placeholder of the page's content."""
PAGE_FIELDS = ("url", "id", BODY)
RICH = ":rich"
"""The suffix that asks for a property's (or the body's) rich text."""
_PLACEHOLDER = re.compile(r"\{\{|\}\}|\{([^{}]+)\}")

_Part = tuple[str, str | None, bool]
"""Literal text, then the placeholder that follows it (None at the end) and whether it is rich."""


def _parse(template: str) -> tuple[_Part, ...]:
    parts: list[_Part] = []
    literal: list[str] = []
    at = 0
    for match in _PLACEHOLDER.finditer(template):
        literal.append(template[at : match.start()])
        at = match.end()
        token = match.group(0)
        if token in ("{{", "}}"):
            literal.append(token[0])
            continue
        name = match.group(1)
        rich = name.endswith(RICH) and len(name) > len(RICH)
        parts.append(("".join(literal), name[: -len(RICH)] if rich else name, rich))
        literal = []
    literal.append(template[at:])
    parts.append(("".join(literal), None, False))
    return tuple(parts)


class CompiledTemplate(str):
    """A template parsed once (rendering is most of the CPU of planning, and a mapping renders
    the same few templates for every row). It is the template string itself, so settings that
    hold one compare, print and serialise as before."""

    parts: tuple[_Part, ...]
    rich: bool
    """Whether any placeholder asks for rich text (then plain values are escaped for the markup too)."""
    uses_body: bool

    def __new__(cls, template: str) -> CompiledTemplate:
        made = super().__new__(cls, template)
        made.parts = _parse(template)
        made.rich = any(rich for _, _, rich in made.parts)
        made.uses_body = any(name == BODY for _, name, _ in made.parts)
        return made


def compile_template(template: str) -> CompiledTemplate:
    """The template, parsed (a ``CompiledTemplate`` is returned as it is)."""
    return template if isinstance(template, CompiledTemplate) else _parsed(template)


@lru_cache(maxsize=1024)
def _parsed(template: str) -> CompiledTemplate:
    # Pydantic does not validate defaults, so a ``Template`` field left unset arrives as a plain
    # str: without this memo of a pure parse it would be parsed again for every row.
    return CompiledTemplate(template)


def template_properties(template: str) -> list[str]:
    """The property names a template refers to (page fields left out), in order."""
    names: list[str] = []
    for _, name, _ in compile_template(template).parts:
        if name is not None and name not in PAGE_FIELDS and name not in names:
            names.append(name)
    return names


def template_uses_body(template: str) -> bool:
    """Whether the template shows the page's body (``{body}`` or ``{body:rich}``)."""
    return compile_template(template).uses_body


def render_template(
    template: str,
    row: Row,
    escape: Callable[[str], str] | None = None,
    *,
    markup: Markup | None = None,
    limit: int | None = None,
    measure: Callable[[str], int] = len,
) -> str:
    """Fill a template from a row.

    ``escape`` is applied to each plain property value, not to the template. ``markup`` is the
    target's (``Markup``): ``{X:rich}`` and ``{body:rich}`` are written in it, and in a template
    that has such a placeholder, plain values are escaped with ``markup.escape`` unless ``escape``
    is given. Without ``markup`` every placeholder is plain text.

    ``limit`` (measured with ``measure``) cuts the page body, block by block, so the text fits,
    ending the body with "…" and the page's link.
    """
    compiled = compile_template(template)
    if markup is not None and compiled.rich and escape is None:
        escape = markup.escape
    if not compiled.uses_body or row.body is None:
        return _fill(compiled, row, escape, markup, None)
    rich_body = any(rich for _, name, rich in compiled.parts if name == BODY)
    lines = body_lines(row.body, markup or PLAIN) if rich_body and markup is not None else body_lines(row.body)
    text = _fill(compiled, row, escape, markup, "\n".join(lines))
    if limit is None or measure(text) <= limit:
        return text
    if markup is not None and rich_body:
        more = markup.link(markup.escape("… more in Notion"), row.url) if row.url else "…"
    else:
        more = f"… {row.url}" if row.url else "…"
    keep = len(lines)
    while keep > 0:
        keep -= 1
        text = _fill(compiled, row, escape, markup, "\n".join([*lines[:keep], more]))
        if measure(text) <= limit:
            break
    return text


def _fill(
    compiled: CompiledTemplate, row: Row, escape: Callable[[str], str] | None, markup: Markup | None, body: str | None
) -> str:
    out: list[str] = []
    properties = row.properties
    # Most rows: their text without making a PropertyValue (a plain mapping in tests and plugins).
    text_of = properties.text if isinstance(properties, LazyProperties) else None
    for literal, name, rich in compiled.parts:
        out.append(literal)
        if name is None:
            continue
        if name == "url":
            out.append(row.url)
        elif name == "id":
            out.append(row.id)
        elif name == BODY:
            text = body or ""
            out.append(text if rich and markup is not None else escape(text) if escape else text)
        elif text_of is not None and not (rich and markup is not None):
            plain = text_of(name)
            if plain is not None:
                out.append(escape(plain) if escape else plain)
        else:
            prop = properties.get(name)
            if prop is None:
                continue
            if rich and markup is not None:
                out.append(render_spans(spans_of(prop.type, prop.raw, prop.text), markup))
            else:
                out.append(escape(prop.text) if escape else prop.text)
    return "".join(out)
