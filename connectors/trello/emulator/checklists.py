"""Card checklists in the Trello emulator, the endpoints py-trello uses
(https://developer.atlassian.com/cloud/trello/rest/api-group-checklists/):

* ``GET /1/cards/{id}/checklists`` and ``POST /1/cards/{id}/checklists`` (``name``);
* ``POST /1/checklists/{id}/checkItems`` (``name``, ``checked``, ``pos``);
* ``PUT /1/cards/{card}/checkItem/{item}`` and the older
  ``PUT /1/cards/{card}/checklist/{checklist}/checkItem/{item}`` (``name``, ``state``);
* ``DELETE /1/checklists/{id}/checkItems/{item}`` and ``DELETE /1/checklists/{id}``.

A card's ``idChecklists`` and its ``checkItems``/``checkItemsChecked`` badges follow.
"""

from __future__ import annotations

from copy import deepcopy
from typing import TYPE_CHECKING, Any

from .values import TRELLO_ID, TrelloReply

__all__ = ["TrelloChecklists"]


def _truthy(value: Any) -> bool:
    return str(value).lower() in ("true", "1", "complete")


class TrelloChecklists:
    """Mixed into the Trello emulator: checklist state and its endpoints."""

    if TYPE_CHECKING:
        _cards: dict[str, dict[str, Any]]

        def _card(self, grant: dict[str, Any], card_id: str, *, write: bool = False) -> dict[str, Any]: ...

        def _new_id(self) -> str: ...

    def _init_checklists(self) -> None:
        self.checklists: dict[str, dict[str, Any]] = {}
        """Checklist id -> ``{"id", "name", "idCard", "idBoard", "pos", "checkItems": [...]}``."""

    def card_checklists(self, card_id: str) -> list[dict[str, Any]]:
        """A card's checklists as the API shows them (for tests and the demo)."""
        return [deepcopy(c) for c in sorted(self.checklists.values(), key=lambda c: c["pos"]) if c["idCard"] == card_id]

    def _checklist(self, grant: dict[str, Any], checklist_id: str, *, write: bool = False) -> dict[str, Any]:
        if not TRELLO_ID.match(checklist_id):
            raise TrelloReply(400, "invalid id")
        found = self.checklists.get(checklist_id)
        if found is None:
            raise TrelloReply(404, "The requested resource was not found.")
        self._card(grant, found["idCard"], write=write)
        return found

    def _badges(self, card_id: str) -> None:
        card = self._cards.get(card_id)
        if card is None:
            return
        mine = [c for c in self.checklists.values() if c["idCard"] == card_id]
        card["idChecklists"] = [c["id"] for c in sorted(mine, key=lambda c: c["pos"])]
        items = [i for c in mine for i in c["checkItems"]]
        card["badges"]["checkItems"] = len(items)
        card["badges"]["checkItemsChecked"] = sum(i["state"] == "complete" for i in items)

    def _get_card_checklists(self, grant: dict[str, Any], params: dict[str, Any], path: dict[str, str]) -> Any:
        card = self._card(grant, path["id"])
        return self.card_checklists(card["id"])

    def _post_card_checklist(self, grant: dict[str, Any], params: dict[str, Any], path: dict[str, str]) -> Any:
        card = self._card(grant, path["id"], write=True)
        checklist = {
            "id": self._new_id(),
            "name": str(params.get("name") or ""),
            "idCard": card["id"],
            "idBoard": card["idBoard"],
            "pos": 16384 * (1 + sum(c["idCard"] == card["id"] for c in self.checklists.values())),
            "checkItems": [],
        }
        self.checklists[checklist["id"]] = checklist
        self._badges(card["id"])
        return deepcopy(checklist)

    def _post_check_item(self, grant: dict[str, Any], params: dict[str, Any], path: dict[str, str]) -> Any:
        checklist = self._checklist(grant, path["id"], write=True)
        name = str(params.get("name") or "").strip()
        if not name:
            raise TrelloReply(400, "invalid value for name")
        items = checklist["checkItems"]
        item = {
            "id": self._new_id(),
            "name": name,
            "state": "complete" if _truthy(params.get("checked", False)) else "incomplete",
            "idChecklist": checklist["id"],
            "pos": (max((i["pos"] for i in items), default=0) + 16384),
            "due": None,
            "idMember": None,
        }
        items.append(item)
        self._badges(checklist["idCard"])
        return deepcopy(item)

    def _put_check_item(self, grant: dict[str, Any], params: dict[str, Any], path: dict[str, str]) -> Any:
        card = self._card(grant, path["id"], write=True)
        for checklist in self.checklists.values():
            if checklist["idCard"] != card["id"]:
                continue
            for item in checklist["checkItems"]:
                if item["id"] == path["item"]:
                    if "name" in params:
                        name = str(params["name"]).strip()
                        if not name:
                            raise TrelloReply(400, "invalid value for name")
                        item["name"] = name
                    if "state" in params:
                        if params["state"] not in ("complete", "incomplete", "true", "false"):
                            raise TrelloReply(400, "invalid value for state")
                        item["state"] = "complete" if _truthy(params["state"]) else "incomplete"
                    self._badges(card["id"])
                    return deepcopy(item)
        raise TrelloReply(404, "The requested resource was not found.")

    def _delete_check_item(self, grant: dict[str, Any], params: dict[str, Any], path: dict[str, str]) -> Any:
        checklist = self._checklist(grant, path["id"], write=True)
        before = len(checklist["checkItems"])
        checklist["checkItems"] = [i for i in checklist["checkItems"] if i["id"] != path["item"]]
        if len(checklist["checkItems"]) == before:
            raise TrelloReply(404, "The requested resource was not found.")
        self._badges(checklist["idCard"])
        return {"limits": {}}

    def _delete_checklist(self, grant: dict[str, Any], params: dict[str, Any], path: dict[str, str]) -> Any:
        checklist = self._checklist(grant, path["id"], write=True)
        del self.checklists[checklist["id"]]
        self._badges(checklist["idCard"])
        return {"limits": {}}
