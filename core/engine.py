"""The sync engine: for each mapping, read rows, render, plan, and apply.

Every decision is the planner's (``notion_sync.core.planner``, pure functions of plain data);
the engine reads what they need, carries out what they decide and records the outcome. Per
mapping, one run, held in a ``MappingRun``:

1. ``prepare`` the connector (read-only lookups), resolve the data source (cached);
2. stream rows: incrementally since the watermark, or in full when ``full_scan_due``;
3. for each page of up to 100 rows: render, check mapped properties on the first page,
   plan against the links recorded for those rows, hold back items waiting for their retry,
   record intents, apply, and record the results at once, so Notion reads and target writes
   are interleaved and memory stays flat;
4. after a full scan, rows no longer seen have left: apply ``on_delete`` to them, and (after a
   state loss, or with ``--sweep``) to the marked items of rows that left while nothing
   remembered them, unless the mass-delete guard refuses;
5. look for the items of unfinished creates whose rows now want none, and remove them;
6. move the watermark to the run's start, held back to the oldest failed row so it is read again.

Every write is recorded in state as soon as it succeeds. Before creates and deletes, the
intent is recorded; the next run asks the connector to ``recover`` such items, so a killed
run never makes a duplicate.

The Notion reader, the state store and the retry policy are handed in (``Engine(notion=...,
state=..., retry=...)``), defaulting to ``NotionSource``, ``StateStore`` and
``RetryPolicy.from_env()``.
"""

from __future__ import annotations

import logging
from collections import Counter
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime, timedelta
from typing import Any

from notion_sync.core.adapter import (
    Connector,
    DeleteOperation,
    DesiredItem,
    MappingContext,
    Operation,
    OperationResult,
)
from notion_sync.core.config import Config, ResolvedMapping
from notion_sync.core.errors import (
    EXIT_ACCESS,
    EXIT_CONFIG,
    EXIT_ITEMS_FAILED,
    EXIT_OK,
    AccessError,
    ConfigError,
    FatalError,
    ItemError,
    NotionSyncError,
    SkipItem,
)
from notion_sync.core.fields import property_uses
from notion_sync.core.lock import RunLock
from notion_sync.core.notion_source import NotionSource, RequestCount, check_property_uses, needs_completion
from notion_sync.core.planner import (
    WRITES,
    Action,
    Rendered,
    Unfinished,
    attempted,
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
    to_recover,
    unfinished_creates,
    unrecorded_lookups,
)
from notion_sync.core.prefetch import prefetched
from notion_sync.core.retry import RetryPolicy
from notion_sync.core.rows import Row, report_unknown_types, row_label
from notion_sync.core.seams import NotionOpener, NotionReader, StateBackend, StateOpener
from notion_sync.core.secrets import Secret, resolve_secret
from notion_sync.core.state import Cursor, StateStore

__all__ = ["Engine", "MappingReport", "MappingRun", "RowFailure", "RunOptions", "RunReport", "notion_token"]

log = logging.getLogger(__name__)

SCHEMA_MAX_AGE = timedelta(hours=24)
COUNTED = ("created", "updated", "deleted", "unchanged", "skipped", "failed")
NOTED = ("deferred", "parked")
"""Counted too, and shown only when not zero: items waiting for their retry, and parked items."""


@dataclass
class RunOptions:
    """What ``notion-sync run`` was asked to do."""

    mappings: Sequence[str] = ()
    dry_run: bool = False
    full: bool = False
    allow_mass_delete: bool = False
    mass_delete_minimum: int = 10
    sweep: bool = False
    """List every item the mappings wrote and remove those whose row left (implies ``full``)."""


@dataclass(frozen=True)
class RowFailure:
    """One row's failure in a run: the row (page id and title) and what went wrong."""

    page_id: str
    title: str
    error: str

    @property
    def label(self) -> str:
        """The row as messages name it: title and page id."""
        return row_label(self.title, self.page_id)


