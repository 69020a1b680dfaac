"""``[trello] concurrent_writes``: card writes in flight at once, under the one pacer."""

from __future__ import annotations

import pytest

from notion_sync.connectors.trello.connector import TrelloConnector
from notion_sync.connectors.trello.settings import TrelloMapping
from notion_sync.core.adapter import CreateOperation, MappingContext
from notion_sync.core.errors import FatalError

from .testkit import World, desired, page


def creates(conn: TrelloConnector, ctx: MappingContext[TrelloMapping], n: int, **row: object) -> list[CreateOperation]:
    ops = []
    for i in range(n):
        r = page(f"Card {i}", **row)  # type: ignore[arg-type]
        ops.append(CreateOperation(r.id, desired(conn, r, ctx)))
    return ops


def positions(world: World) -> list[str]:
    """Card names in their list's order (Trello's ``pos``)."""
    return [c["name"] for c in sorted(world.emu.cards(), key=lambda c: c["pos"])]


def test_a_held_write_does_not_hold_the_others(world: World) -> None:
    conn, ctx = world.connector(concurrent_writes=4), world.mapping()
    conn.prepare(ctx)
    ops = creates(conn, ctx, 8)
    # Trello holds the first card's POST for a second: the other writers go on meanwhile.
    world.emu.server.faults.schedule_delay(1.0, count=1, path=r"^/1/cards$", method="POST")
    results = list(conn.apply(ops, ctx))
    conn.close()
    assert sorted(r.operation.page_id for r in results) == sorted(op.page_id for op in ops)
    assert all(r.error is None for r in results)
    assert world.emu.server.request_count(r"^POST /1/cards$") == 8  # each card once
    # The held card was one of the 4 sent first, yet every other card was created before it.
    held = positions(world)[-1]
    assert held in {f"Card {i}" for i in range(4)}
    assert results[-1].operation.item.title == held  # each result as it comes


def test_one_writer_keeps_row_order(world: World) -> None:
    conn, ctx = world.connector(concurrent_writes=1), world.mapping()
    conn.prepare(ctx)
    world.emu.server.faults.schedule_delay(0.3, count=1, path=r"^/1/cards$", method="POST")
    list(conn.apply(creates(conn, ctx, 6), ctx))
    conn.close()
    assert positions(world) == [f"Card {i}" for i in range(6)]


def test_concurrent_writes_create_a_missing_label_once(world: World) -> None:
    conn, ctx = world.connector(concurrent_writes=4), world.mapping(create_labels=True)
    conn.prepare(ctx)
    results = list(conn.apply(creates(conn, ctx, 12, tags=[("Brand new", "green")]), ctx))
    conn.close()
    assert all(r.error is None for r in results)
    assert world.emu.server.request_count(r"^POST /1/boards/[^/]+/labels$") == 1
    assert [x["name"] for x in world.emu.labels.values()].count("Brand new") == 1
    assert all(world.label_names(c) == ["Brand new"] for c in world.emu.cards())


def test_a_fatal_error_stops_the_writes_not_started(world: World) -> None:
    conn, ctx = world.connector(concurrent_writes=2), world.mapping()
    conn.prepare(ctx)
    ops = creates(conn, ctx, 20)
    world.emu.server.faults.schedule(401, count=1, path=r"^/1/cards$", method="POST")
    with pytest.raises(FatalError):
        list(conn.apply(ops, ctx))
    conn.close()
    # The writer that met the 401 stopped; the other finished its card at most, and no write was
    # started after the error (each card is sent once, and far fewer than 20 were).
    assert world.emu.server.request_count(r"^POST /1/cards$") <= 3
