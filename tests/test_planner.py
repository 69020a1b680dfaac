"""Every decision of the planner, from plain data: no database, no emulator, no clock."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from notion_sync.core.adapter import (
    CreateOperation,
    DeleteOperation,
    DesiredItem,
    ExternalRef,
    Link,
    OperationResult,
    UpdateOperation,
)
from notion_sync.core.errors import ItemError, RetryableError
from notion_sync.core.links import Failure, StoredLink
from notion_sync.core.planner import (
    Action,
    Rendered,
    Unfinished,
    clears_intent,
    full_scan_due,
    gate_retries,
    intents_for,
    mass_delete_refusal,
    next_watermark,
    plan_departures,
    plan_rows,
    plan_sweep,
    plan_unrecorded_removals,
    plan_writes,
    removal_mode,
    retry_delay,
    to_recover,
    unfinished_creates,
    unrecorded_lookups,
)

NOW = datetime(2026, 12, 1, 12, 0, 30, tzinfo=UTC)


def item(pid: str, **payload: object) -> DesiredItem:
    return DesiredItem("m", pid, f"https://app.notion.com/p/{pid}", pid.upper(), dict(payload))


def link(pid: str, *, archived: bool = False, **payload: object) -> Link:
    return Link(pid, ExternalRef(pid.upper()), dict(payload), archived)


def stored(pid: str, *, archived: bool = False, **payload: object) -> StoredLink:
    return StoredLink.of(link(pid, archived=archived, **payload))


# -- rows against links ---------------------------------------------------------------
MIXED_LINKS = {
    "b": link("b", t="old"),
    "c": link("c", t="same"),
    "d": link("d", t="x"),
    "e": link("e", archived=True, t="x"),
}
MIXED_ROWS = (
    Rendered("a", "A", item=item("a", t="new")),
    Rendered("b", "B", item=item("b", t="changed")),
    Rendered("c", "C", item=item("c", t="same")),
    Rendered("d", "D", skip_reason="no date"),
    Rendered("e", "E", item=item("e", t="x")),
    Rendered("f", "F", skip_reason="no date"),
    Rendered("g", "G", error="end before start"),
)
MIXED_PLAN = {
    "a": ("create", "", ("t",)),
    "b": ("update", "", ("t",)),
    "c": ("unchanged", "", ()),
    "d": ("delete", "no date", ()),
    "e": ("update", "restore", ()),
    "f": ("skip", "no date", ()),
    "g": ("fail", "end before start", ()),
}
"""Rows of every kind against their links (``test_planner_state`` plans them from a real state file too)."""


def test_rows_plan_create_update_unchanged_delete_skip_fail() -> None:
    links = {pid: StoredLink.of(li) for pid, li in MIXED_LINKS.items()}
    assert {a.page_id: (a.kind, a.reason, a.changed) for a in plan_rows(MIXED_ROWS, links)} == MIXED_PLAN


def test_a_linked_row_with_a_pending_intent_is_restored_even_when_unchanged() -> None:
    links = {"c": stored("c", t="same"), "b": stored("b", t="old")}
    rendered = [Rendered("c", "C", item=item("c", t="same")), Rendered("b", "B", item=item("b", t="new"))]
    actions = {a.page_id: a for a in plan_rows(rendered, links, pending={"c", "b"})}
    for a in actions.values():
        assert a.kind == "update" and a.reason == "restore after an unfinished removal"
        assert a.link is not None and a.link.archived, "update restores an archived item and re-creates a gone one"
    assert actions["c"].changed == () and actions["b"].changed == ("t",)


def test_a_pending_intent_changes_nothing_for_unlinked_skipped_or_failed_rows() -> None:
    rendered = [Rendered("a", "A", item=item("a", t=1)), Rendered("s", "S", skip_reason="no date")]
    assert [a.kind for a in plan_rows(rendered, {}, pending={"a", "s"})] == ["create", "skip"]


def test_departures_are_the_live_links_whose_rows_were_not_seen() -> None:
    links = [stored("a"), stored("b"), stored("c"), stored("z", archived=True)]
    actions = plan_departures(links, seen={"a"})
    assert [a.page_id for a in actions] == ["b", "c"]
    assert all(a.kind == "delete" and a.left for a in actions)


# -- retries ----------------------------------------------------------------------------
def test_retry_delay_doubles_up_to_an_hour() -> None:
    assert [retry_delay(n) for n in (1, 2, 3, 7, 8, 20)] == [timedelta(minutes=m) for m in (1, 2, 4, 60, 60, 60)]


def failure(attempts: int, ago: timedelta, *, parked: bool = False) -> Failure:
    return Failure(attempts, NOW - ago, parked, "boom")


def test_failed_items_wait_for_their_retry_and_parked_ones_wait_for_retry_command() -> None:
    actions = [
        Action("create", "waiting", item=item("waiting")),
        Action("update", "due", item=item("due"), link=link("due")),
        Action("delete", "parked", link=link("parked")),
        Action("create", "fresh", item=item("fresh")),
    ]
    failures = {
        "waiting": failure(3, timedelta(minutes=2)),  # waits 4 minutes
        "due": failure(1, timedelta(minutes=2)),  # waited its minute
        "parked": failure(5, timedelta(days=1), parked=True),
    }
    gated = gate_retries(actions, failures, edited={}, now=NOW)
    assert [a.page_id for a in gated.ready] == ["due", "fresh"]
    assert [a.page_id for a in gated.deferred] == ["waiting"]
    assert [a.page_id for a in gated.parked] == ["parked"]


def test_a_row_edited_since_it_failed_is_tried_at_once_even_in_the_failures_minute() -> None:
    actions = [Action("create", "p", item=item("p")), Action("create", "w", item=item("w"))]
    failures = {"p": failure(5, timedelta(seconds=10), parked=True), "w": failure(5, timedelta(seconds=10))}
    # Notion rounds last_edited_time down to the minute: an edit in the failure's minute counts.
    minute = (NOW - timedelta(seconds=10)).replace(second=0)
    gated = gate_retries(actions, failures, edited={"p": minute, "w": minute - timedelta(minutes=1)}, now=NOW)
    assert [a.page_id for a in gated.ready] == ["p"] and [a.page_id for a in gated.deferred] == ["w"]


def test_rows_that_write_nothing_are_never_held_back() -> None:
    actions = [Action("unchanged", "u"), Action("skip", "s")]
    failures = {"u": failure(1, timedelta(0)), "s": failure(9, timedelta(0), parked=True)}
    assert gate_retries(actions, failures, edited={}, now=NOW).ready == actions


# -- writes -----------------------------------------------------------------------------
def test_creates_to_look_for_are_all_of_them_on_a_first_run_else_the_pending_ones() -> None:
    actions = [
        Action("create", "a", item=item("a")),
        Action("create", "b", item=item("b")),
        Action("update", "c", item=item("c"), link=link("c")),
    ]
    assert [i.page_id for i in to_recover(actions, everything=True, pending=set())] == ["a", "b"]
    assert [i.page_id for i in to_recover(actions, everything=False, pending={"b", "c"})] == ["b"]
    assert to_recover(actions, everything=False, pending=set()) == []


def test_a_recovered_create_becomes_an_update_of_the_item_found() -> None:
    actions = [Action("create", "a", item=item("a")), Action("create", "b", item=item("b"))]
    plan = plan_writes(actions, {"a": ExternalRef("found")}, "delete", ("delete", "keep"))
    assert plan.operations == [
        UpdateOperation("a", item("a"), Link("a", ExternalRef("found"), None)),
        CreateOperation("b", item("b")),
    ]


def test_a_recovered_item_that_is_already_right_is_adopted_without_a_write() -> None:
    a, b, c = item("a", title="A"), item("b", title="B"), item("c", title="C")
    actions = [Action("create", i.page_id, item=i) for i in (a, b, c)]
    recovered = {
        "a": ExternalRef("ea", {"x": "1"}, found=dict(a.payload)),
        "b": ExternalRef("eb", found={"title": "old B"}),
        "c": ExternalRef("ec"),  # not read: content unknown
    }
    plan = plan_writes(actions, recovered, "delete", ("delete", "keep"))
    assert plan.adopted == [Link("a", ExternalRef("ea", {"x": "1"}), a.payload)]
    assert plan.operations == [
        UpdateOperation("b", b, Link("b", ExternalRef("eb"), None)),
        UpdateOperation("c", c, Link("c", ExternalRef("ec"), None)),
    ]


def test_adoption_compares_in_the_connectors_comparable_form() -> None:
    """Catches: an item the service gives back in another form of the same value (Google restates
    a dateTime in the event's zone) being rewritten after a lost state file, or a different value
    being adopted as if it were equal."""
    from notion_sync.connectors.google_calendar.render import comparable_event

    def event(start: str) -> DesiredItem:
        payload = {"summary": "Call", "start": {"dateTime": start, "timeZone": "Europe/Berlin"}}
        return DesiredItem("m", "a", "", "Call", payload)

    desired = event("2026-12-03T09:00:00+00:00")
    restated = {"summary": "Call", "start": {"dateTime": "2026-12-03T10:00:00+01:00", "timeZone": "Europe/Berlin"}}
    moved = {"summary": "Call", "start": {"dateTime": "2026-12-03T11:00:00+01:00", "timeZone": "Europe/Berlin"}}
    create = [Action("create", "a", item=desired)]
    exact = plan_writes(create, {"a": ExternalRef("e", found=restated)}, "delete", ("delete",))
    assert exact.adopted == [] and len(exact.operations) == 1  # exact comparison: a rewrite
    same = plan_writes(create, {"a": ExternalRef("e", found=restated)}, "delete", ("delete",), comparable_event)
    assert same.adopted == [Link("a", ExternalRef("e"), desired.payload)] and same.operations == []
    other = plan_writes(create, {"a": ExternalRef("e", found=moved)}, "delete", ("delete",), comparable_event)
    assert other.adopted == [] and len(other.operations) == 1


def test_the_sweep_removes_marked_items_of_unseen_rows_that_no_link_remembers() -> None:
    marked = {p: ExternalRef(f"e-{p}") for p in ("seen", "linked", "orphan")}
    [action] = plan_sweep(marked, seen={"seen"}, linked={"linked"})
    assert (action.kind, action.page_id, action.left) == ("delete", "orphan", True)
    assert action.link == Link("orphan", ExternalRef("e-orphan"), None)


def test_keep_leaves_a_departed_item_alone_and_no_connector_is_asked_to_keep() -> None:
    left = Action("delete", "gone", link=link("gone"), left=True)
    skipped = Action("delete", "undated", link=link("undated"))
    plan = plan_writes([left, skipped], {}, "keep", ("keep", "archive"))
    assert plan.kept == [left]
    assert plan.operations == [DeleteOperation("undated", link("undated"), "archive")]
    assert all(not isinstance(op, DeleteOperation) or op.mode != "keep" for op in plan.operations)


def test_removal_mode_follows_on_delete_except_a_skipped_row_under_keep() -> None:
    left = Action("delete", "x", left=True)
    skipped = Action("delete", "y")
    assert removal_mode(left, "archive", ("delete", "archive")) == "archive"
    assert removal_mode(skipped, "archive", ("delete", "archive")) == "archive"
    assert removal_mode(left, "keep", ("delete", "keep")) == "keep"
    assert removal_mode(skipped, "keep", ("delete", "keep")) == "delete"
    assert removal_mode(skipped, "keep", ("keep", "archive", "strike")) == "archive"
    assert removal_mode(skipped, "keep", ("keep", "strike")) == "keep"


def test_intents_go_before_creates_and_deletes_only() -> None:
    ops = [
        CreateOperation("a", item("a")),
        UpdateOperation("b", item("b"), link("b")),
        DeleteOperation("c", link("c"), "delete"),
    ]
    assert intents_for(ops) == ["a", "c"]


def test_a_plain_rejection_of_a_create_or_delete_forgets_its_intent() -> None:
    create, delete = CreateOperation("a", item("a")), DeleteOperation("c", link("c"), "delete")
    update = UpdateOperation("b", item("b"), link("b"))
    assert clears_intent(OperationResult(create, error=ItemError("400")))
    assert clears_intent(OperationResult(delete, error=ItemError("400")))
    assert not clears_intent(OperationResult(create, error=RetryableError("timeout: it may have landed")))
    assert not clears_intent(OperationResult(update, error=ItemError("400")))
    assert not clears_intent(OperationResult(create, ref=ExternalRef("A")))


# -- per mapping ------------------------------------------------------------------------
def test_a_full_scan_is_due_when_asked_first_after_a_config_change_or_after_the_interval() -> None:
    last = NOW - timedelta(hours=1)
    base = {
        "forced": False,
        "watermark": last,
        "last_full_scan": last,
        "config_changed": False,
        "now": NOW,
        "interval_seconds": 7200.0,
    }
    assert not full_scan_due(**base)
    assert full_scan_due(**{**base, "forced": True})
    assert full_scan_due(**{**base, "watermark": None})
    assert full_scan_due(**{**base, "last_full_scan": None})
    assert full_scan_due(**{**base, "config_changed": True})
    assert full_scan_due(**{**base, "interval_seconds": 3600.0})


def test_the_watermark_is_held_back_to_the_oldest_failed_row() -> None:
    assert next_watermark(NOW, None) == NOW
    assert next_watermark(NOW, NOW - timedelta(days=1)) == NOW - timedelta(days=1)
    assert next_watermark(NOW, NOW + timedelta(minutes=1)) == NOW


def test_the_mass_delete_guard() -> None:
    refusal = mass_delete_refusal(5, 12, max_fraction=0.25, allowed=False, minimum=10)
    assert refusal is not None and "remove 5 of 12 items" in refusal and "max_delete_fraction = 0.25" in refusal
    assert "--allow-mass-delete" in refusal
    assert mass_delete_refusal(3, 12, max_fraction=0.25, allowed=False, minimum=10) is None  # exactly the fraction
    assert mass_delete_refusal(5, 12, max_fraction=0.25, allowed=True, minimum=10) is None
    assert mass_delete_refusal(5, 9, max_fraction=0.25, allowed=False, minimum=10) is None  # too few to tell
    assert mass_delete_refusal(0, 12, max_fraction=0.0, allowed=False, minimum=10) is None


def test_unfinished_creates_of_rows_now_skipped_and_after_a_full_scan_of_rows_that_left() -> None:
    pending = {"skipped", "left", "seen-and-wanted"}
    skipped = {"skipped": "Skipped row", "never-pending": "Other"}
    seen = {"skipped", "seen-and-wanted", "never-pending"}
    assert unfinished_creates(pending, skipped, seen, full=False) == [Unfinished("skipped", "Skipped row", False)]
    assert unfinished_creates(pending, skipped, seen, full=True) == [
        Unfinished("left", "", True),
        Unfinished("skipped", "Skipped row", False),
    ]


def test_unfinished_creates_are_looked_for_removed_when_found_and_forgotten_when_not() -> None:
    unfinished = [Unfinished("found", "F", True), Unfinished("absent", "A", False), Unfinished("linked", "L", False)]
    linked = {"linked"}
    assert [i.page_id for i in unrecorded_lookups("m", unfinished, linked)] == ["found", "absent"]
    removals, forget = plan_unrecorded_removals(unfinished, linked, {"found": ExternalRef("X")})
    assert forget == ["absent"]
    assert removals == [
        Action(
            "delete",
            "found",
            "F",
            link=Link("found", ExternalRef("X"), None),
            reason="an unfinished create for a row that left",
            left=True,
        )
    ]


def test_write_back_newest_gives_a_tie_within_notions_minute_to_notion() -> None:
    from datetime import UTC, datetime, timedelta

    from notion_sync.core.planner import plan_write_back

    edited = datetime(2026, 12, 1, 10, 0, tzinfo=UTC)  # Notion's time, rounded down to the minute
    keys = {"list": ("list",)}

    def decide(target_at: datetime) -> tuple[str, ...]:
        plan = plan_write_back(
            "p",
            target={"list": "Done"},
            written={"list": "Doing"},
            notion={"list": "To do"},
            keys=keys,
            policy="newest",
            notion_edited=edited,
            target_modified=target_at,
        )
        assert len(plan.conflicts) == 1
        return plan.write

    assert decide(edited + timedelta(seconds=59)) == ()  # may be before Notion's real edit time
    assert decide(edited + timedelta(minutes=1)) == ("list",)


def test_write_back_adopts_a_value_notion_already_holds_and_ignores_its_own_writes() -> None:
    from notion_sync.core.planner import plan_write_back

    keys = {"time": ("start", "end")}
    same = {"start": {"date": "2026-12-02"}, "end": {"date": "2026-12-03"}}
    moved = {"start": {"date": "2026-12-04"}, "end": {"date": "2026-12-05"}}
    ours = plan_write_back(
        "p",
        target=same,
        written=same,
        notion=moved,
        keys=keys,
        policy="target",
        notion_edited=None,
        target_modified=None,
    )
    assert (ours.write, ours.adopt, ours.conflicts) == ((), (), ())
    adopted = plan_write_back(
        "p",
        target=moved,
        written=same,
        notion=moved,
        keys=keys,
        policy="notion",
        notion_edited=None,
        target_modified=None,
    )
    assert adopted.adopt == ("time",) and adopted.write == () and adopted.payload == moved
