"""Page bodies in the Notion emulator: blocks, ``GET /v1/blocks/{id}/children`` and
``PATCH /v1/blocks/{id}``.

notion-sync reads no page bodies; other clients do (a peer tool mirroring a page's text, a
test of a script that appends to-dos). Blocks are stored per parent (a page or a block) in
order; the children endpoint lists one level with ``has_children`` on each block and
paginates with Notion's cursors, so a client walks nested bodies as it does against Notion
(https://developers.notion.com/reference/get-block-children). ``PATCH`` changes a block's
text (``{"<type>": {"rich_text": [...]}}``, the type must stay) or trashes it
(https://developers.notion.com/reference/update-a-block).
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from datetime import datetime
from typing import TYPE_CHECKING, Any

from notion_sync.core.emulator.notion_state import CursorState, NotionAPIError, PageState, TokenState
from notion_sync.core.emulator.notion_values import format_page_time, new_uuid, normalize_id, normalize_rich_text

if TYPE_CHECKING:
    import random

__all__ = ["BLOCK_TYPES", "BlockState", "NotionBlocks"]

BLOCK_TYPES = frozenset(
    {
        "paragraph",
        "heading_1",
        "heading_2",
        "heading_3",
        "to_do",
        "bulleted_list_item",
        "numbered_list_item",
        "quote",
        "callout",
        "toggle",
        "code",
        "divider",
    }
)
"""Block types the emulator stores (text blocks and dividers); others are refused when seeding."""


@dataclass
class BlockState:
    """One block: its type, rich text, parent (a page or a block) and the page it belongs to."""

    id: str
    type: str
    text: list[dict[str, Any]]
    parent_id: str
    parent_is_page: bool
    page_id: str
    created: datetime
    edited: datetime
    checked: bool = False
    in_trash: bool = False
    children: list[str] = field(default_factory=list)


class NotionBlocks:
    """Mixed into ``NotionEmulator``: block state, setup and the two block endpoints."""

    if TYPE_CHECKING:
        _rng: random.Random
        _pages: dict[str, PageState]
        _cursors: dict[str, CursorState]
        owner_id: str

        def now(self) -> datetime: ...

        def _page_for(self, token: TokenState, raw_id: str) -> PageState: ...

        @staticmethod
        def _page_size(raw: Any, where: str) -> int: ...

        def _cursor(self, raw: Any, owner: str, where: str) -> CursorState: ...

        def _store_cursor(self, cursor: CursorState) -> str: ...

        @staticmethod
        def _path_id(raw: str, what: str) -> str: ...

    def _init_blocks(self) -> None:
        self._blocks: dict[str, BlockState] = {}
        self._body: dict[str, list[str]] = {}
        """Page id → its top-level block ids, in order."""

    def add_blocks(self, parent_id: str, blocks: list[dict[str, Any]]) -> list[str]:
        """Append blocks (``{"type", "text", "checked", "children"}``) to a page or a block; returns their
        ids. ``text`` is a string or rich text items (annotations and links kept). As in Notion, the
        page's ``last_edited_time`` becomes now."""
        parent = normalize_id(parent_id) or parent_id
        if parent in self._pages:
            page_id, siblings, is_page = parent, self._body.setdefault(parent, []), True
        elif parent in self._blocks:
            page_id, siblings, is_page = self._blocks[parent].page_id, self._blocks[parent].children, False
        else:
            raise KeyError(f"no page or block {parent_id}")
        ids = []
        for spec in blocks:
            kind = spec.get("type", "paragraph")
            if kind not in BLOCK_TYPES:
                raise ValueError(f"block type {kind!r} is not emulated; use one of {', '.join(sorted(BLOCK_TYPES))}")
            now = self.now()
            block = BlockState(
                new_uuid(self._rng),
                kind,
                normalize_rich_text(spec.get("text") or None),
                parent,
                is_page,
                page_id,
                now,
                now,
                bool(spec.get("checked")),
            )
            self._blocks[block.id] = block
            siblings.append(block.id)
            ids.append(block.id)
            if spec.get("children"):
                self.add_blocks(block.id, list(spec["children"]))
        self._touch(page_id)
        return ids

    def _touch(self, page_id: str) -> None:
        """A body edit is an edit of the page: its ``last_edited_time`` moves."""
        page = self._pages.get(page_id)
        if page is not None:
            page.edited = self.now()

    def set_block(self, block_id: str, *, text: Any = None, checked: bool | None = None) -> None:
        """Change a block's text (a string or rich text items) or its tick, as an edit in Notion would."""
        block = self._blocks[normalize_id(block_id) or block_id]
        if text is not None:
            block.text = normalize_rich_text(text)
        if checked is not None:
            block.checked = checked
        block.edited = self.now()
        self._touch(block.page_id)

    def _append_request_blocks(self, parent_id: str, children: list[Any]) -> None:
        """Store block objects as a request writes them (``{"type": T, T: {"rich_text": [...]}}``)."""
        specs = []
        for child in children:
            kind = child.get("type") if isinstance(child, dict) else None
            if kind not in BLOCK_TYPES:
                raise NotionAPIError(
                    400,
                    "validation_error",
                    f"body failed validation: children[].type should be one of the emulated block types "
                    f"({', '.join(sorted(BLOCK_TYPES))}), instead was `{json.dumps(kind)}`.",
                )
            content = child.get(kind) or {}
            specs.append(
                {
                    "type": kind,
                    "text": _request_text(content.get("rich_text") or []),
                    "checked": content.get("checked"),
                    "children": [],
                }
            )
        ids = self.add_blocks(parent_id, specs)
        for block_id, child in zip(ids, children, strict=True):
            nested = (child.get(child["type"]) or {}).get("children")
            if nested:
                self._append_request_blocks(block_id, nested)

    def _block_json(self, block: BlockState, version: str) -> dict[str, Any]:
        content: dict[str, Any] = {"rich_text": json.loads(json.dumps(block.text)), "color": "default"}
        if block.type == "divider":
            content = {}
        elif block.type == "to_do":
            content["checked"] = block.checked
        elif block.type.startswith("heading_"):
            content["is_toggleable"] = False
        elif block.type == "code":
            content = {"rich_text": content["rich_text"], "caption": [], "language": "plain text"}
        elif block.type == "callout":
            content["icon"] = None
        parent = (
            {"type": "page_id", "page_id": block.parent_id}
            if block.parent_is_page
            else {"type": "block_id", "block_id": block.parent_id}
        )
        body: dict[str, Any] = {
            "object": "block",
            "id": block.id,
            "parent": parent,
            "created_time": format_page_time(block.created),
            "last_edited_time": format_page_time(block.edited),
            "created_by": {"object": "user", "id": self.owner_id},
            "last_edited_by": {"object": "user", "id": self.owner_id},
            "has_children": any(not self._blocks[c].in_trash for c in block.children),
            "in_trash": block.in_trash,
            "type": block.type,
            block.type: content,
        }
        if version != "2026-03-11":
            body["archived"] = block.in_trash
        return body

    def _offset_page(self, ids: list[str], params: Any, owner: str) -> tuple[list[str], str | None]:
        """One page of a GET list endpoint (``page_size``, ``start_cursor`` in the query string)
        over ``ids``: the ids on it and the next cursor (None on the last page)."""
        page_size = self._page_size(params.get("page_size"), "query")
        start = self._cursor(params["start_cursor"], owner, "query").position if params.get("start_cursor") else 0
        more = start + page_size < len(ids)
        cursor = self._store_cursor(CursorState([], start + page_size, 0, owner)) if more else None
        return ids[start : start + page_size], cursor

    def _block_for(self, token: TokenState, raw_id: str) -> BlockState:
        block_id = self._path_id(raw_id, "block")
        block = self._blocks.get(block_id)
        if block is None:
            raise NotionAPIError(
                404,
                "object_not_found",
                f"Could not find block with ID: {block_id}. Make sure the relevant pages and databases "
                "are shared with your integration.",
            )
        self._page_for(token, block.page_id)  # the page's sharing decides, as in Notion
        return block

    def _block_children(self, token: TokenState, version: str, raw_id: str, params: Any) -> dict[str, Any]:
        parent_id = self._path_id(raw_id, "block")
        if parent_id in self._pages:
            self._page_for(token, parent_id)
            ids = self._body.get(parent_id, [])
        else:
            ids = self._block_for(token, raw_id).children
        live = [i for i in ids if not self._blocks[i].in_trash]
        chunk, next_cursor = self._offset_page(live, params, f"blocks:{parent_id}")
        return {
            "object": "list",
            "results": [self._block_json(self._blocks[i], version) for i in chunk],
            "next_cursor": next_cursor,
            "has_more": next_cursor is not None,
            "type": "block",
            "block": {},
        }

    def _patch_block(self, token: TokenState, version: str, raw_id: str, body: dict[str, Any]) -> dict[str, Any]:
        block = self._block_for(token, raw_id)
        trash = body.get("in_trash", body.get("archived"))
        if trash is not None:
            if not isinstance(trash, bool):
                raise NotionAPIError(
                    400, "validation_error", "body failed validation: body.in_trash should be a boolean."
                )
            block.in_trash = trash
        others = [k for k in body if k not in ("in_trash", "archived")]
        for key in others:
            if key != block.type:
                raise NotionAPIError(
                    400,
                    "validation_error",
                    f"body failed validation: body.{key} should be not present (the block is a {block.type}; "
                    "a block's type cannot change).",
                )
            content = body[key]
            if not isinstance(content, dict):
                raise NotionAPIError(
                    400, "validation_error", f"body failed validation: body.{key} should be an object."
                )
            if "rich_text" in content:
                items = content["rich_text"]
                if not isinstance(items, list):
                    raise NotionAPIError(
                        400, "validation_error", f"body failed validation: body.{key}.rich_text should be an array."
                    )
                block.text = _request_text(items)
            if "checked" in content and block.type == "to_do":
                block.checked = bool(content["checked"])
        block.edited = self.now()
        self._touch(block.page_id)
        return self._block_json(block, version)


def _request_text(items: list[Any]) -> list[dict[str, Any]]:
    """Rich text items as a request sends them, completed as Notion stores them (annotations and
    links kept)."""
    return normalize_rich_text([i for i in items if isinstance(i, dict) and i.get("type", "text") == "text"])
