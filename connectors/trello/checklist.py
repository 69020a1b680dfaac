"""A card's "Notion" checklist: the page's to-do blocks, ticks included, one request per
changed item (``checklist = true``)."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

__all__ = ["CHECKLIST_NAME", "Call", "sync_checklist"]

CHECKLIST_NAME = "Notion"
"""The checklist notion-sync owns on each card; other checklists are left alone."""

Call = Callable[..., Any]
"""``TrelloConnector.call``: (what, path, method, query=..., body=...) -> the reply."""


def sync_checklist(call: Call, card_id: str, items: Sequence[Sequence[Any]]) -> int:
    """Make the card's "Notion" checklist hold ``items`` ((text, ticked) in order): rename or
    tick what changed in place, add what is missing, delete what is left over, each in one
    request; without to-dos the checklist is removed. Returns the writes sent."""
    wanted = [(str(text).strip() or "(empty)", bool(ticked)) for text, ticked in items]
    lists = call("read the card's checklists", f"cards/{card_id}/checklists") or []
    ours = next((c for c in lists if c.get("name") == CHECKLIST_NAME), None)
    writes = 0
    if ours is None:
        if not wanted:
            return 0
        ours = call("add the Notion checklist", f"cards/{card_id}/checklists", "POST", body={"name": CHECKLIST_NAME})
        ours.setdefault("checkItems", [])
        writes += 1
    elif not wanted:
        call("remove the Notion checklist", f"checklists/{ours['id']}", "DELETE")
        return 1
    have = sorted(ours.get("checkItems") or [], key=lambda i: i.get("pos", 0))
    for position, (text, ticked) in enumerate(wanted):
        if position < len(have):
            item = have[position]
            change: dict[str, Any] = {}
            if item.get("name") != text:
                change["name"] = text
            if (item.get("state") == "complete") != ticked:
                change["state"] = "complete" if ticked else "incomplete"
            if change:
                call("update a checklist item", f"cards/{card_id}/checkItem/{item['id']}", "PUT", body=change)
                writes += 1
        else:
            call(
                "add a checklist item",
                f"checklists/{ours['id']}/checkItems",
                "POST",
                body={"name": text, "checked": "true" if ticked else "false"},
            )
            writes += 1
    for item in have[len(wanted) :]:
        call("remove a checklist item", f"checklists/{ours['id']}/checkItems/{item['id']}", "DELETE")
        writes += 1
    return writes
