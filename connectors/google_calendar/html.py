"""Google Calendar descriptions in HTML: escaping values and writing rich text.

Google Calendar shows an event's description as HTML (``<b>``, ``<i>``, ``<s>``, ``<code>``,
``<a href>``), so a plain value's ``<`` and ``&`` are escaped.
"""

from __future__ import annotations

import html

from notion_sync.sdk import Markup

__all__ = ["MARKUP", "escape"]


def escape(value: str) -> str:
    """A value as literal HTML text (``<``, ``>`` and ``&`` as entities)."""
    return html.escape(value, quote=False)


def _link(text: str, url: str) -> str:
    return f'<a href="{html.escape(url, quote=True)}">{text}</a>'


MARKUP = Markup(
    escape=escape,
    bold=lambda text: f"<b>{text}</b>",
    italic=lambda text: f"<i>{text}</i>",
    strike=lambda text: f"<s>{text}</s>",
    code=lambda text: f"<code>{escape(text)}</code>",
    link=_link,
    heading=lambda text, level: f"<b>{text}</b>",
    quote=lambda text: f"<blockquote>{text}</blockquote>",
    code_block=lambda text: f"<pre>{escape(text)}</pre>",
    divider="<hr>",
)
"""Rich text in the HTML Google Calendar descriptions take."""
