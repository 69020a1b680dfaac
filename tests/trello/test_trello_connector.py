"""The connector driving the real py-trello client against the emulator."""

from __future__ import annotations

from pathlib import Path

import httpx
import pytest

from notion_sync.connectors.trello.connector import TrelloConnector
from notion_sync.connectors.trello.markers import parse_marker
from notion_sync.core.adapter import Link
from notion_sync.core.errors import AccessError, ConfigError, FatalError
from notion_sync.core.sandbox import Sandbox

from .testkit import World, desired, page


def writes(world: World) -> int:
    return world.emu.server.request_count(r"^(POST|PUT|DELETE) ")


def test_create_puts_the_card_in_its_list_with_one_request(world: World) -> None:
    conn, ctx = world.connector(), world.mapping()
    conn.prepare(ctx)
    assert world.emu.server.request_count(r"^GET ") == 3  # board, lists, labels
    row = page("Write docs", status="In progress", notes="Explain setup", tags=[("Bug", "red")])
    before = sum(world.emu.server.requests.values())
    ref = conn.create(desired(conn, row, ctx), ctx)
    assert sum(world.emu.server.requests.values()) - before == 1
    assert world.emu.server.requests["POST /1/cards"] == 1
    card = world.emu.card(ref.id)
    assert card is not None
    assert card["name"] == "Write docs"
    assert world.lists_by_id()[card["idList"]] == "Doing"
    assert card["desc"] == f"Explain setup\n\nnotion-sync: tasks {row.id}"
    assert world.label_names(card) == ["Bug"]


def test_status_change_moves_the_card_with_one_put(world: World) -> None:
    conn, ctx = world.connector(), world.mapping()
    row = page("Task", status="Not started")
    item = desired(conn, row, ctx)
    ref = conn.create(item, ctx)
    moved = desired(conn, page("Task", page_id=row.id, status="Done"), ctx)
    before = sum(world.emu.server.requests.values())
    conn.update(Link(row.id, ref, item.payload), moved, ctx)
    assert sum(world.emu.server.requests.values()) - before == 1
    assert world.emu.server.request_count(rf"^PUT /1/cards/{ref.id}$") == 1
    card = world.emu.card(ref.id)
    assert card is not None
    assert world.lists_by_id()[card["idList"]] == "Done"
    assert card["dueComplete"] is True
    # No legacy per-field route and no read-back of the card.
    assert world.emu.server.request_count(r"/1/cards/[^/]+/") == 0
    assert world.emu.server.request_count(r"^GET /1/cards") == 0


def test_position_top_applies_on_create_and_on_list_moves_only(world: World) -> None:
    conn, ctx = world.connector(), world.mapping(fields={"position": "top"})
    first = conn.create(desired(conn, page("First"), ctx), ctx)
    row = page("Second")
    item = desired(conn, row, ctx)
    second = conn.create(item, ctx)
    pos = {c["id"]: c["pos"] for c in world.emu.cards()}
    assert pos[second.id] < pos[first.id]
    conn.update(Link(row.id, second, item.payload), desired(conn, page("Second!", page_id=row.id), ctx), ctx)
    assert world.emu.card(second.id)["pos"] == pos[second.id]  # same list: not moved


def test_labels_created_with_colours_and_removed(world: World) -> None:
    conn, ctx = world.connector(), world.mapping(create_labels=True)
    row = page("Tagged", tags=[("Bug", "red"), ("Feature", "blue"), ("Later", "brown")])
    item = desired(conn, row, ctx)
    ref = conn.create(item, ctx)
    labels = {x["name"]: x["color"] for x in world.emu.labels.values() if x["idBoard"] == world.board["id"]}
    assert labels == {"Bug": "red", "Feature": "blue", "Later": None}
    assert world.emu.server.request_count(r"^POST /1/boards/[^/]+/labels$") == 2  # Bug existed
    assert world.label_names(world.emu.card(ref.id)) == ["Bug", "Feature", "Later"]
    # A second card reuses the labels created for the first.
    conn.create(desired(conn, page("Again", tags=[("Feature", "blue")]), ctx), ctx)
    assert world.emu.server.request_count(r"^POST /1/boards/[^/]+/labels$") == 2
    fewer = desired(conn, page("Tagged", page_id=row.id, tags=[("Feature", "blue")]), ctx)
    conn.update(Link(row.id, ref, item.payload), fewer, ctx)
    assert world.label_names(world.emu.card(ref.id)) == ["Feature"]
    none = desired(conn, page("Tagged", page_id=row.id), ctx)
    conn.update(Link(row.id, ref, fewer.payload), none, ctx)
    assert world.emu.card(ref.id)["idLabels"] == []


