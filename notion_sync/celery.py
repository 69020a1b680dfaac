"""The Celery fleet: workers that sync mappings, and beat that schedules them.

    celery -A notion_sync.celery worker          # as many as you like, on any hosts
    celery -A notion_sync.celery beat            # one

Both read the config from ``NOTION_SYNC_CONFIG`` like every command; ``[celery]`` names the
broker (Redis), each mapping's ``schedule`` (or ``[celery] default_schedule``) how often beat
queues it. The task ``notion_sync.sync_mapping(mapping_name)`` runs one mapping with the same
engine as ``notion-sync run --mapping NAME``, under the mapping's lock; it is acknowledged late
and rejected when its worker dies, so another worker picks it up, and the lock and the intent
records make that safe. A mapping already queued or running is not queued again
(``queue_sync``): its marker in Redis lives until its sync ends.

``queue_sync(config, mapping, page_ids=...)`` is the one way to put a sync on the queue:
``notion-sync enqueue``, beat, and the webhook server use it.
"""

from __future__ import annotations

import logging
import os
from collections.abc import Sequence
from datetime import timedelta
from typing import Any

from celery import Celery
from celery.schedules import crontab, schedule

from notion_sync.core.config import Config, broker_url, config_path, load_config, parse_duration
from notion_sync.core.errors import EXIT_TEMPFAIL, ConfigError, LockedError, NotionSyncError

__all__ = [
    "BrokerError",
    "app",
    "configure",
    "beat_schedule",
    "queue_sync",
    "sync_mapping",
    "enqueue_mapping",
    "QUEUED_TTL",
]

log = logging.getLogger(__name__)
QUEUED_TTL = 6 * 3600
"""Seconds a queued-or-running marker lives at most: a sync whose every worker vanished for good
does not block its mapping longer than this."""
HELD_RETRY = 5
"""Seconds before a page sync whose mapping another process holds is tried again."""


class BrokerError(NotionSyncError):
    """The broker cannot be reached: temporary (exit 75), the next try may work."""

    exit_code = EXIT_TEMPFAIL


app = Celery("notion_sync")
app.conf.update(
    task_acks_late=True,
    task_reject_on_worker_lost=True,
    worker_prefetch_multiplier=1,
    task_serializer="json",
    accept_content=["json"],
    result_backend=None,
    broker_connection_retry_on_startup=True,
    worker_hijack_root_logger=False,
)


def _load() -> Config:
    return load_config(config_path(None))


def configure(celery_app: Celery, config: Config) -> None:
    """Point ``celery_app`` at the config's broker and give beat its schedule."""
    if config.celery is None:
        raise ConfigError(
            f"{config.path or 'the config'} has no [celery] table: add one with broker_url_env "
            '(e.g. [celery] broker_url_env = "NOTION_SYNC_BROKER_URL")'
        )
    url = broker_url(config.celery).reveal()
    celery_app.conf.broker_url = url
    celery_app.conf.beat_schedule = beat_schedule(config)
    # A task whose worker vanished is handed to another after this long; one handed out twice
    # meets the mapping's lock, so a short timeout is safe. Kombu looks for such tasks only
    # every 10 × 10 s by default, which would add up to 100 s to any timeout: look every
    # quarter of the timeout (at most 10 s), on every sweep.
    timeout = config.celery.visibility_timeout
    celery_app.conf.broker_transport_options = {
        "visibility_timeout": timeout,
        "unacked_restore_interval": max(1, min(10, int(timeout / 4))),
        "unacked_restore_throttle": 1,
    }


def parse_schedule(value: str) -> crontab | timedelta:
    """``"90s"``/``"10m"`` as an interval, five cron fields as a ``crontab``."""
    fields = value.split()
    if len(fields) == 5:
        minute, hour, day_of_month, month_of_year, day_of_week = fields
        return crontab(
            minute=minute,
            hour=hour,
            day_of_month=day_of_month,
            month_of_year=month_of_year,
            day_of_week=day_of_week,
        )
    return timedelta(seconds=parse_duration(value))


