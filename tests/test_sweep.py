"""The sweep: after a lost state file, items whose rows left meanwhile are found by their marker
and follow on_delete; it respects the mass-delete guard, and connectors that cannot list their
items skip it and say so."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from typer.testing import CliRunner

from notion_sync.core.cli import app
from notion_sync.core.plugins import discover
from notion_sync.core.sandbox import Sandbox
from notion_sync.core.state import StateStore
from tests.support.memo import with_memo

runner = CliRunner()


def lose_state(box: Sandbox) -> None:
    for suffix in ("", "-wal", "-shm"):
        Path(f"{box.state_path}{suffix}").unlink(missing_ok=True)


@pytest.fixture
def trello(tmp_path: Path) -> Iterator[Sandbox]:
    with Sandbox(tmp_path, connectors={"trello": discover().connectors["trello"]}) as box:
        yield box


@pytest.mark.failure_case(
    "most rows trashed while the state file was missing", "mass-delete guard stops the sweep; nothing removed", 1
)
def test_the_sweep_respects_the_mass_delete_guard(trello: Sandbox) -> None:
    assert trello.database is not None
    trello.run()
    live = dict(trello.targets["trello"].items())
    lose_state(trello)
    for page_id in list(live)[:-1]:
        trello.notion.trash_page(page_id)
    rep = trello.run(mass_delete_minimum=1).mappings[0]
    assert rep.status == "failed" and "--allow-mass-delete" in rep.error
    assert trello.targets["trello"].items() == live
    rep = trello.run(mass_delete_minimum=1, sweep=True, allow_mass_delete=True).mappings[0]
    assert rep.status == "ok" and rep.counts["deleted"] == len(live) - 1, rep.counts


def test_run_sweep_finds_orphans_on_demand(trello: Sandbox) -> None:
    """Only ``run --sweep`` finds an item no link remembers once the mapping has links again."""
    trello.run()
    page_id = next(iter(trello.targets["trello"].items()))
    trello.notion.trash_page(page_id)
    state = StateStore.open(trello.state_path)
    state.remove_link(trello.mapping_name("trello"), page_id, None)  # its link lost, the others kept
    state.close()
    full = runner.invoke(app, ["run", "--full", "--config", str(trello.config_path)], catch_exceptions=False)
    assert full.exit_code == 0 and page_id in trello.targets["trello"].items(), full.output
    swept = runner.invoke(app, ["run", "--sweep", "--config", str(trello.config_path)], catch_exceptions=False)
    assert swept.exit_code == 0, swept.output
    assert page_id not in trello.targets["trello"].items()


@pytest.mark.failure_case("--sweep with a connector that cannot list its items", "warning naming the connector", 0)
def test_a_connector_without_listing_skips_the_sweep_and_says_so(box: Sandbox) -> None:
    result = runner.invoke(app, ["run", "--sweep", "--config", str(box.config_path)], obj=with_memo())
    assert result.exit_code == 0, result.output
    assert "cannot list its items" in result.output and "memo" in result.output
