"""``notion-sync demo``: a whole sync, end to end, against local emulators.

No network and no credentials: it starts the Notion emulator with a sample task
database and every installed connector's emulator, writes a real config file, then
runs the same engine ``notion-sync run`` uses: a dry run, a first sync, an edit and a
trashed row, a second sync, a card moved in Trello that flows back to Notion (write-back),
a last run that has nothing to do, and two later full scans that skip rendering the rows not
edited since their item was written (the render memo).
"""

from __future__ import annotations

import tempfile
from datetime import UTC, datetime, timedelta
from pathlib import Path

from rich.panel import Panel
from rich.rule import Rule
from rich.text import Text

from notion_sync.core.doctor import run_checks
from notion_sync.core.engine import RunReport
from notion_sync.core.errors import EXIT_OK
from notion_sync.core.history_view import show_history
from notion_sync.core.lock import mapping_lock
from notion_sync.core.output import Output
from notion_sync.core.sandbox import Sandbox

__all__ = ["run_demo"]


def _show_targets(out: Output, box: Sandbox, when: str) -> None:
    for name, target in box.targets.items():
        out.show(Panel(target.render(), title=f"{name} {when}", title_align="left", expand=False))


def _summaries(out: Output, report: RunReport) -> None:
    out.run_report(report)


def _webhook_step(out: Output, box: Sandbox) -> int:
    """``notion-sync serve`` running, a row edited in Notion, the change in every target seconds later."""
    import socket
    import threading
    import time

    from notion_sync.core.serve import Serving

    assert box.database is not None
    out.show(Rule("7. notion-sync serve: Notion's webhook arrives, the row is synced seconds later"))
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = int(s.getsockname()[1])
    data = box.config_data()
    data["serve"] = {"port": port, "verification_token_file": str(box.workdir / "webhook-token"), "debounce": "1s"}
    box.write_config(data)
    serving = Serving(box.config())
    thread = threading.Thread(target=serving.run, name="demo-serve", daemon=True)
    thread.start()
    try:
        while serving.server.started is False and thread.is_alive():
            time.sleep(0.05)
        box.notion.subscribe_webhook(serving.url)
        out.line(f"serve: listening on {serving.url}; the Notion emulator subscribed (handshake, signed events)")
        title = "Ship the release notes"
        page_id = box.database.pages[title]
        started = time.monotonic()
        box.notion.update_page(page_id, {"Name": f"{title} (moved to Friday)"})
        out.line(f"edited in Notion: {title!r} → '{title} (moved to Friday)'")
        deadline = started + 30
        while time.monotonic() < deadline:
            if all("moved to Friday" in t.items().get(page_id, "") for t in box.targets.values()):
                break
            time.sleep(0.05)
        else:
            out.problem("the webhook's sync did not reach every target within 30 s")
            return 1
        out.line(
            f"every target shows the edit {time.monotonic() - started:.1f} s later "
            "(debounce 1 s, one page GET, no query); cron `run` stays as the reconcile"
        )
        return 0
    finally:
        serving.stop()
        thread.join(15)


RICH_TEMPLATES = {
    "slack": ("fields", "text", "*{Name}*: {Notes:rich}\n{body:rich}"),
    "trello": ("fields", "desc", "{Notes:rich}\n\n{body:rich}"),
    "google_calendar": ("fields", "description", "{Notes:rich}\n\n{body:rich}\n{url}"),
}
"""What the demo's rich text step writes into each built-in connector's mapping."""


