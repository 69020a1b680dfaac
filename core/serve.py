"""``notion-sync serve``: Notion's webhooks turned into targeted syncs, beside the periodic reconcile.

The HTTP side (``WebhookApp``) never does the work: a correctly signed POST is answered 200 at
once, whatever its type, and its event is queued; a bad or missing signature is 401, a body that
is not JSON 400, one over 1 MiB 413. ``GET /healthz`` and ``GET /metrics`` (Prometheus text) show
how it goes. One worker thread (``SyncWorker``) takes the queue:

1. drop events already handled (their ids are kept in the state, so a redelivery after a restart
   does nothing too) and those whose only author is this integration's own bot;
2. route each by its data source (``webhook_events.route_event``): a row event adds its page to
   the window of every mapping on that data source; a schema event asks for a schema refresh;
3. ``debounce`` after a mapping's first event, sync every due window in one
   ``Engine.sync_pages`` (each distinct page read once, 20 events for one page are one sync),
   then record the events' ids;
4. every ``reconcile_interval``, a normal ``Engine.run`` of every mapping, for what webhooks miss.

Every sync goes through the engine, which takes the same lock as ``run``: a cron ``run`` that
holds it makes the worker try again a second later, never write beside it.
"""

from __future__ import annotations

import json
import logging
import queue
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import uvicorn
from prometheus_client import CONTENT_TYPE_LATEST, CollectorRegistry, Counter, Gauge, Histogram, generate_latest
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from notion_sync.core.config import Config, ServeConfig
from notion_sync.core.engine import Engine, MappingReport, RunOptions, RunReport, notion_token
from notion_sync.core.errors import ConfigError, ConfigProblem, LockedError, NotionSyncError
from notion_sync.core.notion_ids import dashed
from notion_sync.core.notion_source import NotionSource
from notion_sync.core.secrets import REDACTOR, Secret, fingerprint, resolve_secret, write_secret_file
from notion_sync.core.state import StateStore
from notion_sync.core.webhook_events import (
    SIGNATURE_HEADER,
    Event,
    MappingSource,
    handshake_token,
    only_own_bot,
    parse_event,
    route_event,
    signature_ok,
)

__all__ = ["MAX_BODY", "Metrics", "Serving", "SyncWorker", "VerificationToken", "WebhookApp", "run_serve"]

log = logging.getLogger(__name__)
MAX_BODY = 1024 * 1024
"""Bodies over 1 MiB get 413: Notion's events are a few hundred bytes."""
LOCK_RETRY = 1.0
"""Seconds before a sync that found the lock taken (a cron ``run``) tries again."""
SHUTDOWN_WAIT = 8.0
"""Seconds serve waits for the sync in flight at SIGTERM, so it exits within 10 s."""
EngineFactory = Callable[[Config], Engine]


class Metrics:
    """The Prometheus metrics of one serve, in its own registry (nothing global)."""

    def __init__(self) -> None:
        self.registry = CollectorRegistry()
        r = self.registry
        self.received = Counter("notion_sync_webhook_events_received", "Webhook events received", registry=r)
        self.rejected = Counter(
            "notion_sync_webhook_requests_rejected", "Webhook requests refused", ["reason"], registry=r
        )
        self.deduped = Counter("notion_sync_webhook_events_deduped", "Events dropped as already handled", registry=r)
        self.ignored = Counter(
            "notion_sync_webhook_events_ignored", "Events serve does not act on", ["why"], registry=r
        )
        self.syncs = Counter("notion_sync_syncs", "Syncs of a mapping", ["mapping", "kind", "result"], registry=r)
        self.writes = Counter("notion_sync_writes", "Items created, updated or removed", ["mapping"], registry=r)
        self.errors = Counter("notion_sync_errors", "Failed items and stopped syncs", ["mapping"], registry=r)
        self.queue_depth = Gauge("notion_sync_webhook_queue_depth", "Events waiting for the worker", registry=r)
        self.latency = Histogram(
            "notion_sync_event_to_write_seconds",
            "From an event's arrival to the end of the sync it caused",
            buckets=(0.25, 0.5, 1, 1.5, 2, 2.5, 3, 4, 5, 7.5, 10, 20, 30, 60),
            registry=r,
        )

    def text(self) -> bytes:
        return generate_latest(self.registry)