@dataclass
class MappingReport:
    """What one mapping's run did."""

    name: str
    connector: str
    counts: Counter[str] = field(default_factory=Counter)
    status: str = "ok"
    error: str = ""
    full_scan: bool = False
    notion_requests: int = 0
    plan: list[Action] = field(default_factory=list)
    errors: list[RowFailure] = field(default_factory=list)

    @property
    def writes(self) -> int:
        return self.counts["created"] + self.counts["updated"] + self.counts["deleted"]

    @property
    def exit_code(self) -> int:
        return {
            "ok": EXIT_ITEMS_FAILED if self.counts["failed"] else EXIT_OK,
            "config": EXIT_CONFIG,
            "access": EXIT_ACCESS,
        }.get(self.status, EXIT_ITEMS_FAILED)

    def summary(self) -> str:
        parts = [f"{self.counts[k]} {k}" for k in COUNTED] + [f"{self.counts[k]} {k}" for k in NOTED if self.counts[k]]
        text = f"{self.name} → {self.connector}: " + ", ".join(parts)
        if self.status != "ok":
            text += f" — stopped: {self.error}"
        return text


@dataclass
class RunReport:
    """What a whole run did."""

    mappings: list[MappingReport] = field(default_factory=list)
    dry_run: bool = False

    @property
    def exit_code(self) -> int:
        codes = {m.exit_code for m in self.mappings}
        for code in (EXIT_ACCESS, EXIT_CONFIG, EXIT_ITEMS_FAILED):
            if code in codes:
                return code
        return EXIT_OK

    def totals(self) -> Counter[str]:
        total: Counter[str] = Counter()
        for m in self.mappings:
            total.update(m.counts)
        return total


def notion_token(config: Config) -> Secret:
    """The Notion token, from where ``[notion]`` says."""
    n = config.notion
    token = resolve_secret(
        "notion.token",
        env=n.token_env if not (n.token_file or n.token) else None,
        file=config.resolve_path(n.token_file) if n.token_file else None,
        inline=n.token,
        keyring=n.token_keyring,
    )
    assert token is not None
    if not token.reveal().startswith(("ntn_", "secret_")):
        log.warning(
            "the Notion token %s starts with neither 'ntn_' nor 'secret_': is it an internal integration token?",
            token.fingerprint,
        )
    return token


def warn_token_age(state: StateBackend, token: Secret, rotate_after_days: int, now: datetime) -> int:
    """Record when a token was first seen; warn once it is older than ``rotate_after_days``. Returns its age."""
    age = (now - state.token_first_seen("notion", token.fingerprint)).days
    if age >= rotate_after_days:
        log.warning(
            "the Notion token %s was first seen %d days ago (rotate_after_days = %d): rotate it with "
            "`notion-sync token rotate`",
            token.fingerprint,
            age,
            rotate_after_days,
        )
    return age


Progress = Callable[[str, int, int], None]
"""Called with a mapping's name, the rows read so far and the writes done so far (creates,
updates and removals, failed ones included): after each page of rows and each write."""


@dataclass
class MappingRun:
    """One mapping's run: what each of its steps reads and records."""

    mapping: ResolvedMapping
    ctx: MappingContext[Any]
    connector: Connector[Any, Any]
    state: StateBackend
    options: RunOptions
    report: MappingReport
    recover_all: bool
    """The mapping had no link at the start: any create may find an item written before."""
    pending: set[str]
    """Page ids with an intent at the start: a write was sent and never recorded."""
    rows_read: int = 0

    @property
    def name(self) -> str:
        return self.ctx.name

    def fail(self, page_id: str, shown: str, recorded: str, title: str = "") -> None:
        """Count a failed item and record it (its attempts decide its retry and parking)."""
        self.report.counts["failed"] += 1
        self.report.errors.append(RowFailure(page_id, title, shown))
        if not self.options.dry_run:
            self.state.record_failure(
                self.name, page_id, recorded, max_attempts=self.mapping.config.max_attempts, title=title
            )


