"""The sync engine: for each mapping, read rows, render, plan, and apply.

Every decision is the planner's (``notion_sync.core.planner``, pure functions of plain data);
the engine reads what they need, carries out what they decide and records the outcome. Per
mapping, one run, held in a ``MappingRun``:

1. ``prepare`` the connector (read-only lookups), resolve the data source (cached, and read
   once per run however many mappings use it); with ``write_back``, carry the target's changes
   of the chosen fields back into Notion first (``_write_back``), so the read sees them;
2. stream rows: incrementally since the watermark, or in full when ``full_scan_due``. Mappings
   on one data source share one read (``plan_shared_reads``, ``SharedRead``): full if any of
   them needs it, each applying its own filter when Notion cannot apply them all;
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

import gc
import logging
import threading
from collections import Counter
from collections.abc import Callable, Collection, Iterator, Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime, timedelta
from functools import partial
from typing import Any, TypeVar

from notion_sync import __version__
from notion_sync.core.adapter import (
    Connector,
    DeleteOperation,
    DesiredItem,
    MappingContext,
    Operation,
    OperationResult,
    TargetItem,
)
from notion_sync.core.config import Config, ResolvedMapping, shared_limits_url
from notion_sync.core.errors import (
    EXIT_ACCESS,
    EXIT_CONFIG,
    EXIT_ITEMS_FAILED,
    EXIT_OK,
    AccessError,
    BadValue,
    ConfigError,
    ConfigProblem,
    FatalError,
    ItemError,
    LockedError,
    NotionSyncError,
    SkipItem,
)
from notion_sync.core.fields import PropertyUse, property_uses
from notion_sync.core.frozen import made
from notion_sync.core.links import StoredBody, WriteBackIntent
from notion_sync.core.lock import MappingHeld, holder_identity, mapping_lock
from notion_sync.core.notion_source import NotionSource, RequestCount, check_property_uses, needs_completion
from notion_sync.core.pacing import Pacers
from notion_sync.core.page_body import blocks_from_api, from_json, to_json
from notion_sync.core.planner import (
    WRITES,
    Action,
    ReadWant,
    Rendered,
    SharedReadPlan,
    Unfinished,
    attempted,
    bodies_to_read,
    changed_in_target,
    clears_intent,
    evaluable_here,
    full_scan_due,
    gate_retries,
    intents_for,
    marks_to_record,
    mass_delete_refusal,
    memo_blockers,
    memo_key,
    next_watermark,
    plan_departures,
    plan_rows,
    plan_shared_reads,
    plan_sweep,
    plan_unrecorded_removals,
    plan_write_back,
    plan_writes,
    scan_interval,
    split_targeted,
    to_recover,
    unfinished_creates,
    unrecorded_lookups,
    unrendered,
)
from notion_sync.core.retry import RetryPolicy
from notion_sync.core.rows import Row, parse_property, report_unknown_types, row_label
from notion_sync.core.seams import NotionOpener, NotionReader, StateBackend, StateOpener
from notion_sync.core.secrets import Secret, resolve_secret
from notion_sync.core.shared_read import SharedRead, page_filter
from notion_sync.core.state import Cursor, StateStore

__all__ = ["Engine", "MappingReport", "MappingRun", "RowFailure", "RunOptions", "RunReport", "notion_token"]

log = logging.getLogger(__name__)
T = TypeVar("T")

SCHEMA_MAX_AGE = timedelta(hours=24)
SHARED_READ_AHEAD = 8
"""Pages each consumer of a shared read may hold in memory (about 10 MB at most: the consumers
share the page objects); a slower one's later pages wait in its spill file (``SharedRead``), so
Google is never held to Slack's one post per second."""
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
    render_all: bool = False
    """Render every row read, even those the render memo vouches for."""


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
    rendered: int = 0
    """Rows rendered; the others read were vouched for by the render memo (``--render-all``)."""
    plan: list[Action] = field(default_factory=list)
    errors: list[RowFailure] = field(default_factory=list)
    write_backs: list[str] = field(default_factory=list)
    """Each write-back and conflict of the run, as the plan shows it (``← Notion  Status: ...``)."""
    write_back_error: str = ""
    """Why write-back stopped for this mapping (the one-way sync went on)."""
    write_back_exit: int = EXIT_OK
    """The exit code that stop means: 3 for a missing capability, 1 otherwise."""

    @property
    def writes(self) -> int:
        """Writes made anywhere: to the target, and to Notion by write-back."""
        return self.counts["created"] + self.counts["updated"] + self.counts["deleted"] + self.counts["written back"]

    @property
    def exit_code(self) -> int:
        if self.status == "ok" and self.write_back_error:
            return self.write_back_exit
        return {
            "ok": EXIT_ITEMS_FAILED if self.counts["failed"] else EXIT_OK,
            "config": EXIT_CONFIG,
            "access": EXIT_ACCESS,
            "held": EXIT_OK,
        }.get(self.status, EXIT_ITEMS_FAILED)

    def summary(self) -> str:
        parts = [f"{self.counts[k]} {k}" for k in COUNTED] + [f"{self.counts[k]} {k}" for k in NOTED if self.counts[k]]
        if self.counts["written back"]:
            parts.append(f"{self.counts['written back']} written back")
        if self.counts["conflict"]:
            parts.append(f"{self.counts['conflict']} conflict" + ("s" if self.counts["conflict"] > 1 else ""))
        text = f"{self.name} → {self.connector}: " + ", ".join(parts)
        if self.status == "held":
            return f"{self.name} → {self.connector}: skipped — {self.error}"
        if self.status != "ok":
            text += f" — stopped: {self.error}"
        elif self.write_back_error:
            text += f" — write-back stopped: {self.write_back_error}"
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
    count: RequestCount
    """The Notion requests made for this mapping."""
    cursor: Cursor
    config_hash: str
    started: datetime
    full: bool
    schema_at: datetime
    uses: list[PropertyUse]
    own_filter: Callable[[list[dict[str, Any]]], list[dict[str, Any]]] | None = None
    """The mapping's filter, evaluated here (when it can be)."""
    keep: Callable[[list[dict[str, Any]]], list[dict[str, Any]]] | None = None
    """``own_filter``, when the mapping's shared read does not leave the filter to Notion."""
    reads_body: bool = False
    """The mapping shows page bodies: read them for rows edited since they were last read."""
    memo: str | None = None
    """The render memo's key (``memo_key``), or None when every row read is rendered."""
    marks: dict[str, str] = field(default_factory=dict)
    """The render marks of the rows being written, recorded with their links."""
    validated: bool = False
    rows_read: int = 0
    query_pages: int = 0
    """Pages of rows read (up to 100 each): a full scan records how many, for ``"auto"``."""
    seen: set[str] = field(default_factory=set)
    oldest_failed: datetime | None = None
    skipped: dict[str, str] = field(default_factory=dict)

    def want(self) -> ReadWant:
        """What this mapping needs to read."""
        return ReadWant(
            self.name, self.ctx.data_source_id, self.full, self.cursor.watermark, self.mapping.config.filter
        )

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
        self.pacers = Pacers(shared_limits_url(config))
        """The run's pacers: one budget per token, shared by the fleet's workers under ``[celery]``."""
        self._open_state = state
        self._connectors: dict[str, Connector[Any, Any]] = {}
        self._unknown_types: set[str] = set()
        self.source: NotionReader | None = None
        self._lookups = threading.Lock()
        self._data_sources: dict[tuple[str, str | None], str] = {}
        self._schemas: dict[str, dict[str, Any]] = {}
        """Read once per run however many mappings use them."""

    def connector(self, name: str) -> Connector[Any, Any]:
        if name not in self._connectors:
            cls = self.config.discovery.connectors[name]
            connector = cls(self.config.services[name])
            connector.retry_policy = self.retry
            connector.pacers = self.pacers
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
        return self._session(
            options, chosen, lambda ms, state: self._run_all(ms, options, state), explicit=bool(options.mappings)
        )

    def sync_pages(self, targets: Mapping[str, Collection[str]], options: RunOptions | None = None) -> RunReport:
        """Sync exactly these pages (mapping name -> page ids), as ``run`` syncs a row: what
        ``notion-sync serve`` does for webhook events. Each distinct page is read once (a page
        GET, however many mappings use it): a live row in the mapping's filter is rendered,
        planned and written like any row (no write when its output did not change); a trashed
        row, or one that left the filter, gets ``on_delete``. A page Notion answers 404 for is
        left to the next full scan. The watermark does not move: the next ``run`` reads as before."""
        options = options or RunOptions()
        chosen = [self.config.mapping(n) for n in targets]
        # Explicit: serve keeps the events of a mapping another run holds and tries again later.
        return self._session(
            options, chosen, lambda ms, state: self._sync_targets(ms, targets, options, state), explicit=True
        )

    def _session(
        self,
        options: RunOptions,
        chosen: list[ResolvedMapping],
        work: Callable[[list[ResolvedMapping], StateBackend | None], list[MappingReport]],
        *,
        explicit: bool,
    ) -> RunReport:
        """Open Notion, take each chosen mapping's lock, open the state and record a run around
        ``work`` (called with the mappings whose locks were taken): every sync (``run``,
        ``sync_pages``, ``refresh_schema``) goes through here, so locks are taken in one place.
        ``explicit``: a mapping another process holds stops the call (``MappingHeld``, exit 75)
        instead of being reported as held while the others run."""
        token = notion_token(self.config)
        n = self.config.notion
        self.source = self._open_notion(
            token,
            base_url=n.base_url,
            timeout=n.timeout,
            requests_per_second=n.requests_per_second,
            retry=self.retry,
            pacers=self.pacers,
        )
        report = RunReport(dry_run=options.dry_run)
        try:
            with _collector_spared():
                if options.dry_run:
                    report.mappings = work(chosen, None)
                    return report
                with ExitStack() as held:
                    runnable, skipped = self._take_locks(chosen, explicit=explicit, held=held)
                    state = self._open_state(self.config.state_location)
                    try:
                        state.start_run(token.fingerprint)
                        warn_token_age(state, token, self.config.notion.rotate_after_days, self.now())
                        me = holder_identity()
                        for m in runnable:
                            state.start_mapping_run(m.name, me)
                        done = {r.name: r for r in work(runnable, state)} if runnable else {}
                        for m in runnable:
                            state.finish_mapping_run(m.name, done[m.name].status)
                        report.mappings = [done.get(m.name) or skipped[m.name] for m in chosen]
                        state.finish_run(
                            "ok" if report.exit_code == EXIT_OK else f"exit {report.exit_code}",
                            {m.name: dict(m.counts) for m in report.mappings if m.status != "held"},
                        )
                    finally:
                        state.close()
            return report
        finally:
            self.close()

    def _take_locks(
        self, chosen: list[ResolvedMapping], *, explicit: bool, held: ExitStack
    ) -> tuple[list[ResolvedMapping], dict[str, MappingReport]]:
        """Take each mapping's lock in turn. A mapping named on the command line that another
        process holds stops the run at once (exit 75); in a run of every mapping it is reported
        as held by that process and the others run. When every one is held, the run exits 75."""
        runnable: list[ResolvedMapping] = []
        skipped: dict[str, MappingReport] = {}
        refusals: list[MappingHeld] = []
        for m in chosen:
            try:
                held.enter_context(mapping_lock(self.config.state_location, m.name))
            except MappingHeld as refused:
                if explicit:
                    raise
                refusals.append(refused)
                skipped[m.name] = MappingReport(
                    m.name, m.config.connector, status="held", error=f"another run ({refused.holder}) is syncing it"
                )
                continue
            runnable.append(m)
        if chosen and not runnable:
            raise (
                refusals[0]
                if len(refusals) == 1
                else LockedError(
                    "every mapping is being synced by another notion-sync run ("
                    + ", ".join(f"{r.mapping}: {r.holder}" for r in refusals)
                    + "); this run exits without doing anything"
                )
            )
        return runnable, skipped

    def _run_all(
        self, chosen: list[ResolvedMapping], options: RunOptions, state: StateBackend | None
    ) -> list[MappingReport]:
        """Run the mappings: those of one connector in one thread (they share its client and
        pacing), different connectors side by side, each thread with its own state connection.
        Every thread first prepares its mappings; then mappings on one data source share one
        read (``plan_shared_reads``), taken in the same order by every thread."""
        groups: dict[str, list[ResolvedMapping]] = {}
        for m in chosen:
            groups.setdefault(m.config.connector, []).append(m)
        barrier = threading.Barrier(len(groups))
        begun: dict[str, MappingRun] = {}
        reads: list[tuple[SharedReadPlan, SharedRead, list[str]]] = []
        lock = threading.Lock()

        def share_reads() -> None:
            """Run once, by the barrier, when every thread has prepared its mappings."""
            order = {m.name: i for i, m in enumerate(chosen)}
            wants = [begun[m.name].want() for m in chosen if m.name in begun]
            for plan in sorted(plan_shared_reads(wants), key=lambda p: order[p.mappings[0]]):
                connectors = sorted({begun[n].mapping.config.connector for n in plan.mappings})
                reads.append(
                    (plan, self._open_shared_read(plan, len(connectors), begun[plan.mappings[0]].count), connectors)
                )

        def run_group(mappings: list[ResolvedMapping]) -> list[MappingReport]:
            store = self._open_state(self.config.state_location, readonly=options.dry_run)
            if state is not None:
                store.run_id, store.token_fingerprint = state.run_id, state.token_fingerprint
            reports = [MappingReport(m.name, m.config.connector) for m in mappings]
            connector = mappings[0].config.connector
            taken = 0
            try:
                try:
                    for m, rep in zip(mappings, reports, strict=True):
                        run = _guarded(rep, partial(self._begin, m, store, options, rep))
                        if run is not None:
                            with lock:
                                begun[m.name] = run
                except BaseException:
                    barrier.abort()
                    raise
                if barrier.wait() == 0:
                    try:
                        share_reads()
                    except BaseException:
                        barrier.abort()
                        raise
                barrier.wait()
                for plan, shared, connectors in reads:
                    members = [begun[n] for n in plan.mappings if begun[n].mapping.config.connector == connector]
                    if members:
                        self._take_shared(plan, shared, connectors.index(connector), members)
                    taken += 1
            finally:
                for _plan, shared, connectors in reads[taken:]:
                    if connector in connectors:
                        shared.leave(connectors.index(connector))
                store.close()
            for m, rep in zip(mappings, reports, strict=True):
                run = begun.get(m.name)
                if run is not None:
                    rep.notion_requests = run.count.n
                if rep.status != "ok":
                    log.error("mapping %r stopped: %s", m.name, rep.error)
            return reports

        if len(groups) <= 1:
            done = [run_group(ms) for ms in groups.values()]
        else:
            with ThreadPoolExecutor(max_workers=len(groups), thread_name_prefix="mapping") as pool:
                futures = [pool.submit(run_group, ms) for ms in groups.values()]
                errors = [e for e in (f.exception() for f in futures) if e is not None]
                # A thread that fails breaks the barrier the others wait at: raise its error, not theirs.
                for error in sorted(errors, key=lambda e: isinstance(e, threading.BrokenBarrierError)):
                    raise error
                done = [f.result() for f in futures]
        by_name = {rep.name: rep for reports in done for rep in reports}
        return [by_name[m.name] for m in chosen]

    def _sync_targets(
        self,
        chosen: list[ResolvedMapping],
        targets: Mapping[str, Collection[str]],
        options: RunOptions,
        state: StateBackend | None,
    ) -> list[MappingReport]:
        """``sync_pages``'s work: the mappings one after another, the page reads shared."""
        assert state is not None, "a targeted sync writes: it has no dry run"
        found: dict[str, dict[str, Any] | None] = {}
        reports = []
        for m in chosen:
            rep = MappingReport(m.name, m.config.connector)
            reports.append(rep)
            run = _guarded(rep, partial(self._begin, m, state, options, rep))
            if run is None:
                log.error("mapping %r stopped: %s", m.name, rep.error)
                continue
            run.full = rep.full_scan = False
            _guarded(rep, partial(self._take_targeted, run, list(dict.fromkeys(targets[m.name])), found))
            rep.notion_requests = run.count.n
            if rep.status != "ok":
                log.error("mapping %r stopped: %s", m.name, rep.error)
        return reports

    def _take_targeted(self, run: MappingRun, page_ids: list[str], found: dict[str, dict[str, Any] | None]) -> None:
        """Read the pages not read yet, then sync the live ones and remove the items of those that left."""
        assert self.source is not None
        for page_id in page_ids:
            if page_id not in found:
                found[page_id] = self.source.page(page_id)
        pages = [p for p in (found[i] for i in page_ids) if p is not None and not p.get("in_trash")]
        pages = [p for p in pages if (p.get("parent") or {}).get("data_source_id") in (None, run.ctx.data_source_id)]
        if run.own_filter is not None:
            pages = run.own_filter(pages)
        elif run.mapping.config.filter is not None and pages:
            # A filter only Notion can evaluate: one query for the rows edited since the oldest of
            # these pages, and those of them it returns are in the filter.
            since = min(Row.from_page(p).last_edited_time for p in pages)
            wanted = {p["id"] for p in pages}
            kept: list[dict[str, Any]] = []
            for batch in self.source.pages(run.ctx.data_source_id, filter=run.mapping.config.filter, since=since):
                kept.extend(p for p in batch if p["id"] in wanted)
            pages = kept
        live, left, unknown = split_targeted(page_ids, found, {p["id"] for p in pages})
        if unknown:
            log.info(
                "mapping %r: %d page(s) of the events are not found (deleted for good, or unshared); "
                "the next full scan decides",
                run.name,
                len(unknown),
            )
        if live:
            by_id = {p["id"]: p for p in pages}
            self._take(run, [by_id[i] for i in live])
        departures = plan_departures(run.state.get_links(run.name, left).values(), set())
        if departures:
            refusal = mass_delete_refusal(
                len(departures),
                run.state.count_links(run.name, live_only=True),
                max_fraction=run.mapping.config.max_delete_fraction,
                allowed=run.options.allow_mass_delete,
                minimum=run.options.mass_delete_minimum,
            )
            if refusal:
                raise FatalError(refusal)
            self._apply(run, departures, edited={})
        if not run.options.dry_run:
            unfinished = unfinished_creates(run.state.pending_intents(run.name), run.skipped, run.seen, full=False)
            if unfinished:
                self._remove_unrecorded(run, unfinished)

    def refresh_schema(self, mappings: Sequence[str]) -> RunReport:
        """Forget these mappings' cached schemas, then run them: the schema is read again and the
        mapped properties re-checked (a property that is gone stops the mapping before any write)."""
        options = RunOptions(mappings=mappings)
        chosen = [self.config.mapping(n) for n in mappings]

        def work(runnable: list[ResolvedMapping], state: StateBackend | None) -> list[MappingReport]:
            assert state is not None
            for m in runnable:
                state.set_cursor(m.name, replace(state.get_cursor(m.name), schema=None, schema_at=None))
            return self._run_all(runnable, options, state)

        return self._session(options, chosen, work, explicit=True)

    def _open_shared_read(self, plan: SharedReadPlan, subscribers: int, count: RequestCount) -> SharedRead:
        """The one read of ``plan``'s data source; its requests count for its first mapping."""
        assert self.source is not None
        source = self.source
        return SharedRead(
            lambda: source.pages(plan.data_source_id, filter=plan.server_filter, since=plan.since),
            subscribers,
            setup=lambda: source.count_into(count),
            depth=1 if subscribers == 1 else SHARED_READ_AHEAD,
        )

    def _take_shared(
        self, plan: SharedReadPlan, shared: SharedRead, subscriber: int, members: list[MappingRun]
    ) -> None:
        """Take the pages of a shared read for this thread's mappings on it, then finish them."""
        assert self.source is not None
        source = self.source
        live: list[MappingRun] = []
        for run in members:
            run.full = run.report.full_scan = plan.full
            f = plan.client_filters.get(run.name)
            if f is not None:
                run.keep = _guarded(run.report, partial(page_filter, run.name, f, run.ctx.schema, run.started))
                if run.keep is None:
                    continue
            live.append(run)
        if not live:
            shared.leave(subscriber)
            return
        try:
            for pages in shared.pages(subscriber):
                for run in list(live):
                    source.count_into(run.count)
                    if not _guarded(run.report, partial(self._take, run, pages)):
                        live.remove(run)
                if not live:
                    break
        except (ConfigError, FatalError, ItemError) as exc:
            for run in live:
                _stopped(run.report, exc)
            return
        for run in live:
            source.count_into(run.count)
            _guarded(run.report, partial(self._end, run))

    # -- one mapping ----------------------------------------------------------
    def _begin(self, m: ResolvedMapping, state: StateBackend, options: RunOptions, rep: MappingReport) -> MappingRun:
        """Everything before the read: the cursor, the data source and its schema, the mapped
        properties' check, and the connector's ``prepare``."""
        assert self.source is not None
        source = self.source
        count = RequestCount()
        source.count_into(count)
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
            interval_seconds=scan_interval(m.config.full_scan_seconds, cursor.full_scan_pages),
        )
        rep.full_scan = full

        if cursor.data_source_id and same_config:
            data_source_id = cursor.data_source_id
        else:
            with self._lookups:
                key = (m.config.database, m.config.data_source)
                if key not in self._data_sources:
                    self._data_sources[key] = source.resolve(*key, mapping=m.name).id
                data_source_id = self._data_sources[key]
        schema, schema_at = (cursor.schema, cursor.schema_at) if same_config else (None, None)
        uses = property_uses(m.settings)
        connector = self.connector(m.config.connector)
        if (
            schema is None
            or schema_at is None
            or started - schema_at > SCHEMA_MAX_AGE
            # A full scan the memo may shorten reads the schema: an option renamed changes what
            # the rows show without editing them, and the memo's key holds the schema.
            or (full and _memo_possible(connector, options, uses, schema))
        ):
            with self._lookups:
                if data_source_id not in self._schemas:
                    self._schemas[data_source_id] = source.schema(data_source_id)
                schema, schema_at = self._schemas[data_source_id], started
        problems = check_property_uses(m.name, uses, _types(schema))
        if problems:
            raise ConfigError(problems)

        run = MappingRun(
            m,
            MappingContext(m.name, m.settings, m.on_delete, m.config.database_id, data_source_id, schema),
            connector,
            state,
            options,
            rep,
            recover_all=state.count_links(m.name) == 0,
            pending=state.pending_intents(m.name),
            count=count,
            cursor=cursor,
            config_hash=config_hash,
            started=started,
            full=full,
            schema_at=schema_at,
            uses=uses,
        )
        run.reads_body = connector.reads_body(m.settings)
        if m.config.filter is not None and evaluable_here(m.config.filter):
            # Checked here, before any read: a shared read may send it to Notion OR-ed with others'.
            run.own_filter = page_filter(m.name, m.config.filter, schema, started)
        connector.prepare(run.ctx)
        run.memo = _memo(run)
        if m.config.write_back:
            self._write_back(run)
        return run

    # -- write-back -----------------------------------------------------------
    def _write_back(self, run: MappingRun) -> None:
        """Carry what the target changed in the mapping's write-back fields back into Notion,
        before the read (which then sees the rows as written): list the target's changes, compare
        each changed item three ways (``plan_write_back``), and PATCH only the changed properties,
        with an intent recorded before and the result after. Write-back stopping (Notion refused,
        the listing failed) never stops the one-way sync."""
        assert self.source is not None
        m, connector, state, rep = run.mapping, run.connector, run.state, run.report
        fields = m.config.write_back
        problems = connector.write_back_problems(m.settings, fields, run.ctx.schema)
        if problems:
            raise ConfigError([ConfigProblem(f"mapping {m.name!r}: {p.key}", p.reason) for p in problems])
        keys = {f: connector.write_back_keys(m.settings, f) for f in fields}
        try:
            changes = connector.target_changes(run.ctx, fields, state.change_token(m.name))
        except ItemError as exc:
            # A transient failure: the changes are still there next run (the token did not move).
            log.warning("mapping %r: could not list the target's changes for write-back (%s)", m.name, exc)
            return
        except FatalError as exc:
            log.error("mapping %r: write-back stopped: could not list the target's changes: %s", m.name, exc)
            rep.write_back_error = f"could not list the target's changes: {exc}"
            rep.write_back_exit = exc.exit_code
            return
        links = state.get_links(m.name, list(changes.items))
        written = {pid: s.link.payload for pid, s in links.items() if not s.archived}
        targets = {pid: item.values for pid, item in changes.items.items()}
        intents = state.write_back_intents(m.name)
        done = True
        for page_id in changed_in_target(targets, written, keys, connector.comparable):
            last = written[page_id]
            assert last is not None
            try:
                if not self._write_back_row(run, changes.items[page_id], last, keys, intents.get(page_id)):
                    done = False
            except AccessError as exc:
                log.error("mapping %r: write-back stopped: %s", m.name, exc)
                rep.write_back_error, rep.write_back_exit = str(exc), exc.exit_code
                return
        if done and not run.options.dry_run:
            # Moved only once every change was handled: a change the token would no longer list stays listed.
            state.set_change_token(m.name, changes.token)

    def _write_back_row(
        self,
        run: MappingRun,
        item: TargetItem,
        last: dict[str, Any],
        keys: dict[str, tuple[str, ...]],
        intent: WriteBackIntent | None,
    ) -> bool:
        """One row whose item changed in the target; returns False when it must be seen again."""
        assert self.source is not None
        m, connector, state, rep = run.mapping, run.connector, run.state, run.report
        try:
            page = self.source.page(item.page_id)
        except (ItemError, FatalError) as exc:
            # A row deleted for good (404) or a passing failure: its item is the sync's business.
            log.warning("mapping %r: could not read row %s for write-back: %s", m.name, item.page_id, exc)
            return False
        if page is None:
            log.warning(
                "mapping %r: row %s is gone (404): no write-back, the sync removes its item", m.name, item.page_id
            )
            return False
        row = Row.from_page(page)
        if row.in_trash:
            return True
        rendered = self._render(connector, row, run.ctx)
        if rendered.item is None:
            return True  # the row renders no item now: the sync removes it
        plan = plan_write_back(
            item.page_id,
            target=item.values,
            written=last,
            notion=rendered.item.payload,
            keys=keys,
            policy=m.config.conflict,
            notion_edited=row.last_edited_time,
            target_modified=item.modified,
            comparable=connector.comparable,
        )
        label = row.title or item.page_id
        for c in plan.conflicts:
            rep.counts["conflict"] += 1
            detail = (
                f"{c.field}: Notion {_shown(c.notion)} vs {connector.name} {_shown(c.target)}; "
                f"{'Notion' if c.winner == 'notion' else connector.name} wins (conflict = {m.config.conflict!r})"
            )
            rep.write_backs.append(f"⚔ conflict  {label}  {detail}")
            if not run.options.dry_run:
                state.record_conflict(m.name, item.page_id, item.ref.id, detail=detail, title=row.title)
        properties: dict[str, Any] = {}
        try:
            for name in plan.write:
                properties.update(connector.notion_values(m.settings, run.ctx.schema, name, plan.values, row))
        except ItemError as exc:
            run.fail(item.page_id, f"write-back: {exc}", f"write-back: {exc}", row.title)
            return False
        detail = "; ".join(_change(row, name, value) for name, value in properties.items())
        if properties:
            rep.write_backs.append(f"← Notion  {detail}  ({label})")
        if run.options.dry_run:
            rep.counts["written back"] += bool(properties)
            return True
        if not properties:
            if plan.adopt:
                recorded = _as_rendered(plan.payload, rendered.item.payload, plan.adopt, keys, connector)
                # Notion already holds the target's value: a killed run's write-back, or one edit on both sides.
                recovered = intent is not None
                state.record_write_back(
                    m.name,
                    item.page_id,
                    item.ref,
                    recorded,
                    action="written back" if recovered else "adopted",
                    detail=(intent.detail + " (recorded after an interrupted run)")
                    if intent is not None
                    else ", ".join(plan.adopt) + ": Notion already agrees",
                    title=row.title,
                )
            return True
        state.record_write_back_intent(m.name, WriteBackIntent(item.page_id, properties, plan.values, detail))
        try:
            updated = self.source.update_page(item.page_id, properties)
        except AccessError:
            state.clear_write_back_intent(m.name, item.page_id)
            raise
        except (ItemError, FatalError) as exc:
            # The intent stays: the next run compares again and writes, or finds it written.
            run.fail(item.page_id, f"write-back to Notion: {exc}", f"write-back: {exc}", row.title)
            return False
        after = self._render(connector, Row.from_page(updated), run.ctx).item
        recorded = plan.payload
        if after is not None:
            recorded = _as_rendered(plan.payload, after.payload, plan.write + plan.adopt, keys, connector)
        state.record_write_back(
            m.name, item.page_id, item.ref, recorded, action="written back", detail=detail, title=row.title
        )
        rep.counts["written back"] += 1
        return True

    def _take(self, run: MappingRun, pages: list[dict[str, Any]]) -> bool:
        """One page of rows (up to 100): render, plan against their links, apply, record."""
        assert self.source is not None
        m, state, connector = run.mapping, run.state, run.connector
        used_names = {u.property for u in run.uses}
        run.query_pages += 1
        if not run.validated:
            # The rows show the schema as it is now: a property renamed since the schema was
            # read stops the mapping here, before anything is written.
            schema = run.ctx.schema
            seen_types = {name: p.get("type", "") for name, p in pages[0].get("properties", {}).items()}
            report_unknown_types(seen_types, self._unknown_types)  # used or not, once per run
            if any(seen_types.get(n) != _types(schema).get(n) for n in used_names):
                schema, run.schema_at = self.source.schema(run.ctx.data_source_id), run.started
                problems = check_property_uses(m.name, run.uses, _types(schema))
                if problems:
                    raise ConfigError(problems)
                run.ctx = replace(run.ctx, schema=schema)
                run.memo = _memo(run)
            run.validated = True
        if run.keep is not None:
            pages = run.keep(pages)
            if not pages:
                return True
        stamps: dict[str, str] = {p["id"]: p["last_edited_time"] for p in pages}
        links = state.get_links(m.name, stamps)
        run.seen.update(stamps)
        vouched = unrendered(stamps, links, run.memo, run.pending)
        if vouched:
            # Their links carry the mark of these very row versions: unchanged, nothing to render.
            run.report.counts["unchanged"] += len(vouched)
            pages = [p for p in pages if p["id"] not in vouched]
        types = _types(run.ctx.schema)
        completable = {n for n in used_names if types.get(n) in ("people", "relation")}
        rows = [self._complete(Row.from_page(p), p, completable) if completable else Row.from_page(p) for p in pages]
        if run.reads_body:
            rows = self._with_bodies(run, rows)
        edited = {row.id: row.last_edited_time for row in rows}
        rendered = [self._render(connector, row, run.ctx) for row in rows]
        run.report.rendered += len(rendered)
        actions = plan_rows(rendered, links, run.pending)
        run.skipped.update((a.page_id, a.title) for a in actions if a.kind == "skip")
        if run.memo is not None and not run.options.dry_run:
            marks = marks_to_record(actions, stamps, edited, links, run.memo, run.started)
            state.mark_links(m.name, marks.now)
            run.marks.update(marks.written)
        failed = self._apply(run, actions, edited=edited)
        for row in rows:
            if row.id in failed:
                run.oldest_failed = min(filter(None, (run.oldest_failed, row.last_edited_time)))
        run.rows_read = len(run.seen)
        self._tick(run)
        return True

    def _end(self, run: MappingRun) -> None:
        """After the read: the departures of a full scan, unfinished creates, and the cursor."""
        m, state, options = run.mapping, run.state, run.options
        if run.full:
            departures = plan_departures(state.unseen_live_links(m.name, run.seen), run.seen)
            # The first full scan after a state loss (no link at the start) sweeps up the items of
            # rows that left meanwhile: nothing else remembers them.
            orphans = self._sweep(run, run.seen, asked=options.sweep) if options.sweep or run.recover_all else []
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
            unfinished = unfinished_creates(state.pending_intents(m.name), run.skipped, run.seen, full=run.full)
            if unfinished:
                self._remove_unrecorded(run, unfinished)
            state.set_cursor(
                m.name,
                Cursor(
                    run.ctx.data_source_id,
                    next_watermark(run.started, run.oldest_failed),
                    run.started if run.full else run.cursor.last_full_scan,
                    run.config_hash,
                    run.ctx.schema,
                    run.schema_at,
                    run.query_pages if run.full else run.cursor.full_scan_pages,
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

    def _with_bodies(self, run: MappingRun, rows: list[Row]) -> list[Row]:
        """The rows with their page bodies: read for pages edited since their body was read
        (``bodies_to_read``), the stored body for the others."""
        assert self.source is not None
        source = self.source
        stored = run.state.get_bodies(run.name, [row.id for row in rows])
        need = set(bodies_to_read({row.id: row.last_edited_time for row in rows}, stored))
        fresh: dict[str, StoredBody] = {}
        out = []
        for row in rows:
            if row.id in need:
                read_at = self.now()
                blocks = blocks_from_api(source.block_children(row.id), children=source.block_children)
                fresh[row.id] = StoredBody(row.last_edited_time, read_at, to_json(blocks))
            else:
                blocks = from_json(stored[row.id].blocks)
            out.append(replace(row, body=blocks))
        if fresh and not run.options.dry_run:
            run.state.save_bodies(run.name, fresh)
        return out

    def _complete(self, row: Row, page: dict[str, Any], used: set[str]) -> Row:
        """Fetch in full any used people/relation value (``used``) that Notion cut at 25."""
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
        title = row.title
        # Once per row read: made without the dataclasses' __init__ (core/frozen.py).
        item = made(DesiredItem, mapping=ctx.name, page_id=row.id, page_url=row.url, title=title, payload=payload)
        return made(
            Rendered,
            page_id=row.id,
            title=title,
            item=item,
            skip_reason=None,
            error=None,
            last_edited=row.last_edited_time,
        )

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

        plan = plan_writes(
            writes, recovered, run.ctx.on_delete, run.connector.on_delete_modes, run.connector.comparable
        )
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
        unsure = intents_for(plan.operations, run.connector.route_of)
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
            mark=run.marks.pop(op.page_id, None),
        )
        return False


def _memo_possible(
    connector: Connector[Any, Any], options: RunOptions, uses: Sequence[PropertyUse], schema: dict[str, Any]
) -> bool:
    """Whether the render memo may serve a mapping, before its connector is prepared."""
    return (
        connector.render_is_pure
        and not options.render_all
        and not memo_blockers({u.property for u in uses}, _types(schema))
    )


def _memo(run: MappingRun) -> str | None:
    """The mapping's render memo key, or None: every row it reads is then rendered (``--render-all``,
    a connector whose render is not pure, or a property the memo cannot trust). Page bodies do not
    stop it: a body is read again only for a page edited since (``bodies_to_read``), the same rule."""
    if not run.connector.render_is_pure or run.options.render_all:
        return None
    blockers = memo_blockers({u.property for u in run.uses}, _types(run.ctx.schema))
    if blockers:
        log.info(
            "mapping %r: every row read is rendered, because it shows %s, whose value can change "
            "without the page being edited",
            run.name,
            ", ".join(blockers),
        )
        return None
    return memo_key(
        run.config_hash, run.ctx.schema, run.connector.name, run.connector.render_inputs(run.ctx), __version__
    )


def _title(op: Operation) -> str:
    """The row's title for messages and history: a removal knows it when the link's item did."""
    if isinstance(op, DeleteOperation):
        return op.link.ref.extra.get("title", "")
    return op.item.title


def _stopped(rep: MappingReport, exc: ConfigError | FatalError | ItemError) -> None:
    """Record why a mapping stopped."""
    if isinstance(exc, ConfigError):
        rep.status, rep.error = "config", str(exc)
    elif isinstance(exc, AccessError):
        rep.status, rep.error = "access", str(exc)
    else:
        rep.status, rep.error = "failed", str(exc)


@contextmanager
def _collector_spared() -> Iterator[None]:
    """Leave the objects that exist before the run (modules, config, clients) out of the cyclic
    garbage collector's scans until it ends. Every page read allocates thousands of containers
    that live a few milliseconds, which triggers full collections; each scanned every object of
    the process, about a quarter of planning's CPU. Nothing is kept longer: objects made during
    the run are collected as usual, and the frozen ones again after it."""
    gc.freeze()
    try:
        yield
    finally:
        gc.unfreeze()


def _guarded(rep: MappingReport, step: Callable[[], T]) -> T | None:
    """Run one step of a mapping; a mapping's own error stops that mapping only, and is reported.
    Others (the state file failing, the lock) concern every mapping and propagate."""
    try:
        return step()
    except (ConfigError, FatalError, ItemError) as exc:
        _stopped(rep, exc)
    return None


def _as_rendered(
    payload: dict[str, Any],
    rendered: dict[str, Any],
    fields: tuple[str, ...],
    keys: dict[str, tuple[str, ...]],
    connector: Connector[Any, Any],
) -> dict[str, Any]:
    """``payload`` (what the target holds) with the write-back fields in the form the row now
    renders them, where that is the same value (``comparable``): the target may restate a value
    (Google writes a time in the event's zone), and the link must match the row's rendering for
    the sync that follows to see nothing to write."""
    out = dict(payload)
    for name in fields:
        ours = {k: rendered.get(k) for k in keys[name]}
        theirs = {k: payload.get(k) for k in keys[name]}
        if connector.comparable(ours) == connector.comparable(theirs):
            out.update(ours)
    return out


def _shown(values: dict[str, Any]) -> str:
    """A field's values for history and the plan: one value alone, several as key=value."""
    if len(values) == 1:
        return repr(next(iter(values.values())))
    return ", ".join(f"{k}={v!r}" for k, v in values.items())


def _change(row: Row, name: str, value: dict[str, Any]) -> str:
    """``Status: In progress → Done``: one property of a write-back, as it was and as it will be."""
    old = row.get(name)
    kind = old.type if old is not None else next(iter(value), "")
    try:
        new = parse_property(name, {"type": kind, **value}).text
    except BadValue:
        new = str(value.get(kind))
    return f"{name}: {(old.text if old is not None else '') or '(empty)'} → {new or '(empty)'}"


def _types(schema: dict[str, Any]) -> dict[str, str]:
    return {name: str(p.get("type", "")) for name, p in schema.items()}