@dataclass
class Health:
    """What ``GET /healthz`` shows."""

    last_event_at: datetime | None = None
    mappings: dict[str, dict[str, Any]] = field(default_factory=dict)
    lock: threading.Lock = field(default_factory=threading.Lock)

    def synced(self, report: RunReport, kind: str) -> None:
        with self.lock:
            at = datetime.now(UTC).isoformat(timespec="seconds")
            for rep in report.mappings:
                self.mappings[rep.name] = {
                    "last_sync_at": at,
                    "kind": kind,
                    "result": _result(rep),
                    "summary": rep.summary(),
                }

    def as_json(self, queue_depth: int) -> dict[str, Any]:
        with self.lock:
            return {
                "status": "ok",
                "last_event_at": self.last_event_at.isoformat(timespec="seconds") if self.last_event_at else None,
                "queue_depth": queue_depth,
                "mappings": dict(self.mappings),
            }


def _result(rep: MappingReport) -> str:
    """A mapping's sync result for /healthz and /metrics: ok, items_failed, or why it stopped."""
    if rep.status != "ok":
        return f"{rep.status}: {rep.error}"
    return "items_failed" if rep.counts["failed"] else "ok"


class VerificationToken:
    """The subscription's verification token: from ``[serve]``'s file, variable or keyring
    entry, through the secrets helper; the handshake writes it to the file (mode 600)."""

    def __init__(self, settings: ServeConfig, base_dir: Path) -> None:
        self.settings = settings
        self.file = (
            settings.verification_token_file.expanduser() if settings.verification_token_file is not None else None
        )
        if self.file is not None and not self.file.is_absolute():
            self.file = base_dir / self.file
        self._lock = threading.Lock()
        self._value: Secret | None = None
        self._value = self._read()

    def _read(self) -> Secret | None:
        s = self.settings
        if s.verification_token_keyring or s.verification_token_env:
            return resolve_secret(
                "serve.verification_token",
                env=s.verification_token_env,
                keyring=s.verification_token_keyring,
                required=True,
            )
        if self.file is not None and self.file.exists():
            return resolve_secret("serve.verification_token", file=self.file)
        return None

    @property
    def value(self) -> str | None:
        with self._lock:
            return self._value.reveal() if self._value is not None else None

    def describe(self) -> str:
        with self._lock:
            if self._value is not None:
                return f"verification token {self._value.fingerprint} from {self._value.source}"
        return f"no verification token yet: waiting for Notion's handshake, to write it to {self.file}"

    def handshake(self, token: str) -> tuple[int, str]:
        """Keep the token of Notion's handshake; returns the status to answer and what to log."""
        REDACTOR.register(token)
        shown = fingerprint(token)
        with self._lock:
            if self._value is not None and self._value.reveal() == token:
                return 200, f"webhook handshake: the verification token {shown} is the one serve has already"
            if self.settings.verification_token_env or self.settings.verification_token_keyring:
                return 409, (
                    f"webhook handshake: a verification token {shown} arrived, but [serve] reads it from "
                    f"{'the keyring' if self.settings.verification_token_keyring else 'the environment'}: "
                    "serve cannot store it there; set verification_token_file instead (and remove the _env or "
                    "_keyring key), then press Resend token in Notion"
                )
            if self.file is None:
                return 409, "webhook handshake: [serve] verification_token_file is not set; serve cannot keep the token"
            if self._value is not None or self.file.exists():
                return 409, (
                    f"webhook handshake refused: {self.file} already holds another verification token; serve does "
                    f"not overwrite it. If the subscription was re-created, remove {self.file}, restart serve and "
                    "press Resend token in Notion"
                )
            written = write_secret_file(self.file, token)
            self._value = Secret(token, f"file {written}")
        return 200, (
            f"webhook handshake: verification token {shown} written to {written} (mode 600); paste the token "
            f"from that file into the subscription's Verify dialog in Notion (cat {written})"
        )