class Engine:
    """Runs the mappings of a config. One instance per run.

    ``notion`` and ``state`` open the Notion reader and the state connections (the real
    ``NotionSource`` and ``StateStore`` by default); ``retry`` is the retry policy of the
    reader and of every connector (by default the standard one, scaled by
    ``NOTION_SYNC_RETRY_SCALE``)."""

    def __init__(
        self,
        config: Config,
        *,
        progress: Progress | None = None,
        now: Callable[[], datetime] = lambda: datetime.now(UTC),
        notion: NotionOpener = NotionSource,
        state: StateOpener = StateStore.open,
        retry: RetryPolicy | None = None,
    ) -> None:
        self.config = config
        self.progress = progress
        self.now = now
        self.retry = retry or RetryPolicy.from_env()
        self._open_notion = notion
        self._open_state = state
        self._connectors: dict[str, Connector[Any, Any]] = {}
        self._unknown_types: set[str] = set()
        self.source: NotionReader | None = None

    def connector(self, name: str) -> Connector[Any, Any]:
        if name not in self._connectors:
            cls = self.config.discovery.connectors[name]
            connector = cls(self.config.services[name])
            connector.retry_policy = self.retry
            self._connectors[name] = connector
        return self._connectors[name]

    def close(self) -> None:
        for c in self._connectors.values():
            try:
                c.close()
            except Exception:  # noqa: BLE001 - closing must not hide the run's result
                log.debug("closing connector %s failed", c.name, exc_info=True)
        if self.source is not None:
            self.source.close()

    def run(self, options: RunOptions) -> RunReport:
        """Run the chosen mappings (all enabled ones by default)."""
        chosen = (
            [self.config.mapping(n) for n in options.mappings]
            if options.mappings
            else [m for m in self.config.mappings if m.config.enabled]
        )
        token = notion_token(self.config)
        n = self.config.notion
        self.source = self._open_notion(
            token, base_url=n.base_url, timeout=n.timeout, requests_per_second=n.requests_per_second, retry=self.retry
        )
        report = RunReport(dry_run=options.dry_run)
        try:
            if options.dry_run:
                report.mappings = self._run_all(chosen, options, None)
                return report
            with RunLock(self.config.state_path):
                state = self._open_state(self.config.state_path)
                try:
                    state.start_run(token.fingerprint)
                    warn_token_age(state, token, self.config.notion.rotate_after_days, self.now())
                    report.mappings = self._run_all(chosen, options, state)
                    state.finish_run(
                        "ok" if report.exit_code == EXIT_OK else f"exit {report.exit_code}",
                        {m.name: dict(m.counts) for m in report.mappings},
                    )
                finally:
                    state.close()
        finally:
            self.close()
        return report

    def _run_all(
        self, chosen: list[ResolvedMapping], options: RunOptions, state: StateBackend | None
    ) -> list[MappingReport]:
        """Run the mappings: those of one connector in turn (they share its pacing), different
        connectors side by side, each in its own thread with its own state connection."""
        groups: dict[str, list[ResolvedMapping]] = {}
        for m in chosen:
            groups.setdefault(m.config.connector, []).append(m)

        def run_group(mappings: list[ResolvedMapping]) -> list[MappingReport]:
            store = self._open_state(self.config.state_path, readonly=options.dry_run)
            if state is not None:
                store.run_id, store.token_fingerprint = state.run_id, state.token_fingerprint
            try:
                return [self._run_mapping(m, store, options) for m in mappings]
            finally:
                store.close()

        if len(groups) <= 1:
            done = [run_group(ms) for ms in groups.values()]
        else:
            with ThreadPoolExecutor(max_workers=len(groups), thread_name_prefix="mapping") as pool:
                futures = [pool.submit(run_group, ms) for ms in groups.values()]
                done = [f.result() for f in futures]
        by_name = {rep.name: rep for reports in done for rep in reports}
        return [by_name[m.name] for m in chosen]

    # -- one mapping ----------------------------------------------------------
    def _run_mapping(self, m: ResolvedMapping, state: StateBackend, options: RunOptions) -> MappingReport:
        rep = MappingReport(m.name, m.config.connector)
        assert self.source is not None
        count = RequestCount()
        self.source.count_into(count)
        try:
            self._sync(m, state, options, rep, count)
        except ConfigError as exc:
            rep.status, rep.error = "config", str(exc)
        except AccessError as exc:
            rep.status, rep.error = "access", str(exc)
        except (FatalError, ItemError) as exc:
            rep.status, rep.error = "failed", str(exc)
        rep.notion_requests = count.n
        if rep.status != "ok":
            log.error("mapping %r stopped: %s", m.name, rep.error)
        return rep

    def _sync(
        self, m: ResolvedMapping, state: StateBackend, options: RunOptions, rep: MappingReport, count: RequestCount
    ) -> None:
        """Read → render → plan → record intents → apply → record results, page by page;
        then the departures of a full scan, unfinished creates, and the cursor."""
        assert self.source is not None
        source = self.source
        cursor = state.get_cursor(m.name)
        config_hash = m.config_hash()
        started = self.now()
        same_config = cursor.config_hash == config_hash
        full = full_scan_due(
            forced=options.full or options.sweep,
            watermark=cursor.watermark,
            last_full_scan=cursor.last_full_scan,
            config_changed=not same_config,
            now=started,
            interval_seconds=m.config.full_scan_seconds,
        )
        rep.full_scan = full

        if cursor.data_source_id and same_config:
            data_source_id = cursor.data_source_id
        else:
            data_source_id = source.resolve(m.config.database, m.config.data_source, mapping=m.name).id
        schema, schema_at = (cursor.schema, cursor.schema_at) if same_config else (None, None)
        if schema is None or schema_at is None or started - schema_at > SCHEMA_MAX_AGE:
            schema, schema_at = source.schema(data_source_id), started
        uses = property_uses(m.settings)
        used_names = {u.property for u in uses}
        problems = check_property_uses(m.name, uses, _types(schema))
        if problems:
            raise ConfigError(problems)

        connector = self.connector(m.config.connector)
        run = MappingRun(
            m,
            MappingContext(m.name, m.settings, m.on_delete, m.config.database_id, data_source_id, schema),
            connector,
            state,
            options,
            rep,
            recover_all=state.count_links(m.name) == 0,
            pending=state.pending_intents(m.name),
        )
        connector.prepare(run.ctx)
        validated = False
        seen: set[str] = set()
        oldest_failed: datetime | None = None
        skipped: dict[str, str] = {}

        reads = source.pages(data_source_id, filter=m.config.filter, since=None if full else cursor.watermark)
        for pages in prefetched(reads, lambda: source.count_into(count)):
            if not validated:
                # The rows show the schema as it is now: a property renamed since the schema was
                # read stops the mapping here, before anything is written.
                seen_types = {name: p.get("type", "") for name, p in pages[0].get("properties", {}).items()}
                report_unknown_types(seen_types, self._unknown_types)  # used or not, once per run
                if any(seen_types.get(n) != _types(schema).get(n) for n in used_names):
                    schema, schema_at = source.schema(data_source_id), started
                    problems = check_property_uses(m.name, uses, _types(schema))
                    if problems:
                        raise ConfigError(problems)
                    run.ctx = replace(run.ctx, schema=schema)
                validated = True
            rows = [self._complete(Row.from_page(p), p, used_names) for p in pages]
            rendered = [self._render(connector, row, run.ctx) for row in rows]
            seen.update(r.page_id for r in rendered)
            actions = plan_rows(rendered, state.get_links(m.name, [r.page_id for r in rendered]), run.pending)
            skipped.update((a.page_id, a.title) for a in actions if a.kind == "skip")
            failed = self._apply(run, actions, edited={row.id: row.last_edited_time for row in rows})
            for row in rows:
                if row.id in failed:
                    oldest_failed = min(filter(None, (oldest_failed, row.last_edited_time)))
            run.rows_read = len(seen)
            self._tick(run)

        if full:
            departures = plan_departures(state.iter_links(m.name), seen)
            # The first full scan after a state loss (no link at the start) sweeps up the items of
            # rows that left meanwhile: nothing else remembers them.
            orphans = self._sweep(run, seen, asked=options.sweep) if options.sweep or run.recover_all else []
            departures += orphans
            refusal = mass_delete_refusal(
                len(departures),
                state.count_links(m.name, live_only=True) + len(orphans),
                max_fraction=m.config.max_delete_fraction,
                allowed=options.allow_mass_delete,
                minimum=options.mass_delete_minimum,
            )
            if refusal:
                raise FatalError(refusal)
            self._apply(run, departures, edited={})

        if not options.dry_run:
            unfinished = unfinished_creates(state.pending_intents(m.name), skipped, seen, full=full)
            if unfinished:
                self._remove_unrecorded(run, unfinished)
            state.set_cursor(
                m.name,
                Cursor(
                    data_source_id,
                    next_watermark(started, oldest_failed),
                    started if full else cursor.last_full_scan,
                    config_hash,
                    schema,
                    schema_at,
                ),
            )

    @staticmethod
    def _sweep(run: MappingRun, seen: set[str], *, asked: bool) -> list[Action]:
        """The items carrying this mapping's marker whose rows left and that no link remembers."""
        connector = run.connector
        if not connector.can_list_marked():
            (log.warning if asked else log.info)(
                "mapping %r: connector %s cannot list its items, so the sweep for items of rows that left "
                "while the state file was missing was skipped",
                run.name,
                connector.name,
            )
            return []
        try:
            marked = connector.list_marked(run.ctx)
        except ItemError as exc:
            log.warning("mapping %r: the sweep could not list the items (%s); run --sweep to try again", run.name, exc)
            return []
        linked = {s.page_id for s in run.state.iter_links(run.name)}
        return plan_sweep(marked, seen, linked)

    def _complete(self, row: Row, page: dict[str, Any], used: set[str]) -> Row:
        """Fetch in full any used people/relation value that Notion cut at 25."""
        assert self.source is not None
        cut = [n for n in used if n in page.get("properties", {}) and needs_completion(page["properties"][n])]
        if not cut:
            return row
        props = dict(page["properties"])
        for name in cut:
            props[name] = self.source.complete_property(row.id, props[name])
        return Row.from_page({**page, "properties": props})

    @staticmethod
    def _render(connector: Connector[Any, Any], row: Row, ctx: MappingContext[Any]) -> Rendered:
        try:
            payload = connector.render(row, ctx)
        except SkipItem as exc:
            return Rendered(row.id, row.title, skip_reason=str(exc) or "nothing to write")
        except NotionSyncError as exc:
            return Rendered(row.id, row.title, error=str(exc))
        except Exception as exc:  # noqa: BLE001 - a connector bug fails the row, not the run
            # The traceback is for --verbose; the row's error says what failed, every run.
            log.debug("connector %s failed to render row %s", connector.name, row.id, exc_info=True)
            return Rendered(row.id, row.title, error=f"{type(exc).__name__} while rendering: {exc}")
        item = DesiredItem(ctx.name, row.id, row.url, row.title, payload)
        return Rendered(row.id, row.title, item=item, last_edited=row.last_edited_time)

    # -- applying -------------------------------------------------------------
    def _apply(self, run: MappingRun, actions: list[Action], *, edited: dict[str, datetime]) -> set[str]:
        """Apply planned actions; returns the page ids that failed or wait for a retry (the
        watermark is held back so that their rows are read again)."""
        rep, state = run.report, run.state
        gated = gate_retries(actions, state.failure_map(run.name, attempted(actions)), edited, self.now())
        rep.counts["parked"] += len(gated.parked)
        rep.counts["deferred"] += len(gated.deferred)
        failed = {a.page_id for a in gated.deferred}
        for a in gated.ready:
            if a.kind in ("unchanged", "skip"):
                rep.counts["unchanged" if a.kind == "unchanged" else "skipped"] += 1
            elif a.kind == "fail":
                failed.add(a.page_id)
                run.fail(a.page_id, a.reason, a.reason, a.title)
        writes = [a for a in gated.ready if a.kind in WRITES]
        if run.options.dry_run:
            rep.plan.extend(a for a in actions if a.kind != "unchanged")
            for a in writes:
                rep.counts[{"create": "created", "update": "updated", "delete": "deleted"}[a.kind]] += 1
            return failed
        if not writes:
            return failed

        lookups = to_recover(writes, everything=run.recover_all, pending=run.pending)
        try:
            recovered = run.connector.recover(lookups, run.ctx) if lookups else {}
        except ItemError as exc:
            for a in writes:
                if a.kind == "create":
                    failed.add(a.page_id)
                    run.fail(a.page_id, f"could not check for an earlier write: {exc}", str(exc), a.title)
            writes = [a for a in writes if a.kind != "create"]
            recovered = {}

        plan = plan_writes(writes, recovered, run.ctx.on_delete, run.connector.on_delete_modes)
        for a in plan.kept:
            assert a.link is not None
            state.save_link(
                run.name, a.page_id, a.link.ref, a.link.payload, archived=True, action="kept", title=a.title
            )
            rep.counts["unchanged"] += 1
        titles = {a.page_id: a.title for a in writes}
        for link in plan.adopted:
            state.save_link(
                run.name, link.page_id, link.ref, link.payload, action="adopted", title=titles[link.page_id]
            )
            rep.counts["unchanged"] += 1
        unsure = intents_for(plan.operations)
        if unsure:
            state.record_intent(run.name, unsure)
        size = max(1, run.connector.batch_size)
        for start in range(0, len(plan.operations), size):
            for result in run.connector.apply(plan.operations[start : start + size], run.ctx):
                if self._record(run, result):
                    failed.add(result.operation.page_id)
                self._tick(run)
        return failed

    def _tick(self, run: MappingRun) -> None:
        if self.progress:
            counts = run.report.counts
            writes = sum(counts[k] for k in ("created", "updated", "deleted", "failed"))
            self.progress(run.name, run.rows_read, writes)

    def _remove_unrecorded(self, run: MappingRun, unfinished: list[Unfinished]) -> None:
        """Find the items that unfinished creates may have written, remove those found like any
        departing item, and forget the intents of the rest."""
        linked = set(run.state.get_links(run.name, [u.page_id for u in unfinished]))
        lookups = unrecorded_lookups(run.name, unfinished, linked)
        try:
            found = run.connector.recover(lookups, run.ctx) if lookups else {}
        except ItemError as exc:
            log.warning(
                "mapping %r: could not look for items of unfinished creates (%s); the next run looks again",
                run.name,
                exc,
            )
            return
        removals, forget = plan_unrecorded_removals(unfinished, linked, found)
        for page_id in forget:
            run.state.clear_intent(run.name, page_id)
        if removals:
            self._apply(run, removals, edited={})

    @staticmethod
    def _record(run: MappingRun, result: OperationResult) -> bool:
        """Record one operation's outcome; returns whether it failed."""
        op, rep, state = result.operation, run.report, run.state
        if result.error is not None:
            run.fail(op.page_id, str(result.error), f"{op.kind}: {result.error}", _title(op))
            if clears_intent(result):
                state.clear_intent(run.name, op.page_id)
            return True
        if isinstance(op, DeleteOperation):
            rep.counts["deleted"] += 1
            if result.ref is None:
                state.remove_link(run.name, op.page_id, op.link.ref.id, title=_title(op))
            else:
                state.save_link(
                    run.name, op.page_id, result.ref, op.link.payload, archived=True, action=op.mode, title=_title(op)
                )
            return False
        assert result.ref is not None
        rep.counts["created" if op.kind == "create" else "updated"] += 1
        state.save_link(
            run.name,
            op.page_id,
            result.ref,
            op.item.payload,
            action="created" if op.kind == "create" else "updated",
            title=op.item.title,
        )
        return False


def _title(op: Operation) -> str:
    """The row's title for messages and history: a removal knows it when the link's item did."""
    if isinstance(op, DeleteOperation):
        return op.link.ref.extra.get("title", "")
    return op.item.title


def _types(schema: dict[str, Any]) -> dict[str, str]:
    return {name: str(p.get("type", "")) for name, p in schema.items()}
