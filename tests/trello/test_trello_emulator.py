"""The emulator answers like Trello: checked against Atlassian's OpenAPI and py-trello's own calls."""

from __future__ import annotations

import json
from typing import Any

import pytest
import requests
from trello import TrelloClient
from trello.card import Card
from trello.label import Label

from notion_sync.connectors.trello.client import TrelloTransport
from notion_sync.connectors.trello.emulator import LABEL_COLORS, LEGACY_ROUTES, SPEC_ROUTES
from notion_sync.core.adapter import Link
from notion_sync.core.pacing import Pacer
from tests.support.shared import spec as spec_file

from .testkit import World, desired, page

# Fields real Trello returns on a card that Atlassian's Card schema leaves out (it lists
# them only under badges, and POST/PUT take them): documented in the API notes.
_CARD_FIELDS_MISSING_FROM_SPEC = {"start", "dueComplete"}


# Card collections take ``fields`` per Trello's nested-resources guide
# (developer.atlassian.com/cloud/trello/guides/rest-api/nested-resources), which the OpenAPI omits.
# Collections page with ``limit`` and ``before`` (developers.trello.com/v1.0/docs/api-introduction#paging).
_PARAMS_MISSING_FROM_SPEC = {
    ("GET", "/boards/{id}/cards/{filter}"): {"fields", "limit", "before"},
    ("GET", "/boards/{id}/cards"): {"fields", "limit", "before"},
}


@pytest.fixture(scope="module")
def spec() -> dict[str, Any]:
    return json.loads(spec_file("trello-openapi.json").read_text())


def _params(spec: dict[str, Any], method: str, path: str) -> set[str]:
    item = spec["paths"][path]
    found = item.get("parameters", []) + item[method.lower()].get("parameters", [])
    return {p["name"] for p in found if "name" in p}


def _client(world: World) -> TrelloClient:
    transport = TrelloTransport(world.emu.url, Pacer(1000, 1.0))
    return TrelloClient(api_key=world.key, api_secret=world.token, http_service=transport)


def test_every_served_route_is_in_the_spec(spec: dict[str, Any]) -> None:
    for method, path in SPEC_ROUTES:
        assert path in spec["paths"], path
        assert method.lower() in spec["paths"][path], (method, path)
    for method, path in LEGACY_ROUTES:  # py-trello's setters: Trello serves them, the spec does not
        assert method.lower() not in spec["paths"].get(path, {})


def test_connector_sends_only_parameters_the_spec_knows(spec: dict[str, Any], world: World) -> None:
    conn, ctx = world.connector(), world.mapping(create_labels=True)
    row = page("Spec", status="In progress", due={"start": "2026-01-01", "end": "2026-01-02"}, tags=[("Docs", "green")])
    item = desired(conn, row, ctx)
    ref = conn.create(item, ctx)
    conn.recover([item], ctx)
    conn.update(Link(row.id, ref, None), item, ctx)
    conn.delete(Link(row.id, ref, item.payload), "archive", ctx)
    conn.check(ctx)
    conn.delete(Link(row.id, ref, item.payload), "delete", ctx)
    assert world.emu.params_seen
    for (method, path), names in world.emu.params_seen.items():
        known = _params(spec, method, path) | _PARAMS_MISSING_FROM_SPEC.get((method, path), set())
        assert names <= known, f"{method} {path}: {sorted(names - known)} not in the spec"


def test_card_and_list_and_label_shapes_match_the_schemas(spec: dict[str, Any], world: World) -> None:
    schemas = spec["components"]["schemas"]
    conn, ctx = world.connector(), world.mapping()
    ref = conn.create(desired(conn, page("Shape", tags=[("Bug", "red")]), ctx), ctx)
    client = _client(world)
    card = client.fetch_json(f"cards/{ref.id}")
    assert set(card) <= set(schemas["Card"]["properties"]) | _CARD_FIELDS_MISSING_FROM_SPEC
    assert set(card["badges"]) <= set(schemas["Card"]["properties"]["badges"]["properties"])
    for label in card["labels"]:
        assert set(label) - {"uses"} <= set(schemas["Label"]["properties"])
    lists = client.fetch_json(f"boards/{world.board['id']}/lists")
    assert all(set(x) <= set(schemas["TrelloList"]["properties"]) for x in lists)
    board = client.fetch_json(f"boards/{world.board['id']}", query_params={"fields": "all"})
    assert set(board) <= set(schemas["Board"]["properties"])
    assert set(LABEL_COLORS) == set(schemas["Color"]["enum"])
    token = client.fetch_json(f"tokens/{world.token}")
    assert set(token) <= set(schemas["Token"]["properties"])
    perm_props = set(schemas["TokenPermission"]["properties"])
    assert all(set(p) <= perm_props for p in token["permissions"])


