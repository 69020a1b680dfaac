"""The emulated target used by ``notion-sync demo`` and the conformance suite."""

from __future__ import annotations

import os
from collections.abc import Iterator

import pytest
from rich.console import Console

from notion_sync.connectors.trello.connector import TrelloConnector
from notion_sync.connectors.trello.settings import TrelloMapping, TrelloSettings
from notion_sync.connectors.trello.target import TrelloEmulatedTarget
from notion_sync.core.adapter import Link, MappingContext

from .testkit import desired, page


@pytest.fixture
def target(monkeypatch: pytest.MonkeyPatch) -> Iterator[TrelloEmulatedTarget]:
    found = TrelloConnector.emulated()
    assert isinstance(found, TrelloEmulatedTarget)
    for name, value in found.env.items():
        monkeypatch.setenv(name, value)
    yield found
    found.close()


def test_emulated_settings_drive_the_connector_and_items_show_live_cards(target: TrelloEmulatedTarget) -> None:
    assert "{Name}" in target.mapping["fields"]["name"]
    conn = TrelloConnector(TrelloSettings.model_validate(target.service_settings))
    ctx = MappingContext("demo", TrelloMapping.model_validate(target.mapping), "archive")
    assert all(r.ok for r in conn.check(ctx))
    rows = [
        page("Plan", status="Not started", tags=[("Feature", "blue")]),
        page("Build", status="In progress", due={"start": "2026-12-01", "end": None}),
        page("Ship", status="Done", tags=[("Bug", "red")]),
    ]
    items = [desired(conn, r, ctx) for r in rows]
    refs = [conn.create(i, ctx) for i in items]
    assert target.items() == {r.id: r.title for r in rows}
    conn.delete(Link(rows[2].id, refs[2], items[2].payload), "archive", ctx)
    assert set(target.items()) == {rows[0].id, rows[1].id}
    console = Console(width=120, record=True, color_system=None)
    console.print(target.render())
    text = console.export_text()
    for heading in ("To do", "Doing", "Done", "Plan", "Build", "[Feature]", "due 2026-12-01"):
        assert heading in text
    assert "Ship" not in text
    assert os.environ["TRELLO_TOKEN"] not in text
