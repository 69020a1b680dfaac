"""The webhook protocol's pure parts: signatures, the handshake, parsing, own edits, routing."""

from __future__ import annotations

from notion_sync.core.webhook_events import (
    MappingSource,
    handshake_token,
    only_own_bot,
    parse_event,
    route_event,
    sign,
    signature_ok,
)

DB = "8a1c2b3d-4e5f-4071-8293-a4b5c6d7e8f9"
DS = "11111111-2222-4333-8444-555555555555"
PAGE = "99999999-8888-4777-8666-555555555555"
BOT = "aaaaaaaa-bbbb-4ccc-8ddd-eeeeeeeeeeee"
SOURCES = [MappingSource("cal", DB, DS), MappingSource("board", DB, DS), MappingSource("other", DB, PAGE)]


def body(kind: str = "page.properties_updated", **data: object) -> dict[str, object]:
    return {
        "id": "e1",
        "type": kind,
        "authors": [{"id": "person-1", "type": "person"}],
        "entity": {"id": PAGE.replace("-", ""), "type": "page"},
        "data": data or {"parent": {"id": DB, "type": "database", "data_source_id": DS.replace("-", "")}},
    }


def test_signature_is_hmac_sha256_of_the_raw_body() -> None:
    raw = b'{"id": "e1"}'
    good = sign("secret_abc", raw)
    assert good.startswith("sha256=") and len(good) == 7 + 64
    assert signature_ok("secret_abc", raw, good)
    assert not signature_ok("secret_abc", raw + b" ", good)  # re-serialised JSON breaks it
    assert not signature_ok("secret_other", raw, good)
    assert not signature_ok(None, raw, good) and not signature_ok("secret_abc", raw, None)


def test_handshake_is_a_token_without_a_type() -> None:
    assert handshake_token({"verification_token": "secret_x"}) == "secret_x"
    assert handshake_token({"verification_token": "secret_x", "type": "page.created"}) is None
    assert handshake_token([1]) is None


def test_row_events_route_by_data_source_in_either_id_spelling() -> None:
    event = parse_event(body())
    assert event is not None and event.entity_id == PAGE and event.data_source_id == DS
    routed = route_event(event, SOURCES)
    assert routed.kind == "pages" and routed.mappings == ("cal", "board") and routed.page_id == PAGE


def test_a_database_parent_without_a_data_source_routes_by_database() -> None:
    event = parse_event(body(parent={"id": DB, "type": "database"}))
    assert event is not None
    assert route_event(event, SOURCES).mappings == ("cal", "board", "other")


def test_a_page_moved_away_still_reaches_the_mappings_that_have_its_item() -> None:
    event = parse_event(body("page.moved", parent={"id": "elsewhere", "type": "page"}))
    assert event is not None
    assert route_event(event, SOURCES).kind == "ignore"
    assert route_event(event, SOURCES, linked={PAGE: ["board"]}).mappings == ("board",)


def test_schema_and_other_types() -> None:
    schema = parse_event({**body("data_source.schema_updated"), "entity": {"id": DS, "type": "data_source"}})
    assert schema is not None and route_event(schema, SOURCES).mappings == ("cal", "board")
    for kind in ("comment.created", "database.schema_updated", "page.locked", "brand.new"):
        event = parse_event(body(kind))
        assert event is not None and route_event(event, SOURCES).kind == "ignore"
    assert parse_event({"type": "page.created"}) is None


def test_own_edits_are_those_with_only_the_bot_as_author() -> None:
    mine = parse_event({**body(), "authors": [{"id": BOT, "type": "bot"}]})
    both = parse_event({**body(), "authors": [{"id": BOT, "type": "bot"}, {"id": "p", "type": "person"}]})
    nobody = parse_event({**body(), "authors": []})
    assert mine is not None and both is not None and nobody is not None
    assert only_own_bot(mine, BOT.replace("-", ""))
    assert not only_own_bot(both, BOT) and not only_own_bot(nobody, BOT) and not only_own_bot(mine, None)