@dataclass
class Window:
    """A mapping's events waiting for their sync: the pages, and each event's id and arrival."""

    opened: float
    pages: set[str] = field(default_factory=set)
    events: list[tuple[str, float]] = field(default_factory=list)


class SyncWorker:
    """The one thread that turns queued events into syncs (see the module docs)."""

    def __init__(
        self,
        config: Config,
        metrics: Metrics,
        health: Health,
        *,
        sources: list[MappingSource],
        bot_id: str | None,
        engine: EngineFactory = Engine,
    ) -> None:
        self.config = config
        self.metrics = metrics
        self.health = health
        self.sources = sources
        self.bot_id = bot_id
        self.engine = engine
        self.queue: queue.Queue[tuple[Event, float]] = queue.Queue()
        self.windows: dict[str, Window] = {}
        self.schema_due: set[str] = set()
        self.schema_events: list[str] = []
        self.in_window: set[str] = set()
        self.debounce = config.serve.debounce_seconds
        self.reconcile_every = config.serve.reconcile_seconds
        self.next_reconcile = time.monotonic() + self.reconcile_every
        self.stopping = threading.Event()
        self.thread = threading.Thread(target=self._loop, name="serve-worker", daemon=True)
        self.state: StateStore | None = None

    def put(self, event: Event) -> None:
        self.queue.put((event, time.monotonic()))
        self.metrics.queue_depth.set(self.queue.qsize())

    def start(self) -> None:
        self.thread.start()

    def stop(self, wait: float = SHUTDOWN_WAIT) -> bool:
        """Let the sync in flight finish, sync what is waiting, and stop; False if it took too long."""
        self.stopping.set()
        self.thread.join(wait)
        return not self.thread.is_alive()

    # -- the loop -------------------------------------------------------------
    def _loop(self) -> None:
        self.state = StateStore.open(self.config.state_location)
        try:
            while not self.stopping.is_set():
                self._wait_and_take()
                now = time.monotonic()
                due = [m for m, w in self.windows.items() if now - w.opened >= self.debounce]
                if due:
                    self._sync_windows(due)
                if self.schema_due:
                    self._refresh_schemas()
                if now >= self.next_reconcile:
                    self._reconcile()
            self._drain()
            if self.windows:
                self._sync_windows(list(self.windows))
            if self.schema_due:
                self._refresh_schemas()
        except Exception:  # noqa: BLE001 - the worker must say why it stopped, and serve must notice
            log.exception("the sync worker stopped")
        finally:
            self.state.close()

    def _next_deadline(self) -> float:
        deadlines = [w.opened + self.debounce for w in self.windows.values()] + [self.next_reconcile]
        return min(deadlines)

    def _wait_and_take(self) -> None:
        timeout = max(0.0, min(self._next_deadline() - time.monotonic(), 0.5))
        try:
            item = self.queue.get(timeout=timeout)
        except queue.Empty:
            return
        items = [item]
        while True:
            try:
                items.append(self.queue.get_nowait())
            except queue.Empty:
                break
        self._take(items)

    def _drain(self) -> None:
        items = []
        while True:
            try:
                items.append(self.queue.get_nowait())
            except queue.Empty:
                break
        if items:
            self._take(items)

    def _take(self, items: list[tuple[Event, float]]) -> None:
        assert self.state is not None
        self.metrics.queue_depth.set(self.queue.qsize())
        seen = self.state.seen_events(e.id for e, _ in items) | self.in_window
        handled: list[str] = []
        for event, arrived in items:
            if event.id in seen:
                self.metrics.deduped.inc()
                log.debug("event %s (%s) was handled before: dropped", event.id, event.type)
                continue
            seen.add(event.id)
            if only_own_bot(event, self.bot_id):
                self.metrics.ignored.labels("own_bot").inc()
                log.debug("event %s (%s) is this integration's own edit: ignored", event.id, event.type)
                handled.append(event.id)
                continue
            linked = {event.entity_id: self._linked(event.entity_id)} if event.entity_type == "page" else None
            routed = route_event(event, self.sources, linked=linked)
            if routed.kind == "ignore":
                self.metrics.ignored.labels(event.type if event.type.startswith("page.") else "type").inc()
                log.debug("event %s ignored: %s", event.id, routed.why)
                handled.append(event.id)
            elif routed.kind == "schema":
                self.schema_due.update(routed.mappings)
                self.schema_events.append(event.id)
                self.in_window.add(event.id)
            else:
                assert routed.page_id is not None
                for name in routed.mappings:
                    window = self.windows.setdefault(name, Window(time.monotonic()))
                    window.pages.add(routed.page_id)
                    window.events.append((event.id, arrived))
                self.in_window.add(event.id)
        if handled:
            self.state.record_events(handled)

    def _linked(self, page_id: str) -> list[str]:
        assert self.state is not None
        return [s.mapping for s in self.sources if self.state.get_links(s.mapping, [page_id])]

    # -- syncs ----------------------------------------------------------------
    def _engine_call(self, kind: str, call: Callable[[Engine], RunReport]) -> RunReport | None:
        """One engine call; None when another run holds the lock (try again later)."""
        engine = self.engine(self.config)
        try:
            report = call(engine)
        except LockedError as exc:
            log.info("%s waits: %s", kind, exc)
            return None
        except NotionSyncError as exc:
            log.error("%s failed: %s", kind, exc)
            for name in self.windows:
                self.metrics.errors.labels(name).inc()
            return RunReport()
        for rep in report.mappings:
            log.info("%s: %s", kind, rep.summary())
            self.metrics.syncs.labels(rep.name, kind, _result(rep).partition(":")[0]).inc()
            self.metrics.writes.labels(rep.name).inc(rep.writes)
            errors = rep.counts["failed"] + (rep.status != "ok")
            if errors:
                self.metrics.errors.labels(rep.name).inc(errors)
        self.health.synced(report, kind)
        return report

    def _sync_windows(self, names: list[str]) -> None:
        assert self.state is not None
        targets = {n: sorted(self.windows[n].pages) for n in names}
        if self.config.celery is not None:
            queued = self._queue(targets)
        else:
            queued = self._engine_call("webhook sync", lambda e: e.sync_pages(targets)) is not None
        if not queued:
            for n in names:
                self.windows[n].opened = time.monotonic() + LOCK_RETRY - self.debounce
            return
        done = time.monotonic()
        ids: list[str] = []
        for n in names:
            window = self.windows.pop(n)
            for event_id, arrived in window.events:
                self.metrics.latency.observe(done - arrived)
                ids.append(event_id)
        self.state.record_events(dict.fromkeys(ids))
        self.in_window.difference_update(ids)

    def _queue(self, targets: dict[str, list[str]]) -> bool:
        """With ``[celery]``: put each mapping's page sync on the queue for the fleet's workers
        (they take the mapping's lock); False when the broker cannot be reached (try again later)."""
        from notion_sync.celery import queue_sync

        try:
            for name, pages in targets.items():
                queue_sync(self.config, name, page_ids=pages)
                log.info("webhook sync: %s: %d page(s) queued for the workers", name, len(pages))
        except NotionSyncError as exc:
            log.error("webhook sync waits: %s", exc)
            return False
        return True

    def _refresh_schemas(self) -> None:
        assert self.state is not None
        names = sorted(self.schema_due)
        report = self._engine_call("schema refresh", lambda e: e.refresh_schema(names))
        if report is None:
            return
        self.schema_due.clear()
        self.state.record_events(self.schema_events)
        self.in_window.difference_update(self.schema_events)
        self.schema_events = []

    def _reconcile(self) -> None:
        if self.config.nothing_to_run():
            self.next_reconcile = time.monotonic() + self.reconcile_every
            return
        report = self._engine_call("reconcile", lambda e: e.run(RunOptions()))
        self.next_reconcile = time.monotonic() + (self.reconcile_every if report is not None else 30.0)


