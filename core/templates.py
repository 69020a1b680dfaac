"""Text templates: ``"{Name} is due {Due}\\n{url}"``.

``{Property Name}`` becomes the property's plain text. Any character but ``}`` may
stand in a name, so spaces, punctuation and non-ASCII work. ``{url}`` and ``{id}``
are the page's own URL and id. ``{{`` and ``}}`` are literal braces.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from functools import lru_cache

from notion_sync.core.rows import Row

__all__ = ["PAGE_FIELDS", "render_template", "template_properties"]

PAGE_FIELDS = ("url", "id")
_PLACEHOLDER = re.compile(r"\{\{|\}\}|\{([^{}]+)\}")


def template_properties(template: str) -> list[str]:
    """The property names a template refers to (page fields left out), in order."""
    names = []
    for match in _PLACEHOLDER.finditer(template):
        name = match.group(1)
        if name is not None and name not in PAGE_FIELDS and name not in names:
            names.append(name)
    return names


@lru_cache(maxsize=1024)
def _compiled(template: str) -> tuple[tuple[str, str | None], ...]:
    """The template as (literal text, placeholder name or None) pairs, parsed once per template:
    rendering is most of the CPU of planning, and a mapping renders the same few templates."""
    parts: list[tuple[str, str | None]] = []
    literal: list[str] = []
    at = 0
    for match in _PLACEHOLDER.finditer(template):
        literal.append(template[at : match.start()])
        at = match.end()
        token = match.group(0)
        if token in ("{{", "}}"):
            literal.append(token[0])
            continue
        parts.append(("".join(literal), match.group(1)))
        literal = []
    literal.append(template[at:])
    parts.append(("".join(literal), None))
    return tuple(parts)


def render_template(template: str, row: Row, escape: Callable[[str], str] | None = None) -> str:
    """Fill a template from a row. ``escape`` is applied to each property value, not to the template."""
    out: list[str] = []
    for literal, name in _compiled(template):
        out.append(literal)
        if name is None:
            continue
        if name == "url":
            out.append(row.url)
        elif name == "id":
            out.append(row.id)
        else:
            prop = row.get(name)
            text = prop.text if prop is not None else ""
            out.append(escape(text) if escape else text)
    return "".join(out)
