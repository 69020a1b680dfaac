"""The sync engine: for each mapping, read rows, render, plan, and apply.

Per mapping, one run:

1. ``prepare`` the connector (read-only lookups), resolve the data source (cached);
2. stream rows: incrementally since the watermark, or in full on the first run,
   ``--full``, a config change, or when ``full_scan_interval`` has passed;
3. for each page of up to 100 rows: render, check mapped properties on the first
   page, plan against the links recorded for those rows, and apply at once, so
   Notion reads and target writes are interleaved and memory stays flat;
4. after a full scan, rows no longer seen have left: apply ``on_delete`` to them,
   unless that would remove more than ``max_delete_fraction`` of the items;
5. move the watermark to the run's start, held back to the oldest failed row so it is read again.

Every write is recorded in state as soon as it succeeds. Before creates, the intent
is recorded; the next run asks the connector to ``recover`` such items, so a killed
run never makes a duplicate.
"""

from __future__ import annotations

import logging
from collections import Counter
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

from notion_sync.core.adapter import (
    Connector,
    CreateOperation,
    DeleteOperation,
    DesiredItem,
    Link,
    MappingContext,
    Operation,
    OperationResult,
    UpdateOperation,
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
    RetryableError,
    SkipItem,
)
from notion_sync.core.fields import property_uses
from notion_sync.core.lock import RunLock
from notion_sync.core.notion_source import NotionSource, RequestCount, check_property_uses, needs_completion
from notion_sync.core.planner import Action, Rendered, plan_departures, plan_rows
from notion_sync.core.prefetch import prefetched
from notion_sync.core.rows import Row
from notion_sync.core.secrets import Secret, resolve_secret, set_base_dir
from notion_sync.core.state import Cursor, StateStore

__all__ = ["Engine", "MappingReport", "RunOptions", "RunReport", "notion_token"]

log = logging.getLogger(__name__)

SCHEMA_MAX_AGE = timedelta(hours=24)
COUNTED = ("created", "updated", "deleted", "unchanged", "skipped", "failed")
NOTED = ("deferred", "parked")
"""Counted too, and shown only when not zero: items waiting for their retry, and parked items."""


def retry_delay(attempts: int) -> timedelta:
    """How long a failed item waits before the next try: 1, 2, 4... minutes, at most an hour."""
    return timedelta(minutes=min(2 ** max(attempts - 1, 0), 60))


@dataclass
class RunOptions:
    """What ``notion-sync run`` was asked to do."""

    mappings: Sequence[str] = ()
    dry_run: bool = False
    full: bool = False
    allow_mass_delete: bool = False
    mass_delete_minimum: int = 10


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
    errors: list[tuple[str, str]] = field(default_factory=list)

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
    if n.token and config.path is not None and config.path.stat().st_mode & 0o044:
        log.warning("%s holds the Notion token and other users can read it: chmod 600 %s", config.path, config.path)
    if not token.reveal().startswith(("ntn_", "secret_")):
        log.warning(
            "the Notion token %s starts with neither 'ntn_' nor 'secret_': is it an internal integration token?",
            token.fingerprint,
        )
    return token


def warn_token_age(state: StateStore, token: Secret, rotate_after_days: int, now: datetime) -> int:
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


Progress = Callable[[str, int], None]


