"""``notion-sync demo``: a whole sync, end to end, against local emulators.

No network and no credentials: it starts the Notion emulator with a sample task
database and every installed connector's emulator, writes a real config file, then
runs the same engine ``notion-sync run`` uses: a dry run, a first sync, an edit and a
trashed row, a second sync, and a last run that has nothing to do.
"""

from __future__ import annotations

import tempfile
from pathlib import Path

from rich.panel import Panel
from rich.rule import Rule

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


def _held_mapping(out: Output, box: Sandbox) -> int:
    """Another process syncs one mapping: a run skips it, names the holder, and syncs the rest."""
    first = next(iter(box.targets))
    name = box.mapping_name(first)
    out.show(Rule(f"4b. {name!r} is being synced by another process: this run skips it and syncs the others"))
    with mapping_lock(box.config().state_location, name):
        report = box.run()
    _summaries(out, report)
    return report.exit_code


def run_demo(out: Output, keep: Path | None = None) -> int:
    with tempfile.TemporaryDirectory(prefix="notion-sync-demo-") as tmp:
        workdir = Path(keep) if keep else Path(tmp)
        with Sandbox(workdir) as box:
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