class WebhookApp:
    """The ASGI app: the webhook path, ``/healthz`` and ``/metrics``."""

    def __init__(
        self, settings: ServeConfig, token: VerificationToken, worker: SyncWorker, metrics: Metrics, health: Health
    ) -> None:
        self.token = token
        self.worker = worker
        self.metrics = metrics
        self.health = health
        self.app = Starlette(
            routes=[
                Route(settings.path, self.webhook, methods=["POST"]),
                Route("/healthz", self.healthz, methods=["GET"]),
                Route("/metrics", self.metrics_text, methods=["GET"]),
            ]
        )

    def _reject(self, status: int, reason: str, message: str) -> Response:
        self.metrics.rejected.labels(reason).inc()
        return JSONResponse({"error": message}, status_code=status)

    async def webhook(self, request: Request) -> Response:
        declared = request.headers.get("content-length", "")
        if declared.isdigit() and int(declared) > MAX_BODY:
            log.warning("webhook: a body of %s bytes was refused (over 1 MiB)", declared)
            return self._reject(413, "too_large", "the body is over 1 MiB")
        raw = bytearray()
        async for chunk in request.stream():
            raw.extend(chunk)
            if len(raw) > MAX_BODY:
                log.warning("webhook: a body over 1 MiB was refused")
                return self._reject(413, "too_large", "the body is over 1 MiB")
        body_bytes = bytes(raw)
        try:
            body: Any = json.loads(body_bytes)
            parsed = True
        except ValueError:
            body, parsed = None, False
        token = handshake_token(body) if parsed else None
        if token is not None and request.headers.get(SIGNATURE_HEADER) is None:
            status, message = self.token.handshake(token)
            (log.info if status == 200 else log.error)("%s", message)
            return JSONResponse({"ok": status == 200}, status_code=status)
        if not signature_ok(self.token.value, body_bytes, request.headers.get(SIGNATURE_HEADER)):
            why = "missing" if request.headers.get(SIGNATURE_HEADER) is None else "wrong"
            log.warning(
                "webhook: a request with a %s X-Notion-Signature was refused (401)%s",
                why,
                "" if self.token.value else "; serve has no verification token yet",
            )
            return self._reject(401, "signature", "the X-Notion-Signature header is missing or wrong")
        if not parsed:
            log.warning("webhook: a signed body that is not JSON was refused (400)")
            return self._reject(400, "not_json", "the body is not JSON")
        self.metrics.received.inc()
        with self.health.lock:
            self.health.last_event_at = datetime.now(UTC)
        event = parse_event(body)
        if event is None:
            self.metrics.ignored.labels("shape").inc()
            log.debug("webhook: a signed body without an event id and type: ignored")
        else:
            log.debug("webhook: event %s (%s) queued", event.id, event.type)
            self.worker.put(event)
        return JSONResponse({"ok": True})

    async def healthz(self, request: Request) -> Response:
        body = self.health.as_json(self.worker.queue.qsize())
        if self.worker.thread.ident is not None and not self.worker.thread.is_alive():
            body["status"] = "the sync worker stopped: see the log, and restart serve"
            return JSONResponse(body, status_code=503)
        return JSONResponse(body)

    async def metrics_text(self, request: Request) -> Response:
        self.metrics.queue_depth.set(self.worker.queue.qsize())
        return Response(self.metrics.text(), media_type=CONTENT_TYPE_LATEST)