class Engine:
    """Runs the mappings of a config. One instance per run."""

    def __init__(
        self,
        config: Config,
        *,
        progress: Progress | None = None,
        now: Callable[[], datetime] = lambda: datetime.now(UTC),
    ) -> None:
        self.config = config
        self.progress = progress
        self.now = now
        self._connectors: dict[str, Connector[Any, Any]] = {}
        self.source: NotionSource | None = None

    def connector(self, name: str) -> Connector[Any, Any]:
        if name not in self._connectors:
            cls = self.config.discovery.connectors[name]
            self._connectors[name] = cls(self.config.services[name])
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
        set_base_dir(self.config.base_dir)
        token = notion_token(self.config)
        n = self.config.notion
        self.source = NotionSource(
            token, base_url=n.base_url, timeout=n.timeout, requests_per_second=n.requests_per_second
        )
        report = RunReport(dry_run=options.dry_run)
        try:
            if options.dry_run:
                report.mappings = self._run_all(chosen, options, None)
                return report
            with RunLock(self.config.state_path):
                state = StateStore.open(self.config.state_path)
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
        self, chosen: list[ResolvedMapping], options: RunOptions, state: StateStore | None
    ) -> list[MappingReport]:
        """Run the mappings: those of one connector in turn (they share its pacing), different
        connectors side by side, each in its own thread with its own state connection."""
        groups: dict[str, list[ResolvedMapping]] = {}
        for m in chosen:
            groups.setdefault(m.config.connector, []).append(m)

        def run_group(mappings: list[ResolvedMapping]) -> list[MappingReport]:
            store = StateStore.open(self.config.state_path, readonly=options.dry_run)
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
    def _run_mapping(self, m: ResolvedMapping, state: StateStore, options: RunOptions) -> MappingReport:
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
        self, m: ResolvedMapping, state: StateStore, options: RunOptions, rep: MappingReport, count: RequestCount
    ) -> None:
        assert self.source is not None
        source = self.source
        cursor = state.get_cursor(m.name)
        config_hash = m.config_hash()
        started = self.now()
        full = (
            options.full
            or cursor.watermark is None
            or cursor.config_hash != config_hash
            or cursor.last_full_scan is None
            or (started - cursor.last_full_scan).total_seconds() >= m.config.full_scan_seconds
        )
        rep.full_scan = full

        same_config = cursor.config_hash == config_hash
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

        ctx: MappingContext[Any] = MappingContext(
            m.name, m.settings, m.on_delete, m.config.database_id, data_source_id, schema
        )
        connector = self.connector(m.config.connector)
        connector.prepare(ctx)
        validated = False
        seen: set[str] = set()
        linked_at_start = state.count_links(m.name)
        pending = state.pending_intents(m.name)
        # The next run reads rows edited since this one started (less a minute, in NotionSource),
        # so a bulk of rows edited in one minute is not read again on every run.
        watermark = started
        oldest_failed: datetime | None = None
        skipped: set[tuple[str, str]] = set()

        since = None if full else cursor.watermark
        reads = source.pages(data_source_id, filter=m.config.filter, since=since)
        for pages in prefetched(reads, lambda: source.count_into(count)):
            if not validated:
                # The rows show the schema as it is now: a property renamed since the schema was
                # read stops the mapping here, before anything is written.
                seen_types = {name: p.get("type", "") for name, p in pages[0].get("properties", {}).items()}
                if any(seen_types.get(n) != _types(schema).get(n) for n in used_names):
                    schema, schema_at = source.schema(data_source_id), started
                    problems = check_property_uses(m.name, uses, _types(schema))
                    if problems:
                        raise ConfigError(problems)
                    ctx = MappingContext(m.name, m.settings, m.on_delete, m.config.database_id, data_source_id, schema)
                validated = True
            rows = [self._complete(Row.from_page(p), p, used_names) for p in pages]
            rendered = [self._render(connector, row, ctx) for row in rows]
            seen.update(r.page_id for r in rendered)
            links = state.get_links(m.name, [r.page_id for r in rendered])
            actions = [
                _unsure_removal(a, links[a.page_id].link) if a.page_id in pending and a.page_id in links else a
                for a in plan_rows(rendered, links)
            ]
            skipped.update((a.page_id, a.title) for a in actions if a.kind == "skip")
            failed = self._execute(
                actions,
                connector,
                ctx,
                state,
                options,
                rep,
                recover_all=linked_at_start == 0,
                pending=pending,
                max_attempts=m.config.max_attempts,
                edited={row.id: row.last_edited_time for row in rows},
            )
            for row in rows:
                if row.id in failed:
                    oldest_failed = min(filter(None, (oldest_failed, row.last_edited_time)))
            if self.progress:
                self.progress(m.name, len(seen))

        if full:
            departures = plan_departures(state.iter_links(m.name), seen)
            live = state.count_links(m.name, live_only=True)
            fraction = m.config.max_delete_fraction
            if (
                departures
                and not options.allow_mass_delete
                and live >= options.mass_delete_minimum
                and len(departures) > fraction * live
            ):
                raise FatalError(
                    f"this run would remove {len(departures)} of {live} items "
                    f"(more than max_delete_fraction = {fraction:g}); nothing was removed. If the rows really "
                    "left, run again with --allow-mass-delete"
                )
            self._execute(
                departures,
                connector,
                ctx,
                state,
                options,
                rep,
                recover_all=False,
                pending=set(),
                max_attempts=m.config.max_attempts,
                edited={},
            )

        if not options.dry_run:
            # A create left in flight by a killed run (or lost in a timeout) whose row now wants no
            # item: trashed or filtered out (seen only by a full scan), or now skipped. Nothing
            # would ever recover it, so it would outlive its row.
            unsure = state.pending_intents(m.name)
            unwanted = {pid: (title, False) for pid, title in skipped if pid in unsure}
            if full:
                unwanted.update({pid: ("", True) for pid in unsure - seen})
            if unwanted:
                self._remove_unrecorded(unwanted, connector, ctx, state, options, rep, m.config.max_attempts)

        if oldest_failed is not None:
            watermark = min(oldest_failed, watermark)
        if not options.dry_run:
            state.set_cursor(
                m.name,
                Cursor(
                    data_source_id,
                    watermark,
                    started if full else cursor.last_full_scan,
                    config_hash,
                    schema,
                    schema_at,
                ),
            )

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
            log.exception("connector %s failed to render row %s", connector.name, row.id)
            return Rendered(row.id, row.title, error=f"{type(exc).__name__} while rendering: {exc}")
        item = DesiredItem(ctx.name, row.id, row.url, row.title, payload)
        return Rendered(row.id, row.title, item=item, last_edited=row.last_edited_time)

    # -- applying -------------------------------------------------------------
    def _execute(
        self,
        actions: list[Action],
        connector: Connector[Any, Any],
        ctx: MappingContext[Any],
        state: StateStore,
        options: RunOptions,
        rep: MappingReport,
        *,
        recover_all: bool,
        pending: set[str],
        max_attempts: int,
        edited: dict[str, datetime],
    ) -> set[str]:
        """Apply a list of planned actions; returns the page ids that failed or wait for a retry
        (the watermark is held back so that their rows are read again)."""
        failed: set[str] = set()
        earlier = state.failure_map(ctx.name, [a.page_id for a in actions if a.kind not in ("unchanged", "skip")])
        now = self.now()
        waiting: set[str] = set()
        for a in actions:
            f = earlier.get(a.page_id)
            # last_edited_time is rounded down to the minute: an edit in the failure's minute counts as newer.
            failed_minute = f.last_at.replace(second=0, microsecond=0) if f else None
            if (
                f is None
                or a.kind in ("unchanged", "skip")
                or (a.page_id in edited and failed_minute is not None and edited[a.page_id] >= failed_minute)
            ):
                continue  # never failed, or its row was edited since: try it now
            if f.parked:
                rep.counts["parked"] += 1
                waiting.add(a.page_id)
            elif now < f.last_at + retry_delay(f.attempts):
                rep.counts["deferred"] += 1
                waiting.add(a.page_id)
                failed.add(a.page_id)
        for a in actions:
            if a.page_id in waiting:
                continue
            if a.kind in ("unchanged", "skip"):
                rep.counts["unchanged" if a.kind == "unchanged" else "skipped"] += 1
            elif a.kind == "fail":
                rep.counts["failed"] += 1
                rep.errors.append((a.page_id, a.reason))
                failed.add(a.page_id)
                if not options.dry_run:
                    state.record_failure(ctx.name, a.page_id, a.reason, max_attempts=max_attempts)
        writes = [a for a in actions if a.kind in ("create", "update", "delete") and a.page_id not in waiting]
        if options.dry_run:
            rep.plan.extend(a for a in actions if a.kind != "unchanged")
            for a in writes:
                rep.counts[{"create": "created", "update": "updated", "delete": "deleted"}[a.kind]] += 1
            return failed
        if not writes:
            return failed

        creates = [a for a in writes if a.kind == "create"]
        recovered: dict[str, Link] = {}
        lookup = [a.item for a in creates if a.item is not None and (recover_all or a.page_id in pending)]
        if lookup:
            try:
                refs = connector.recover(lookup, ctx)
            except ItemError as exc:
                for a in creates:
                    failed.add(a.page_id)
                    rep.counts["failed"] += 1
                    rep.errors.append((a.page_id, f"could not check for an earlier write: {exc}"))
                    state.record_failure(ctx.name, a.page_id, str(exc), max_attempts=max_attempts)
                writes = [a for a in writes if a.kind != "create"]
                creates = []
            else:
                recovered = {pid: Link(pid, ref, None) for pid, ref in refs.items()}

        ops: list[Operation] = []
        for a in writes:
            if a.kind == "create" and a.page_id in recovered:
                assert a.item is not None
                ops.append(UpdateOperation(a.page_id, a.item, recovered[a.page_id]))
            elif a.kind == "delete":
                assert a.link is not None
                mode = _removal_mode(a, ctx.on_delete, connector.on_delete_modes)
                if mode == "keep":
                    state.save_link(ctx.name, a.page_id, a.link.ref, a.link.payload, archived=True, action="kept")
                    rep.counts["unchanged"] += 1
                    continue
                ops.append(DeleteOperation(a.page_id, a.link, mode))
            elif a.kind == "create":
                assert a.item is not None
                ops.append(CreateOperation(a.page_id, a.item))
            else:
                assert a.item is not None and a.link is not None
                ops.append(UpdateOperation(a.page_id, a.item, a.link))

        # The intent goes before deletes too: a run that dies after the target removed an item but
        # before the state says so would keep a live link to it, and a row coming back would then
        # look unchanged and never get its item back (see _unsure_removal).
        unsure = [op.page_id for op in ops if op.kind in ("create", "delete")]
        if unsure:
            state.record_intent(ctx.name, unsure)
        size = max(1, connector.batch_size)
        for start in range(0, len(ops), size):
            for result in connector.apply(ops[start : start + size], ctx):
                self._record(result, ctx, state, rep, failed, max_attempts)
        return failed

    def _remove_unrecorded(
        self,
        unwanted: dict[str, tuple[str, bool]],
        connector: Connector[Any, Any],
        ctx: MappingContext[Any],
        state: StateStore,
        options: RunOptions,
        rep: MappingReport,
        max_attempts: int,
    ) -> None:
        """Find the items that unresolved creates may have written (page id -> (title, row left)),
        remove those found like any departing item, and forget the intents of the rest."""
        linked = state.get_links(ctx.name, list(unwanted))
        items = [
            DesiredItem(ctx.name, pid, "", title, {})
            for pid, (title, _) in sorted(unwanted.items())
            if pid not in linked
        ]
        try:
            refs = connector.recover(items, ctx) if items else {}
        except ItemError as exc:
            log.warning(
                "mapping %r: could not look for items of unfinished creates (%s); the next run looks again",
                ctx.name,
                exc,
            )
            return
        actions = []
        for item in items:
            ref = refs.get(item.page_id)
            if ref is None:
                state.clear_intent(ctx.name, item.page_id)  # nothing was written
                continue
            left = unwanted[item.page_id][1]
            actions.append(
                Action(
                    "delete",
                    item.page_id,
                    item.title,
                    link=Link(item.page_id, ref, None),
                    reason="an unfinished create for a row that " + ("left" if left else "is now skipped"),
                    left=left,
                )
            )
        if actions:
            self._execute(
                actions,
                connector,
                ctx,
                state,
                options,
                rep,
                recover_all=False,
                pending=set(),
                max_attempts=max_attempts,
                edited={},
            )

    @staticmethod
    def _record(
        result: OperationResult,
        ctx: MappingContext[Any],
        state: StateStore,
        rep: MappingReport,
        failed: set[str],
        max_attempts: int,
    ) -> None:
        op = result.operation
        if result.error is not None:
            failed.add(op.page_id)
            rep.counts["failed"] += 1
            rep.errors.append((op.page_id, str(result.error)))
            state.record_failure(ctx.name, op.page_id, f"{op.kind}: {result.error}", max_attempts=max_attempts)
            if op.kind in ("create", "delete") and not isinstance(result.error, RetryableError):
                # A plain rejection means nothing was written: no need to look for it next run.
                state.clear_intent(ctx.name, op.page_id)
            return
        if isinstance(op, DeleteOperation):
            rep.counts["deleted"] += 1
            if result.ref is None:
                state.remove_link(ctx.name, op.page_id, op.link.ref.id)
            else:
                state.save_link(ctx.name, op.page_id, result.ref, op.link.payload, archived=True, action=op.mode)
            return
        assert result.ref is not None
        rep.counts["created" if op.kind == "create" else "updated"] += 1
        state.save_link(
            ctx.name, op.page_id, result.ref, op.item.payload, action="created" if op.kind == "create" else "updated"
        )


def _types(schema: dict[str, Any]) -> dict[str, str]:
    return {name: str(p.get("type", "")) for name, p in schema.items()}


def _unsure_removal(action: Action, stored: Link) -> Action:
    """A linked row with a pending intent: a removal of its item was sent and never recorded, so
    the item may be live, archived or gone. Write it again as a restore: every connector's
    ``update`` restores an archived item and re-creates a deleted one."""
    if action.kind not in ("unchanged", "update") or action.item is None:
        return action
    link = Link(stored.page_id, stored.ref, stored.payload, archived=True)
    return Action(
        "update",
        action.page_id,
        action.title,
        item=action.item,
        link=link,
        reason="restore after an unfinished removal",
        changed=action.changed,
    )


def _removal_mode(action: Action, on_delete: str, modes: Sequence[str]) -> str:
    """A row that left follows on_delete; a row that is now skipped (lost its date, say) has its
    item removed even under "keep", since keeping it would leave a stale item."""
    if action.left or on_delete != "keep":
        return on_delete
    return next((m for m in ("delete", "archive") if m in modes), on_delete)