def _rich_text_and_body(out: Output, box: Sandbox, row: str) -> int:
    """A row gains a bold word, a link and a short page body; the mappings show them with
    ``{Notes:rich}`` and ``{body:rich}``, each in its target's markup."""
    assert box.database is not None
    page = box.database.pages[row]
    box.notion.update_page(
        page,
        {
            "Notes": [
                {"type": "text", "text": {"content": "Draft is "}},
                {"type": "text", "text": {"content": "ready"}, "annotations": {"bold": True}},
                {"type": "text", "text": {"content": ", see "}},
                {"type": "text", "text": {"content": "the wiki", "link": {"url": "https://example.com/wiki"}}},
                {"type": "text", "text": {"content": " (2 * 3 < 7)"}},
            ]
        },
    )
    box.notion.add_blocks(
        page,
        [
            {"type": "heading_3", "text": "Before we ship"},
            {"type": "to_do", "text": "Publish the post"},
        ],
    )
    data = box.config_data()
    for mapping in data["mappings"]:
        spot = RICH_TEMPLATES.get(mapping["connector"])
        if spot is not None:
            table, key, template = spot
            mapping.setdefault(table, {})[key] = template
    box.write_config(data)
    out.line(f"{row!r}: Notes gain a bold word and a link, its body a heading and a to-do")
    preview = box.run(dry_run=True)
    for m in preview.mappings:
        for action in m.plan:
            if action.page_id == page and action.item is not None:
                spot = RICH_TEMPLATES.get(m.connector)
                shown = action.item.payload.get(spot[1]) if spot else None
                if isinstance(shown, str):
                    out.show(Panel(Text(shown), title=f"{m.connector}: {spot[1] if spot else ''}", title_align="left"))
    report = box.run()
    _summaries(out, report)
    return report.exit_code


def _held_mapping(out: Output, box: Sandbox) -> int:
    """Another process syncs one mapping: a run skips it, names the holder, and syncs the rest."""
    first = next(iter(box.targets))
    name = box.mapping_name(first)
    out.show(Rule(f"4c. {name!r} is being synced by another process: this run skips it and syncs the others"))
    with mapping_lock(box.config().state_location, name):
        report = box.run()
    _summaries(out, report)
    return report.exit_code


WRITE_BACK = {"trello": {"write_back": ["list", "due"]}}
"""The demo's Trello mapping is two-way for the card's list and dates."""
MOVED = "Ship the release notes"


def _write_back_step(out: Output, box: Sandbox) -> int | None:
    """A card dragged to Done in the emulated Trello: the next sync changes the row's status."""
    target = box.targets.get("trello")
    if target is None or box.database is None:
        return None
    page_id = box.database.pages[MOVED]

    def status() -> str:
        return str(box.notion.page_json(page_id)["properties"]["Status"]["status"]["name"])

    out.show(Rule("3b. two-way: a card is moved to Done in Trello, and the sync carries it back to Notion"))
    before = status()
    target.edit_as_user(page_id, "list")  # "Doing" → "Done", as a person drags it
    out.line(f"moved in Trello: the card {MOVED!r} to the list 'Done' (the row's Status is {before!r})")
    report = box.run()
    _summaries(out, report)
    for rep in report.mappings:
        for line in rep.write_backs:
            out.line(f"  {rep.name}: {line}")
    out.line(f'the Notion row\'s Status is now {status()!r} (mapping write_back = ["list", "due"])')
    return report.exit_code


def _memo_step(out: Output, box: Sandbox) -> int:
    """Two full scans, one and two hours later (last, as the clock moves on): the second renders
    only what the render memo cannot vouch for."""
    later = datetime.now(UTC) + timedelta(hours=1)
    box.run(now=lambda: later, full=True)
    latest = later + timedelta(hours=1)
    report = box.run(now=lambda: latest, full=True)
    for m in report.mappings:
        read = sum(m.counts[k] for k in ("created", "updated", "unchanged", "skipped", "failed"))
        out.line(f"{m.name}: {m.rendered} of {read} rows rendered, {m.writes} writes")
    out.line(
        "A row not edited since its item was written is not rendered again. Rendered anyway: a row with no "
        "item (skipped, as the row without a date is for Google), every row of a connector that looks things "
        "up while rendering (Slack: users), and every row of a mapping that shows a people, formula or rollup "
        "property. `notion-sync run --render-all` renders everything."
    )
    return report.exit_code