def beat_schedule(config: Config) -> dict[str, dict[str, Any]]:
    """One beat entry per enabled mapping, from its ``schedule`` (or ``default_schedule``)."""
    assert config.celery is not None
    entries: dict[str, dict[str, Any]] = {}
    for m in config.mappings:
        if not m.config.enabled:
            continue
        when = parse_schedule(m.config.schedule or config.celery.default_schedule)
        entries[f"notion-sync {m.name}"] = {
            "task": "notion_sync.enqueue_mapping",
            "schedule": when if isinstance(when, crontab) else schedule(when),
            "args": (m.name,),
            "options": {"expires": when.total_seconds() if isinstance(when, timedelta) else 60.0},
        }
    return entries


def _marker(config: Config, mapping: str) -> str:
    return f"notion-sync:queued:{mapping}"


def _redis(config: Config) -> Any:
    import redis

    assert config.celery is not None
    return redis.Redis.from_url(broker_url(config.celery).reveal())


def queue_sync(config: Config, mapping: str, *, page_ids: Sequence[str] = (), force: bool = False) -> bool:
    """Queue a sync of ``mapping``. Without ``page_ids`` the worker runs the mapping as ``run``
    does; returns False when such a sync is already queued or running (unless ``force``): it
    will see the same changes. With ``page_ids`` (the webhook server's rows) the worker syncs
    exactly those pages (``Engine.sync_pages``: a trashed row is removed at once, which an
    incremental run would leave to the next full scan); such a sync is always queued."""
    import redis

    config.mapping(mapping)  # a wrong name is a config error naming the mappings
    configure(app, config)
    try:
        if not page_ids and not _redis(config).set(_marker(config, mapping), "1", nx=not force, ex=QUEUED_TTL):
            return False
        sync_mapping.apply_async(args=(mapping,), kwargs={"page_ids": list(page_ids)}, retry=False)
    except (redis.exceptions.ConnectionError, OSError) as exc:
        raise BrokerError(
            f"the Celery broker cannot be reached ({type(exc).__name__}); check that Redis is up and "
            "[celery] broker_url_env names its URL, then try again"
        ) from None
    return True


@app.task(name="notion_sync.enqueue_mapping", ignore_result=True)  # type: ignore[untyped-decorator]
def enqueue_mapping(mapping_name: str) -> bool:
    """Beat's entry: queue a sync of the mapping unless one is queued or running."""
    queued = queue_sync(_load(), mapping_name)
    if not queued:
        log.info("mapping %r is still queued or running: not queued again", mapping_name)
    return queued


@app.task(  # type: ignore[untyped-decorator]
    name="notion_sync.sync_mapping",
    bind=True,
    acks_late=True,
    reject_on_worker_lost=True,
    ignore_result=True,
)
def sync_mapping(self: Any, mapping_name: str, page_ids: Sequence[str] = ()) -> dict[str, Any]:
    """Run one mapping, as ``notion-sync run --mapping NAME`` does, under its lock."""
    from notion_sync.core.engine import Engine, RunOptions

    config = _load()
    engine = Engine(config)
    try:
        if page_ids:
            report = engine.sync_pages({mapping_name: list(page_ids)})
        else:
            report = engine.run(RunOptions(mappings=[mapping_name]))
    except LockedError as held:
        log.info("%s", held)
        if page_ids and not self.request.called_directly:
            # These pages' events were answered 200 and are not sent again: try until the lock is free.
            raise self.retry(countdown=HELD_RETRY, max_retries=None) from None
        # Another worker (or a cron run) syncs it now: that run sees the same changes.
        return {"mapping": mapping_name, "status": "held"}
    finally:
        if config.celery is not None and not self.request.called_directly and not page_ids:
            _redis(config).delete(_marker(config, mapping_name))
    (rep,) = report.mappings
    log.info("%s", rep.summary())
    return {"mapping": mapping_name, "status": rep.status, "counts": dict(rep.counts), "exit_code": report.exit_code}


if os.environ.get("NOTION_SYNC_CONFIG"):
    configure(app, _load())
