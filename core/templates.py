"""Text templates: ``"{Name} is due {Due}\\n{url}"``.

``{Property Name}`` becomes the property's plain text. Any character but ``}`` may
stand in a name, so spaces, punctuation and non-ASCII work. ``{url}`` and ``{id}``
are the page's own URL and id. ``{{`` and ``}}`` are literal braces.
"""

from __future__ import annotations

import re
from collections.abc import Callable

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


def render_template(template: str, row: Row, escape: Callable[[str], str] | None = None) -> str:
    """Fill a template from a row. ``escape`` is applied to each property value, not to the template."""

    def replace(match: re.Match[str]) -> str:
        token = match.group(0)
        if token == "{{":
            return "{"
        if token == "}}":
            return "}"
        name = match.group(1)
        if name == "url":
            return row.url
        if name == "id":
            return row.id
        prop = row.get(name)
        text = prop.text if prop is not None else ""
        return escape(text) if escape else text

    return _PLACEHOLDER.sub(replace, template)