def run_demo(out: Output, keep: Path | None = None) -> int:
    with tempfile.TemporaryDirectory(prefix="notion-sync-demo-") as tmp:
        workdir = Path(keep) if keep else Path(tmp)
        with Sandbox(workdir, mapping_overrides=WRITE_BACK) as box:
            assert box.database is not None
            out.show(Rule("notion-sync demo"))
            out.line(f'Notion emulator: {box.notion.url}, database "Team tasks" with {len(box.database.pages)} rows')
            if not box.targets:
                out.problem(
                    "no installed connector has an emulator: nothing to sync into (see `notion-sync connectors`)"
                )
                return 1
            for name in box.targets:
                out.line(f"target: {name} (emulator), mapping {box.mapping_name(name)!r}")
            out.line(f"config: {box.config_path}")

            out.show(Rule("0. notion-sync check: token, database, properties, targets (read-only)"))
            if run_checks(box.config_path, out) != EXIT_OK:
                out.problem("the checks failed: the demo cannot go on")
                return 1

            out.show(Rule("1. dry run: what would happen (nothing is written)"))
            report = box.run(dry_run=True)
            _summaries(out, report)

            out.show(Rule("2. first sync"))
            report = box.run()
            _summaries(out, report)
            _show_targets(out, box, "after the first sync")
            codes = [report.exit_code]

            out.show(Rule("3. edit a row and trash another, then sync again"))
            pages = box.database.pages
            renamed, trashed = "Fix login timeout", "Write onboarding guide"
            box.notion.update_page(
                pages[renamed], {"Name": "Fix login timeout (Berlin users)", "Status": "In progress"}
            )
            box.notion.trash_page(pages[trashed])
            out.line(f"edited: {renamed!r} → renamed, status In progress; trashed: {trashed!r}")
            report = box.run(full=True)
            _summaries(out, report)
            _show_targets(out, box, "after the edit and the trash")
            codes.append(report.exit_code)
            moved = _write_back_step(out, box)
            if moved is not None:
                codes.append(moved)

            out.show(Rule("4. run again: nothing changed, nothing is written"))
            report = box.run()
            _summaries(out, report)
            codes.append(report.exit_code)
            writes = sum(m.writes for m in report.mappings)
            reads = sum(m.notion_requests for m in report.mappings)
            out.line(f"writes on the last run: {writes}")
            out.line(
                f"Notion requests on the last run: {reads} "
                f"(the {len(report.mappings)} mappings on this database share one read)"
            )
            codes.append(_held_mapping(out, box))

            out.show(Rule("4b. rich text and the page body, in each target's own markup"))
            codes.append(_rich_text_and_body(out, box, "Ship the release notes"))

            out.show(Rule("5. lose the state file and trash a row: nothing is rewritten, the orphan is swept"))
            for suffix in ("", "-wal", "-shm"):
                Path(f"{box.state_path}{suffix}").unlink(missing_ok=True)
            swept = "Customer call: Acme"
            box.notion.trash_page(pages[swept])
            out.line(f"deleted: {box.state_path.name}; trashed: {swept!r}")
            report = box.run()
            _summaries(out, report)
            codes.append(report.exit_code)
            out.line(
                "writes on the run after the loss: "
                f"{sum(m.counts['updated'] + m.counts['created'] for m in report.mappings)} "
                f"(items found right were adopted as they are), removals: "
                f"{sum(m.counts['deleted'] for m in report.mappings)}"
            )

            out.show(Rule("6. notion-sync history: what the runs wrote, and with which token"))
            show_history(box.config(), out, mapping=None, since=None, failed=False, limit=6)
            codes.append(_webhook_step(out, box))

            out.show(Rule("8. an hour later, then two: full scans render only the rows edited since"))
            codes.append(_memo_step(out, box))
            if keep:
                out.line(f"kept: {box.config_path} and {box.state_path}")
    worst = max(codes)
    if worst == EXIT_OK:
        out.line("demo finished: every target mirrors the database")
        out.line(
            "next: keep the emulators up with `notion-sync emulate --config-out emu.toml` (it prints what "
            "to export), for `notion-sync run --config emu.toml` or any client in any language (README: Emulators)"
        )
    return worst