class _Server(uvicorn.Server):
    """uvicorn, minus re-raising SIGTERM after its graceful shutdown: serve exits 0 by itself."""

    def handle_exit(self, sig: int, frame: Any) -> None:
        if self.should_exit:
            self.force_exit = True
        self.should_exit = True


def mapping_sources(config: Config) -> tuple[list[MappingSource], str | None]:
    """Each enabled mapping's database and data source (one lookup per database), and the bot
    user id of the integration (``GET /v1/users/me``): its own edits are ignored."""
    n = config.notion
    source = NotionSource(
        notion_token(config), base_url=n.base_url, timeout=n.timeout, requests_per_second=n.requests_per_second
    )
    try:
        bot_id = str(source.me().get("id") or "") or None
        found: list[MappingSource] = []
        resolved: dict[tuple[str, str | None], str] = {}
        for m in config.mappings:
            if not m.config.enabled:
                continue
            key = (m.config.database, m.config.data_source)
            if key not in resolved:
                resolved[key] = source.resolve(*key, mapping=m.name).id
            found.append(MappingSource(m.name, dashed(m.config.database_id), dashed(resolved[key])))
        return found, bot_id
    finally:
        source.close()


class Serving:
    """One serve, built from a config: the app, the worker and the HTTP server. ``run()``
    blocks until SIGTERM or SIGINT (or ``stop()`` from another thread), then stops the worker."""

    def __init__(
        self, config: Config, *, host: str | None = None, port: int | None = None, engine: EngineFactory = Engine
    ) -> None:
        settings = config.serve
        idle = config.nothing_to_run()
        if idle:
            raise ConfigError([ConfigProblem("mappings", idle)])
        self.settings = settings
        self.token = VerificationToken(settings, config.base_dir)
        self.sources, bot_id = mapping_sources(config)
        self.metrics, self.health = Metrics(), Health()
        self.worker = SyncWorker(config, self.metrics, self.health, sources=self.sources, bot_id=bot_id, engine=engine)
        self.app = WebhookApp(settings, self.token, self.worker, self.metrics, self.health)
        self.host = host or settings.host
        self.port = port if port is not None else settings.port
        self.server = _Server(
            uvicorn.Config(
                self.app.app,
                host=self.host,
                port=self.port,
                log_level="error",
                lifespan="off",
                access_log=False,
                timeout_graceful_shutdown=2,
            )
        )

    @property
    def url(self) -> str:
        """The webhook URL on this machine (Notion needs the public HTTPS one in front of it)."""
        return f"http://{self.host}:{self.port}{self.settings.path}"

    def stop(self) -> None:
        """Ask a running ``run()`` to stop, as SIGTERM does."""
        self.server.should_exit = True

    def run(self) -> None:
        self.worker.start()
        log.info(
            "serve: listening on %s for %d mapping(s) (%s); debounce %s, reconcile every %s; %s",
            self.url,
            len(self.sources),
            ", ".join(s.mapping for s in self.sources),
            self.settings.debounce,
            self.settings.reconcile_interval,
            self.token.describe(),
        )
        try:
            try:
                self.server.run()
            except SystemExit:  # uvicorn's answer to a port it cannot bind
                if self.server.started:
                    raise
            if not self.server.started:
                raise ConfigError(
                    [
                        ConfigProblem(
                            "serve.port",
                            f"cannot listen on {self.host}:{self.port} (in use, or not an address of this machine): "
                            "stop what uses it, or set [serve] port / --port to another",
                        )
                    ]
                )
        finally:
            stopped = self.worker.stop()
        if not stopped:
            log.error("serve: the sync in flight did not finish in %.0f s; the next run recovers it", SHUTDOWN_WAIT)
        log.info("serve: stopped")


def run_serve(
    config: Config, *, host: str | None = None, port: int | None = None, engine: EngineFactory = Engine
) -> int:
    """Serve until SIGTERM or SIGINT, then finish the sync in flight and return 0."""
    Serving(config, host=host, port=port, engine=engine).run()
    return 0
