"""A page's body: its content blocks as ``BodyBlock`` values, and as text in a target's markup.

``blocks_from_api`` reads block objects as ``GET /v1/blocks/{id}/children`` returns them
(https://developers.notion.com/reference/block); the engine reads one level of children of
each block that has some. ``render_body`` writes paragraphs, headings, bulleted and numbered
lists, to-dos (☐/☑), quotes, callouts, toggles, code and dividers, children indented below
their parent; other block types (images, tables, embeds...) are left out.

A body is stored in the state (``to_json``/``from_json``) so that a row whose page was not
edited since is rendered without reading its body again.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any

from notion_sync.core.richtext import PLAIN, Markup, Span, render_spans, spans

__all__ = ["BODY_TYPES", "BodyBlock", "blocks_from_api", "from_json", "render_body", "to_json", "todo_items"]

BODY_TYPES = frozenset(
    {
        "paragraph",
        "heading_1",
        "heading_2",
        "heading_3",
        "bulleted_list_item",
        "numbered_list_item",
        "to_do",
        "quote",
        "callout",
        "toggle",
        "code",
        "divider",
    }
)
"""The block types a body shows; the rest are left out."""


@dataclass(frozen=True)
class BodyBlock:
    """One block of a page body: its type, text, to-do tick, callout icon and children."""

    type: str
    text: tuple[Span, ...] = ()
    checked: bool = False
    icon: str = ""
    id: str = ""
    children: tuple[BodyBlock, ...] = field(default_factory=tuple)


def blocks_from_api(
    results: Iterable[dict[str, Any]], children: Callable[[str], list[dict[str, Any]]] | None = None
) -> tuple[BodyBlock, ...]:
    """Block objects as the API returns them; ``children(block_id)`` reads a block's children
    (one level: the children's own children are not read)."""
    out: list[BodyBlock] = []
    for raw in results:
        kind = str(raw.get("type", ""))
        if kind not in BODY_TYPES or raw.get("in_trash") or raw.get("archived"):
            continue
        content = raw.get(kind) or {}
        icon = content.get("icon") or {}
        nested: tuple[BodyBlock, ...] = ()
        if children is not None and raw.get("has_children"):
            nested = blocks_from_api(children(str(raw["id"])))
        out.append(
            BodyBlock(
                kind,
                tuple(spans(content.get("rich_text"))),
                bool(content.get("checked")),
                str(icon.get("emoji") or "") if isinstance(icon, dict) else "",
                str(raw.get("id", "")),
                nested,
            )
        )
    return tuple(out)


def _line(block: BodyBlock, markup: Markup, number: int) -> str:
    text = render_spans(block.text, markup)
    kind = block.type
    if kind.startswith("heading_"):
        return markup.heading(text, int(kind[-1])) if text else ""
    if kind == "bulleted_list_item":
        return f"{markup.bullet} {text}"
    if kind == "numbered_list_item":
        return f"{number}. {text}"
    if kind == "to_do":
        return f"{'☑' if block.checked else '☐'} {text}"
    if kind == "quote":
        return markup.quote(text)
    if kind == "callout":
        return f"{markup.escape(block.icon)} {text}" if block.icon else text
    if kind == "code":
        return markup.code_block("".join(s.text for s in block.text))
    if kind == "divider":
        return markup.divider
    return text


def body_lines(blocks: Sequence[BodyBlock], markup: Markup = PLAIN, indent: str = "") -> list[str]:
    """The body as lines (a block's children after it, indented), one entry per block: a text is
    cut between entries, so its markup stays whole."""
    lines: list[str] = []
    number = 0
    for block in blocks:
        number = number + 1 if block.type == "numbered_list_item" else 0
        line = _line(block, markup, number)
        lines.append(indent + line.replace("\n", "\n" + indent) if indent else line)
        if block.children:
            lines.extend(body_lines(block.children, markup, indent + "    "))
    return lines


def render_body(blocks: Sequence[BodyBlock], markup: Markup = PLAIN) -> str:
    """The body as text in ``markup`` (plain text by default), one block a line."""
    return "\n".join(body_lines(blocks, markup))


def todo_items(blocks: Sequence[BodyBlock]) -> list[tuple[str, bool]]:
    """The body's to-dos (children included), as (plain text, ticked)."""
    found: list[tuple[str, bool]] = []
    for block in blocks:
        if block.type == "to_do":
            found.append(("".join(s.text for s in block.text), block.checked))
        found.extend(todo_items(block.children))
    return found


def _span_json(span: Span) -> list[Any]:
    return [span.text, int(span.bold), int(span.italic), int(span.strike), int(span.code), span.href]


def _block_json(block: BodyBlock) -> dict[str, Any]:
    out: dict[str, Any] = {"t": block.type, "s": [_span_json(s) for s in block.text]}
    if block.checked:
        out["c"] = 1
    if block.icon:
        out["i"] = block.icon
    if block.children:
        out["k"] = [_block_json(b) for b in block.children]
    return out


def to_json(blocks: Sequence[BodyBlock]) -> str:
    """A body as compact JSON, for the state."""
    return json.dumps([_block_json(b) for b in blocks], ensure_ascii=False, separators=(",", ":"))


def _block_from(raw: dict[str, Any]) -> BodyBlock:
    return BodyBlock(
        str(raw["t"]),
        tuple(Span(str(t), bool(b), bool(i), bool(s), bool(c), h) for t, b, i, s, c, h in raw.get("s", [])),
        bool(raw.get("c")),
        str(raw.get("i", "")),
        "",
        tuple(_block_from(k) for k in raw.get("k", [])),
    )


def from_json(text: str) -> tuple[BodyBlock, ...]:
    """A body stored with ``to_json``."""
    return tuple(_block_from(raw) for raw in json.loads(text))