def test_label_creation_failing_ambiguously_is_not_duplicated(world: World) -> None:
    conn, ctx = world.connector(), world.mapping(create_labels=True)
    conn.prepare(ctx)
    world.emu.add_label(world.board["id"], "Docs", "green")  # written, but the reply was lost:
    world.emu.server.faults.schedule(500, path=r"/labels$", method="POST")
    ref = conn.create(desired(conn, page("T", tags=[("Docs", "green")]), ctx), ctx)
    assert [x["name"] for x in world.emu.labels.values()].count("Docs") == 1
    assert world.label_names(world.emu.card(ref.id)) == ["Docs"]


def test_missing_labels_are_left_off_without_create_labels(world: World, caplog: pytest.LogCaptureFixture) -> None:
    conn, ctx = world.connector(), world.mapping()
    ref = conn.create(desired(conn, page("T", tags=[("Bug", "red"), ("Nope", "blue")]), ctx), ctx)
    assert world.label_names(world.emu.card(ref.id)) == ["Bug"]
    assert world.emu.server.request_count(r"labels$") == 1  # the one GET in prepare
    assert "no label 'Nope'" in caplog.text


def test_due_and_due_complete(world: World) -> None:
    conn, ctx = world.connector(), world.mapping()
    row = page("Dated", due={"start": "2026-03-02", "end": "2026-03-04"})
    item = desired(conn, row, ctx)
    ref = conn.create(item, ctx)
    card = world.emu.card(ref.id)
    assert (card["start"], card["due"], card["dueComplete"]) == (
        "2026-03-01T23:00:00.000Z",
        "2026-03-04T22:59:00.000Z",
        False,
    )
    done = desired(
        conn,
        page("Dated", page_id=row.id, status="Done", due={"start": "2026-03-05T10:00:00.000+00:00", "end": None}),
        ctx,
    )
    conn.update(Link(row.id, ref, item.payload), done, ctx)
    card = world.emu.card(ref.id)
    assert (card["start"], card["due"], card["dueComplete"]) == (None, "2026-03-05T10:00:00.000Z", True)
    cleared = desired(conn, page("Dated", page_id=row.id, status="Done"), ctx)
    conn.update(Link(row.id, ref, done.payload), cleared, ctx)
    assert world.emu.card(ref.id)["due"] is None


def test_archive_then_unarchive_when_the_row_comes_back(world: World) -> None:
    conn, ctx = world.connector(), world.mapping()
    row = page("Trashed")
    item = desired(conn, row, ctx)
    ref = conn.create(item, ctx)
    assert conn.delete(Link(row.id, ref, item.payload), "archive", ctx) == ref
    assert world.emu.card(ref.id)["closed"] is True
    back = conn.update(Link(row.id, ref, item.payload, archived=True), item, ctx)
    assert back.id == ref.id
    assert world.emu.card(ref.id)["closed"] is False
    assert len(world.emu.cards()) == 1


def test_delete_mode(world: World) -> None:
    conn, ctx = world.connector(), world.mapping(on_delete="delete")
    row = page("Gone")
    item = desired(conn, row, ctx)
    ref = conn.create(item, ctx)
    link = Link(row.id, ref, item.payload)
    assert conn.delete(link, "delete", ctx) is None
    assert world.emu.card(ref.id) is None
    # Already gone counts as done, for both modes.
    assert conn.delete(link, "delete", ctx) is None
    assert conn.delete(link, "archive", ctx) is None


def test_update_of_a_card_deleted_in_trello_creates_it_again(world: World) -> None:
    conn, ctx = world.connector(), world.mapping()
    row = page("Phoenix")
    item = desired(conn, row, ctx)
    ref = conn.create(item, ctx)
    world.emu._cards.pop(ref.id)
    new = conn.update(Link(row.id, ref, item.payload), item, ctx)
    assert new.id != ref.id
    assert [c["name"] for c in world.emu.cards()] == ["Phoenix"]