def test_errors_are_plain_text_and_delete_answers_json(world: World) -> None:
    base, auth = world.emu.url, {"key": world.key, "token": world.token}
    r = requests.get(f"{base}/cards/5f00000000000000000000ff", params=auth, timeout=5)
    assert (r.status_code, r.text) == (404, "The requested resource was not found.")
    assert r.headers["content-type"].startswith("text/plain")
    r = requests.get(f"{base}/cards/nope", params=auth, timeout=5)
    assert (r.status_code, r.text) == (400, "invalid id")
    r = requests.post(f"{base}/cards", params={**auth, "idList": "5f00000000000000000000ff"}, timeout=5)
    assert (r.status_code, r.text) == (400, "invalid value for idList")
    r = requests.get(f"{base}/members/me", params={"key": world.key, "token": "wrong"}, timeout=5)
    assert (r.status_code, r.text) == (401, "invalid token")
    r = requests.get(f"{base}/members/me", params={"key": "wrong", "token": world.token}, timeout=5)
    assert (r.status_code, r.text) == (401, "invalid key")
    r = requests.get(f"{base}/members/me", params=auth, data="x=1", timeout=5)
    assert r.status_code == 403
    list_id = next(i for i, x in world.emu.lists.items() if x["idBoard"] == world.board["id"])
    r = requests.post(f"{base}/cards", params={**auth, "idList": list_id, "name": "x"}, timeout=5)
    assert r.status_code == 200
    r = requests.delete(f"{base}/cards/{r.json()['id']}", params=auth, timeout=5)
    assert (r.status_code, r.json()) == (200, {"limits": {}})


def test_cards_go_to_the_top_or_bottom_of_their_own_list(world: World) -> None:
    # Positions are Trello's: "bottom" is 65535 past the list's last card, "top" half its first,
    # counted over that list's cards only, after moves and deletes too.
    base, auth = world.emu.url, {"key": world.key, "token": world.token}
    first, second = [i for i, x in world.emu.lists.items() if x["idBoard"] == world.board["id"]][:2]

    def create(list_id: str, **extra: Any) -> dict[str, Any]:
        r = requests.post(f"{base}/cards", params={**auth, "idList": list_id, "name": "x", **extra}, timeout=5)
        assert r.status_code == 200, r.text
        return r.json()  # type: ignore[no-any-return]

    a, b = create(first), create(first)
    assert (a["pos"], b["pos"]) == (65535.0, 131070.0)
    assert create(second)["pos"] == 65535.0  # the other list's cards do not count
    assert create(first, pos="top")["pos"] == 65535.0 / 2
    moved = requests.put(f"{base}/cards/{b['id']}", params={**auth, "idList": second}, timeout=5).json()
    assert moved["pos"] == 131070.0  # the bottom of the list it joined
    assert create(first)["pos"] == 131070.0  # b left the first list: a is its last card again
    requests.delete(f"{base}/cards/{moved['id']}", params=auth, timeout=5)
    assert create(second)["pos"] == 131070.0
    world.emu.move_card(a["id"], second)
    assert world.emu.card(a["id"])["pos"] == 196605.0  # type: ignore[index]


def test_rate_limit_and_injected_faults_answer_like_trello(world: World) -> None:
    base, auth = world.emu.url, {"key": world.key, "token": world.token}
    world.emu.token_limit = (2, 60.0)
    codes = [requests.get(f"{base}/members/me", params=auth, timeout=5) for _ in range(3)]
    assert [r.status_code for r in codes] == [200, 200, 429]
    assert codes[2].json() == {"error": "API_TOKEN_LIMIT_EXCEEDED", "message": "Rate limit exceeded"}
    assert "retry-after" not in codes[2].headers
    world.emu.token_limit = None
    world.emu.server.faults.schedule(429)
    r = requests.get(f"{base}/members/me", params=auth, timeout=5)
    assert r.status_code == 429 and r.json()["error"] == "API_TOKEN_LIMIT_EXCEEDED"
    world.emu.server.faults.schedule(500)
    r = requests.get(f"{base}/members/me", params=auth, timeout=5)
    assert r.status_code == 500 and r.headers["content-type"].startswith("text/plain")


def test_py_trello_objects_and_legacy_setters_work(world: World) -> None:
    client = _client(world)
    board = client.get_board(world.board["id"])
    lists = board.list_lists()
    assert [x.name for x in lists] == ["To do", "Doing", "Done"]
    card = lists[0].add_card("Via py-trello", desc="d")
    card.set_name("Renamed")
    card.set_description("New")
    card.set_due_complete()
    card.set_closed(True)
    card.set_closed(False)
    label = Label(client, next(i for i, x in world.emu.labels.items() if x["name"] == "Bug"), "Bug")
    card.add_label(label)
    card.change_list(lists[2].id)
    stored = world.emu.card(card.id)
    assert stored is not None
    assert (stored["name"], stored["desc"], stored["dueComplete"], stored["closed"]) == ("Renamed", "New", True, False)
    assert world.lists_by_id()[stored["idList"]] == "Done" and world.label_names(stored) == ["Bug"]
    assert world.emu.server.request_count(r"^PUT /1/cards/[^/]+/name$") == 1
    card.remove_label(label)
    assert world.emu.card(card.id)["idLabels"] == []
    fetched = Card(lists[2], card.id)
    fetched.fetch(eager=False)
    assert fetched.name == "Renamed"
    assert [c.name for c in lists[2].list_cards()] == ["Renamed"]
    card.delete()
    assert world.emu.card(card.id) is None
