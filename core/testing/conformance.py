"""The conformance suite every connector passes, built-in or third-party.

In a connector's test file::

    from notion_sync.core.testing.conformance import ConformanceSuite
    from my_connector import MyConnector

    class TestMyConnector(ConformanceSuite):
        connector = MyConnector
        mapping_overrides = {}          # optional: extra keys on the mapping

It runs the real engine against the Notion emulator and the connector's own
emulator (``Connector.emulated()``): create, update, delete, restore, a trashed
row under ``on_delete = "keep"`` left untouched (when the connector lists it), a re-run
that writes nothing, a dry run that writes nothing, recovery after a lost state
file and after a crash between a create and its state write (no duplicates), a
429 and a dropped connection injected into a create and into an update (through
``EmulatedTarget.faults``: no duplicate, no lost item), and a clear error for bad
settings.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Iterator, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any, ClassVar

import pytest

from notion_sync.core.adapter import Connector, MappingContext, Operation, OperationKind, OperationResult
from notion_sync.core.errors import ConfigError
from notion_sync.core.sandbox import Sandbox
from notion_sync.core.state import StateStore

if TYPE_CHECKING:
    from notion_sync.core.engine import MappingReport

__all__ = ["ConformanceSuite", "SimulatedCrash"]


class SimulatedCrash(BaseException):
    """Raised inside a run to stand for the process being killed."""


def _replace_name_placeholder(mapping: dict[str, Any], new: str) -> bool:
    for key, value in mapping.items():
        if isinstance(value, str) and "{Name}" in value:
            mapping[key] = value.replace("{Name}", new)
            return True
        if isinstance(value, dict) and _replace_name_placeholder(value, new):
            return True
    return False


FAULTS = {"429": 429, "drop": 0}
"""The faults the suite injects into writes, by the name ``Faults.injected`` counts them under."""


class ConformanceSuite:
    """Subclass with ``connector = YourConnector``; pytest collects the tests below."""

    connector: ClassVar[type[Connector[Any, Any]]]
    mapping_overrides: ClassVar[dict[str, Any]] = {}

    WRITE_BACK_TESTS: ClassVar[tuple[str, ...]] = (
        "test_write_back_fields_cover_keys_of_the_payload",
        "test_write_back_carries_a_user_change_to_notion_once",
        "test_write_back_without_update_content_leaves_the_one_way_sync_going",
    )
    """Collected only for a connector that declares ``write_back_fields``; a one-way connector
    gets ``test_write_back_is_refused_by_a_one_way_connector`` instead."""

    def __init_subclass__(cls, **kwargs: Any) -> None:
        super().__init_subclass__(**kwargs)
        connector = cls.__dict__.get("connector")
        if connector is None:
            return
        dropped = (
            ("test_write_back_is_refused_by_a_one_way_connector",)
            if connector.write_back_fields
            else cls.WRITE_BACK_TESTS
        )
        for name in dropped:
            setattr(cls, name, None)

    @pytest.fixture
    def sandbox(self, tmp_path: Path) -> Iterator[Sandbox]:
        if self.connector.emulated is Connector.emulated:
            pytest.fail(f"{self.connector.__name__} has no emulated() target: the suite needs one")
        box = Sandbox(
            tmp_path,
            connectors={self.connector.name: self.connector},
            mapping_overrides={self.connector.name: dict(self.mapping_overrides)},
        )
        with box:
            yield box

    # -- helpers --------------------------------------------------------------
    def target(self, box: Sandbox) -> Any:
        return box.targets[self.connector.name]

    def live(self, box: Sandbox) -> dict[str, str]:
        return dict(self.target(box).items())

    def count(self, box: Sandbox) -> int:
        return int(self.target(box).item_count())

    def expected_rows(self, box: Sandbox) -> dict[str, str]:
        """Rows the first run should write: those the connector renders (some may skip)."""
        assert box.database is not None
        report = box.run(dry_run=True)
        creates = {a.page_id for a in report.mappings[0].plan if a.kind == "create"}
        return {name: pid for name, pid in box.database.pages.items() if pid in creates}

    def inject_into_first(self, box: Sandbox, monkeypatch: pytest.MonkeyPatch, kind: OperationKind, fault: str) -> None:
        """Answer the request that writes the item of the first ``kind`` operation the connector
        carries out (``EmulatedTarget.write_request``) with ``fault``: a status, or a dropped connection."""
        target = self.target(box)
        faults = target.faults
        method, path = target.write_request(kind) or (None, None)
        # The client may honour Retry-After itself (some client libraries do): keep the header, not the wait.
        faults.retry_after = 0.0
        armed = {"done": False}
        original = self.connector.apply

        def apply(
            self_: Connector[Any, Any], operations: Sequence[Operation], mapping: MappingContext[Any]
        ) -> Iterator[OperationResult]:
            if not armed["done"] and any(op.kind == kind for op in operations):
                armed["done"] = True
                faults.schedule(FAULTS[fault], path=path, method=method)
            yield from original(self_, operations, mapping)

        monkeypatch.setattr(self.connector, "apply", apply)

    def run_with_fault(
        self, box: Sandbox, monkeypatch: pytest.MonkeyPatch, kind: OperationKind, fault: str
    ) -> MappingReport:
        """One run with ``fault`` injected into the first ``kind`` write: it must be retried, not failed."""
        self.inject_into_first(box, monkeypatch, kind, fault)
        rep = box.run().mappings[0]
        injected = self.target(box).faults.injected[fault]
        assert injected == 1, f"the {fault} was not injected into a {kind} (injected: {injected})"
        assert rep.status == "ok", rep.error
        assert rep.counts["failed"] == 0, rep.errors
        return rep

    def assert_none_duplicated_or_lost(self, box: Sandbox, expected: Iterable[str]) -> None:
        wanted = set(expected)
        live = self.live(box)
        assert set(live) == wanted, f"lost: {wanted - set(live)}, unexpected: {set(live) - wanted}"
        assert self.count(box) == len(wanted), "a row has two items"

    @pytest.fixture
    def short_retry_waits(self, monkeypatch: pytest.MonkeyPatch) -> None:
        """Retries keep their logic but not their waits (for connectors whose own tests do not):
        the engine's default policy reads its scale from the environment."""
        monkeypatch.setenv("NOTION_SYNC_RETRY_SCALE", "0.0002")

    # -- the suite ------------------------------------------------------------
    def test_first_run_creates_one_item_per_row(self, sandbox: Sandbox) -> None:
        expected = self.expected_rows(sandbox)
        assert expected, "the connector rendered no row of the demo database"
        report = sandbox.run()
        rep = report.mappings[0]
        assert rep.status == "ok", rep.error
        assert rep.counts["created"] == len(expected)
        assert rep.counts["failed"] == 0, rep.errors
        live = self.live(sandbox)
        assert set(live) == set(expected.values())
        for name, page_id in expected.items():
            assert name in live[page_id], f"the item of row {name!r} does not show its name: {live[page_id]!r}"
        assert self.count(sandbox) == len(expected)

    @pytest.mark.usefixtures("state_backend")
    def test_rerun_without_changes_writes_nothing(self, sandbox: Sandbox) -> None:
        sandbox.run()
        before = self.count(sandbox)
        again = sandbox.run(full=True).mappings[0]
        assert again.status == "ok", again.error
        assert again.writes == 0, again.counts
        assert self.count(sandbox) == before

    @pytest.mark.usefixtures("state_backend")
    def test_dry_run_writes_nothing(self, sandbox: Sandbox) -> None:
        report = sandbox.run(dry_run=True).mappings[0]
        assert report.counts["created"] > 0
        assert self.count(sandbox) == 0
        assert not sandbox.state_written()

    def test_edited_row_updates_its_item(self, sandbox: Sandbox) -> None:
        expected = self.expected_rows(sandbox)
        sandbox.run()
        name, page_id = next(iter(expected.items()))
        sandbox.notion.update_page(page_id, {"Name": f"{name} (renamed)"})
        rep = sandbox.run().mappings[0]
        assert rep.status == "ok", rep.error
        assert rep.counts["updated"] == 1 and rep.counts["created"] == 0
        assert f"{name} (renamed)" in self.live(sandbox)[page_id]
        assert self.count(sandbox) == len(expected)

    def test_trashed_row_follows_on_delete_and_comes_back(self, sandbox: Sandbox) -> None:
        expected = self.expected_rows(sandbox)
        sandbox.run()
        name, page_id = next(iter(expected.items()))
        sandbox.notion.trash_page(page_id)
        rep = sandbox.run(full=True).mappings[0]
        assert rep.status == "ok", rep.error
        mode = sandbox.config().mappings[0].on_delete
        if mode == "keep":
            assert page_id in self.live(sandbox)
        else:
            assert rep.counts["deleted"] == 1
            assert page_id not in self.live(sandbox)
        sandbox.notion.restore_page(page_id)
        rep = sandbox.run(full=True).mappings[0]
        assert rep.status == "ok", rep.error
        assert page_id in self.live(sandbox)
        assert name in self.live(sandbox)[page_id]
        assert len(self.live(sandbox)) == len(expected)

    def test_trashed_row_under_keep_leaves_its_item_untouched(self, sandbox: Sandbox) -> None:
        """on_delete = "keep": a row that left (trashed) keeps its item as it was.

        Catches: the engine's removal mode ignoring "keep" for rows that left, so a trashed
        row's item is deleted or archived anyway."""
        if "keep" not in self.connector.on_delete_modes:
            pytest.skip(f"{self.connector.__name__} does not support on_delete = 'keep'")
        data = sandbox.config_data()
        data["mappings"][0]["on_delete"] = "keep"
        sandbox.write_config(data)
        expected = self.expected_rows(sandbox)
        first = sandbox.run().mappings[0]
        assert first.status == "ok", first.error
        before = self.live(sandbox)
        _, page_id = next(iter(expected.items()))
        sandbox.notion.trash_page(page_id)
        rep = sandbox.run(full=True).mappings[0]
        assert rep.status == "ok", rep.error
        assert rep.counts["deleted"] == 0 and rep.counts["failed"] == 0, rep.counts
        assert self.live(sandbox) == before, "a trashed row's item was changed or removed under on_delete = 'keep'"
        assert self.count(sandbox) == len(expected)
        again = sandbox.run(full=True).mappings[0]
        assert again.writes == 0, again.counts
        assert self.live(sandbox) == before

    @pytest.mark.usefixtures("state_backend")
    def test_lost_state_relinks_without_duplicates(self, sandbox: Sandbox) -> None:
        expected = self.expected_rows(sandbox)
        sandbox.run()
        sandbox.lose_state()
        rep = sandbox.run().mappings[0]
        assert rep.status == "ok", rep.error
        assert rep.counts["created"] == 0, "items were created again after the state file was lost"
        assert self.count(sandbox) == len(expected)
        again = sandbox.run(full=True).mappings[0]
        assert again.writes == 0, again.counts

    @pytest.mark.failure_case("state file lost, nothing changed", "items adopted as they are: 0 writes", 0)
    def test_lost_state_with_nothing_changed_writes_nothing(self, sandbox: Sandbox) -> None:
        """A lost state file, rows unchanged: every item is found, compared and adopted as it is.

        Catches: ``recover`` returning refs without ``found`` (or ``found`` not in ``render``'s
        form), so every item is rewritten after a lost state file."""
        expected = self.expected_rows(sandbox)
        sandbox.run()
        before = self.live(sandbox)
        sandbox.lose_state()
        rep = sandbox.run().mappings[0]
        assert rep.status == "ok", rep.error
        assert rep.writes == 0, f"a lost state file with nothing changed rewrote items: {rep.counts}"
        assert rep.counts["unchanged"] == len(expected), rep.counts
        assert self.live(sandbox) == before
        again = sandbox.run(full=True).mappings[0]
        assert again.writes == 0, again.counts

    @pytest.mark.failure_case(
        "row trashed while the state file was missing", "its item follows on_delete (the sweep)", 0
    )
    def test_lost_state_then_trashed_row_is_swept(self, sandbox: Sandbox) -> None:
        """A row trashed while the state file was missing: the first full scan after the loss lists
        the mapping's marked items (``list_marked``) and applies on_delete to the row's item.

        Catches: ``list_marked`` missing items, listing archived ones, or the engine not sweeping."""
        if not self.connector.can_list_marked():
            pytest.skip(f"{self.connector.__name__} does not implement list_marked: the sweep is skipped")
        expected = self.expected_rows(sandbox)
        sandbox.run()
        _, page_id = next(iter(expected.items()))
        sandbox.lose_state()
        sandbox.notion.trash_page(page_id)
        rep = sandbox.run().mappings[0]
        assert rep.status == "ok", rep.error
        if sandbox.config().mappings[0].on_delete == "keep":
            assert page_id in self.live(sandbox)
        else:
            assert rep.counts["deleted"] == 1, rep.counts
            assert page_id not in self.live(sandbox), "the item of a row trashed while the state was lost stayed"
        assert set(self.live(sandbox)) - {page_id} == set(expected.values()) - {page_id}
        again = sandbox.run(full=True, sweep=True).mappings[0]
        assert again.writes == 0, again.counts

    @pytest.mark.usefixtures("state_backend")
    def test_crash_between_create_and_state_write_makes_no_duplicate(
        self, sandbox: Sandbox, monkeypatch: pytest.MonkeyPatch
    ) -> None:
        expected = self.expected_rows(sandbox)
        original = StateStore.save_link
        calls = {"n": 0}

        def crash_after_first_write(self_: StateStore, *args: Any, **kwargs: Any) -> None:
            calls["n"] += 1
            if calls["n"] == 2:
                raise SimulatedCrash("killed between the external write and the state write")
            original(self_, *args, **kwargs)

        monkeypatch.setattr(StateStore, "save_link", crash_after_first_write)
        with pytest.raises(SimulatedCrash):
            sandbox.run()
        monkeypatch.setattr(StateStore, "save_link", original)
        rep = sandbox.run().mappings[0]
        assert rep.status == "ok", rep.error
        assert self.count(sandbox) == len(expected), "the crash left a duplicate or a missing item"
        assert set(self.live(sandbox)) == set(expected.values())

    def test_create_lost_in_a_crash_then_row_trashed_leaves_no_stale_item(
        self, sandbox: Sandbox, monkeypatch: pytest.MonkeyPatch
    ) -> None:
        expected = self.expected_rows(sandbox)

        def crash(self_: StateStore, *args: Any, **kwargs: Any) -> None:
            raise SimulatedCrash("killed between the external write and the state write")

        original = StateStore.save_link
        monkeypatch.setattr(StateStore, "save_link", crash)
        with pytest.raises(SimulatedCrash):
            sandbox.run()
        monkeypatch.setattr(StateStore, "save_link", original)
        written = set(self.live(sandbox))
        assert written, "the first write did not reach the target"
        for page_id in written:
            sandbox.notion.trash_page(page_id)
        rep = sandbox.run(full=True).mappings[0]
        assert rep.status == "ok", rep.error
        mode = sandbox.config().mappings[0].on_delete
        live = self.live(sandbox)
        if mode != "keep":
            assert not written & set(live), "an item written before the crash stayed after its row left"
        assert set(live) - written == set(expected.values()) - written
        assert self.count(sandbox) == len(live)

    @pytest.mark.usefixtures("short_retry_waits")
    @pytest.mark.parametrize("fault", sorted(FAULTS))
    def test_fault_on_create_leaves_no_duplicate_and_no_lost_item(
        self, sandbox: Sandbox, monkeypatch: pytest.MonkeyPatch, fault: str
    ) -> None:
        expected = self.expected_rows(sandbox)
        rep = self.run_with_fault(sandbox, monkeypatch, "create", fault)
        assert rep.counts["created"] == len(expected)
        self.assert_none_duplicated_or_lost(sandbox, expected.values())

    @pytest.mark.usefixtures("short_retry_waits")
    @pytest.mark.parametrize("fault", sorted(FAULTS))
    def test_fault_on_update_leaves_no_duplicate_and_no_lost_item(
        self, sandbox: Sandbox, monkeypatch: pytest.MonkeyPatch, fault: str
    ) -> None:
        expected = self.expected_rows(sandbox)
        sandbox.run()
        name, page_id = next(iter(expected.items()))
        sandbox.notion.update_page(page_id, {"Name": f"{name} (renamed)"})
        rep = self.run_with_fault(sandbox, monkeypatch, "update", fault)
        assert rep.counts["updated"] == 1 and rep.counts["created"] == 0, rep.counts
        assert f"{name} (renamed)" in self.live(sandbox)[page_id]
        self.assert_none_duplicated_or_lost(sandbox, expected.values())

    # -- write-back (for connectors that declare write_back_fields) ----------------
    def write_back_box(self, tmp_path: Path, field: str) -> Sandbox:
        """A sandbox whose mapping writes ``field`` back."""
        overrides = {**self.mapping_overrides, "write_back": [field]}
        return Sandbox(
            tmp_path / field,
            connectors={self.connector.name: self.connector},
            mapping_overrides={self.connector.name: overrides},
        )

    def test_write_back_is_refused_by_a_one_way_connector(self, sandbox: Sandbox) -> None:
        data = sandbox.config_data()
        data["mappings"][0]["write_back"] = ["name"]
        sandbox.write_config(data)
        with pytest.raises(ConfigError, match=r"write_back.*one-way"):
            sandbox.config()

    def test_write_back_fields_cover_keys_of_the_payload(self, sandbox: Sandbox) -> None:
        settings = sandbox.config().mappings[0].settings
        rep = sandbox.run(dry_run=True).mappings[0]
        payload = next(a.item.payload for a in rep.plan if a.item is not None)
        for name in self.connector.write_back_fields:
            keys = self.connector.write_back_keys(settings, name)
            assert keys and set(keys) <= set(payload), f"write-back field {name!r} covers {keys}, not payload keys"

    def test_write_back_carries_a_user_change_to_notion_once(self, tmp_path: Path) -> None:
        """For each declared field: a person's change in the target reaches the row in one PATCH,
        the run after writes nothing anywhere, and a full scan agrees."""
        for name in self.connector.write_back_fields:
            with self.write_back_box(tmp_path, name) as box:
                expected = self.expected_rows(box)
                assert box.run().mappings[0].status == "ok"
                page_id = next(iter(expected.values()))
                before = box.notion.page_json(page_id)["properties"]
                self.target(box).edit_as_user(page_id, name)
                rep = box.run().mappings[0]
                assert rep.status == "ok" and not rep.write_back_error, (rep.error, rep.write_back_error)
                assert rep.counts["written back"] == 1, (name, rep.counts, rep.errors)
                assert box.notion.page_json(page_id)["properties"] != before, f"{name}: the row did not change"
                again = box.run().mappings[0]
                assert again.writes == 0, (name, again.counts)
                assert box.run(full=True).mappings[0].writes == 0, name

    def test_write_back_without_update_content_leaves_the_one_way_sync_going(self, tmp_path: Path) -> None:
        name = self.connector.write_back_fields[0]
        with self.write_back_box(tmp_path, name) as box:
            expected = self.expected_rows(box)
            box.run()
            first, second = list(expected.values())[:2]
            box.notion.set_capabilities({"read_content", "insert_content"})
            self.target(box).edit_as_user(first, name)
            box.notion.update_page(second, {"Name": "Renamed in Notion"})
            rep = box.run().mappings[0]
            assert "Update content" in rep.write_back_error, rep.write_back_error
            assert rep.exit_code == 3 and rep.counts["written back"] == 0
            assert "Renamed in Notion" in self.live(box)[second], "the one-way sync stopped too"

    def test_unknown_mapping_key_is_a_clear_config_error(self, sandbox: Sandbox) -> None:
        data = sandbox.config_data()
        data["mappings"][0]["definitely_not_a_key"] = 1
        sandbox.write_config(data)
        with pytest.raises(ConfigError) as info:
            sandbox.config()
        text = str(info.value)
        assert "definitely_not_a_key" in text and data["mappings"][0]["name"] in text

    def test_missing_property_is_reported_before_any_write(self, sandbox: Sandbox) -> None:
        data = sandbox.config_data()
        assert _replace_name_placeholder(data["mappings"][0], "{Nmae}"), "no text field uses {Name}"
        sandbox.write_config(data)
        rep = sandbox.run().mappings[0]
        assert rep.status == "config"
        assert "Nmae" in rep.error and re.search(r"\bName\b", rep.error)
        assert self.count(sandbox) == 0