def test_crash_after_create_is_recovered_without_duplicate(world: World) -> None:
    ctx = World.mapping(world)
    first = world.connector()
    rows = [page(f"Row {i}") for i in range(3)]
    items = [desired(first, r, ctx) for r in rows]
    written = first.create(items[0], ctx)  # ...and the process dies before the state records it
    first.create(items[1], ctx)
    first.delete(Link(rows[1].id, first.recover([items[1]], ctx)[rows[1].id], None), "archive", ctx)
    first.close()

    second, ctx = world.connector(), World.mapping(world)  # the next run: its own context and run cache
    second.prepare(ctx)
    before = world.emu.server.request_count(r"^GET ")
    found = second.recover(items, ctx)
    assert world.emu.server.request_count(r"^GET ") - before == 1  # one bulk read
    assert world.emu.server.request_count(r"cards/all$") >= 1
    assert found[rows[0].id].id == written.id
    assert rows[1].id in found  # archived cards are found too
    assert rows[2].id not in found
    # The engine then updates the recovered card (payload unknown) instead of creating one.
    second.update(Link(rows[1].id, found[rows[1].id], None), items[1], ctx)
    assert world.emu.card(found[rows[1].id].id)["closed"] is False
    assert len(world.emu.cards()) == 2


def test_recover_pages_through_big_boards(world: World) -> None:
    conn, ctx = world.connector(), world.mapping()
    conn.cards_page_size = 3  # Trello's page is 1000 cards
    rows = [page(f"Card {i}") for i in range(7)]
    items = [desired(conn, r, ctx) for r in rows]
    refs = {r.id: conn.create(i, ctx).id for r, i in zip(rows, items, strict=True)}
    before = world.emu.server.request_count("cards/all")
    found = conn.recover(items, ctx)
    assert {k: v.id for k, v in found.items()} == refs
    assert world.emu.server.request_count("cards/all") - before == 3  # 3 + 3 + 1


def test_recover_ignores_other_mappings_markers(world: World) -> None:
    conn = world.connector()
    ctx_a, ctx_b = world.mapping(name="a"), world.mapping(name="a b")
    row = page("Shared")
    conn.create(desired(conn, row, ctx_a), ctx_a)
    assert conn.recover([desired(conn, row, ctx_b)], ctx_b) == {}
    assert set(conn.recover([desired(conn, row, ctx_a)], ctx_a)) == {row.id}


def test_failed_post_is_checked_by_marker_before_posting_again(world: World) -> None:
    conn, ctx = world.connector(), world.mapping()
    row = page("Once")
    item = desired(conn, row, ctx)
    written = conn.create(item, ctx)  # a write whose reply was lost...
    world.emu.server.faults.schedule(502, path=r"^/1/cards$", method="POST")
    again = conn.create(item, ctx)  # ...the retry finds it instead of posting twice
    assert again.id == written.id
    assert len(world.emu.cards()) == 1


def test_dropped_reply_is_retried_after_looking_for_the_card(world: World) -> None:
    conn, ctx = world.connector(), world.mapping()
    conn.prepare(ctx)
    world.emu.server.faults.schedule(0, path=r"^/1/cards$", method="POST")  # connection dropped mid-reply
    ref = conn.create(desired(conn, page("Dropped"), ctx), ctx)
    assert [c["id"] for c in world.emu.cards()] == [ref.id]
    assert world.emu.server.requests["POST /1/cards"] == 2
    assert world.emu.server.request_count(r"cards/all$") == 1


def test_invalid_key_names_the_setting(world: World, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(world.key_env, "not-the-key-0000000000")
    with pytest.raises(AccessError, match=r"invalid key.*api_key_env"):
        world.connector().prepare(world.mapping())


def test_rate_limited_write_is_retried(world: World) -> None:
    conn, ctx = world.connector(), world.mapping()
    conn.prepare(ctx)
    world.emu.server.faults.schedule(429, count=2, path=r"^/1/cards$")
    ref = conn.create(desired(conn, page("Retry"), ctx), ctx)
    assert world.emu.card(ref.id) is not None
    assert world.emu.server.requests["POST /1/cards"] == 3
    assert world.emu.server.request_count(r"cards/all") == 0  # a 429 is unambiguous: no lookup


def test_missing_list_stops_prepare_before_any_write(world: World) -> None:
    conn = world.connector()
    ctx = world.mapping(lists={"Not started": "Backlog", "Done": "Done"}, default_list="Someday")
    with pytest.raises(ConfigError) as info:
        conn.prepare(ctx)
    message = str(info.value)
    assert "'Backlog', 'Someday'" in message and "'To do', 'Doing', 'Done'" in message
    assert writes(world) == 0


def test_missing_board_lists_the_boards_that_exist(world: World) -> None:
    conn = world.connector()
    for board in ("https://trello.com/b/ZZZZZZZZ/nope", "5f00000000000000000000ff", "not a board"):
        with pytest.raises(FatalError) as info:
            conn.prepare(world.mapping(board=board))
        assert "'Tasks' (https://trello.com/b/" in str(info.value)
    assert writes(world) == 0


def test_list_removed_during_the_run_is_fatal(world: World) -> None:
    conn, ctx = world.connector(), world.mapping()
    conn.prepare(ctx)
    doing = next(i for i, x in world.emu.lists.items() if x["name"] == "Doing")
    world.emu.lists.pop(doing)
    with pytest.raises(FatalError, match="invalid value for idList"):
        conn.create(desired(conn, page("X", status="In progress"), ctx), ctx)


def test_invalid_token_is_an_access_error_without_the_secret(world: World, monkeypatch: pytest.MonkeyPatch) -> None:
    bad = "bad-token-" + "9" * 40
    monkeypatch.setenv(world.token_env, bad)
    with pytest.raises(AccessError) as info:
        world.connector().prepare(world.mapping())
    text = str(info.value)
    assert "invalid token" in text and "token_env" in text
    assert bad not in text and world.key not in text


def test_read_only_member_gets_a_clear_access_error(world: World) -> None:
    conn, ctx = world.connector(), world.mapping()
    world.emu.set_member_type(world.board["id"], world.member, "observer")
    with pytest.raises(AccessError, match="observer"):
        conn.create(desired(conn, page("X"), ctx), ctx)


def test_lost_state_relinks_the_open_card_when_a_page_also_has_an_archived_one(tmp_path: Path) -> None:
    """A page with an open card and an archived copy (a card copied in Trello, one archived):
    after the state file is lost, the open card is the one re-linked, whichever comes first on
    the board, and no card is created or brought back.

    Catches: recover no longer preferring the open card over an archived one with the same marker
    (the archived card would be re-linked and restored beside the open one: a duplicate)."""
    with Sandbox(tmp_path, connectors={"trello": TrelloConnector}) as box:
        assert box.database is not None
        target = box.targets["trello"]
        emu, board = target.emulator, target.board
        assert box.run().mappings[0].counts["failed"] == 0
        live = target.item_count()
        auth = {"key": target.env["TRELLO_API_KEY"], "token": target.env["TRELLO_TOKEN"]}
        first, second = list(box.database.pages.values())[:2]
        originals = {parse_marker(c["desc"])[1]: c for c in emu.cards(board["id"]) if parse_marker(c["desc"])}
        with httpx.Client(base_url=emu.url, params=auth) as api:

            def copy_on_top(page_id: str) -> str:
                card = originals[page_id]
                made = api.post(
                    "/cards", json={"idList": card["idList"], "name": card["name"], "desc": card["desc"], "pos": "top"}
                )
                made.raise_for_status()
                return str(made.json()["id"])

            def archive(card_id: str) -> None:
                api.put(f"/cards/{card_id}", json={"closed": True}).raise_for_status()

            # First page: the open copy sorts before the archived original; second page: the other way round.
            open_first = copy_on_top(first)
            archive(originals[first]["id"])
            archived_first = copy_on_top(second)
            archive(archived_first)
        open_cards = {first: open_first, second: originals[second]["id"]}
        archived = {originals[first]["id"], archived_first}
        assert target.item_count() == live

        for suffix in ("", "-wal", "-shm"):
            Path(f"{box.state_path}{suffix}").unlink(missing_ok=True)
        rep = box.run().mappings[0]
        assert rep.status == "ok", rep.error
        assert rep.counts["created"] == 0 and rep.counts["failed"] == 0, rep.counts
        assert target.item_count() == live, "an archived copy was brought back beside the open card"
        assert all(emu.card(card_id)["closed"] for card_id in archived)
        assert all(not emu.card(card_id)["closed"] for card_id in open_cards.values())
        # The open cards are the ones linked: an edit lands on them.
        for page_id in open_cards:
            box.notion.update_page(page_id, {"Name": "Renamed after recovery"})
        rep = box.run().mappings[0]
        assert rep.counts["updated"] == 2 and rep.counts["created"] == 0, rep.counts
        assert {emu.card(card_id)["name"] for card_id in open_cards.values()} == {"Renamed after recovery"}
        assert target.item_count() == live
