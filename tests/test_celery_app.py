"""``notion_sync.celery`` and ``notion-sync enqueue`` without workers: the schedule, the queue, the errors."""

from __future__ import annotations

from datetime import timedelta

import pytest
import redis
from celery.schedules import crontab, schedule
from typer.testing import CliRunner

from notion_sync.celery import app as celery_app
from notion_sync.celery import beat_schedule, queue_sync
from notion_sync.core.cli import app
from notion_sync.core.sandbox import Sandbox
from notion_sync.core.testing.servers import RedisServer, free_port
from tests.support.memo import with_memo

runner = CliRunner()


def with_celery(box: Sandbox, **celery: object) -> None:
    data = box.config_data()
    first = data["mappings"][0]
    data["mappings"] = [
        {**first, "name": "every-5-min", "schedule": "*/5 * * * *"},
        {**first, "name": "every-90s", "schedule": "90s"},
        {**first, "name": "by-default"},
        {**first, "name": "off", "enabled": False},
    ]
    data["celery"] = {"broker_url_env": "NS_TEST_BROKER", **celery}
    box.write_config(data)


def enqueue(box: Sandbox, *args: str):
    return runner.invoke(app, ["enqueue", "--config", str(box.config_path), *args], obj=with_memo())


def test_beat_schedules_each_enabled_mapping_from_its_schedule(box: Sandbox, monkeypatch) -> None:
    monkeypatch.setenv("NS_TEST_BROKER", "redis://127.0.0.1:1/0")
    with_celery(box, default_schedule="10m")
    entries = beat_schedule(box.config())
    assert set(entries) == {"notion-sync every-5-min", "notion-sync every-90s", "notion-sync by-default"}
    cron = entries["notion-sync every-5-min"]["schedule"]
    assert isinstance(cron, crontab) and cron.minute == set(range(0, 60, 5))
    assert entries["notion-sync every-90s"]["schedule"] == schedule(timedelta(seconds=90))
    assert entries["notion-sync by-default"]["schedule"] == schedule(timedelta(minutes=10))
    assert entries["notion-sync every-90s"]["task"] == "notion_sync.enqueue_mapping"
    assert set(celery_app.tasks) >= {"notion_sync.sync_mapping", "notion_sync.enqueue_mapping"}
    task = celery_app.tasks["notion_sync.sync_mapping"]
    assert task.acks_late and task.reject_on_worker_lost


@pytest.mark.failure_case("a mapping's schedule is not a duration or a cron line", "config error naming it", 2)
def test_a_bad_schedule_is_a_config_error_naming_the_mapping(box: Sandbox) -> None:
    data = box.config_data()
    data["mappings"][0]["schedule"] = "every tuesday"
    box.write_config(data)
    result = runner.invoke(app, ["run", "--config", str(box.config_path)], obj=with_memo())
    assert result.exit_code == 2, result.output
    assert "schedule" in result.stderr and "cron line" in result.stderr


def test_a_mapping_queued_or_running_is_not_queued_again(box: Sandbox, redis_server: RedisServer, monkeypatch) -> None:
    redis_server.flush()
    monkeypatch.setenv("NS_TEST_BROKER", redis_server.url)
    with_celery(box)
    first = enqueue(box, "--mapping", "every-90s")
    assert first.exit_code == 0 and "every-90s: queued" in first.stdout, first.output
    again = enqueue(box, "--all")
    assert again.exit_code == 0, again.output
    assert "every-90s: already queued or running, not queued again" in again.stdout
    assert "by-default: queued" in again.stdout and "off" not in again.stdout
    assert not queue_sync(box.config(), "by-default")
    assert redis.Redis.from_url(redis_server.url).llen("celery") == 3  # one message per mapping
    # A page sync (serve's webhook rows) is always queued: a whole-mapping sync already queued
    # would not remove a trashed row at once, and Notion does not send its event again.
    assert queue_sync(box.config(), "by-default", page_ids=["p1"])
    assert redis.Redis.from_url(redis_server.url).llen("celery") == 4


@pytest.mark.failure_case("enqueue with neither --all nor --mapping", "config error: name them", 2)
def test_enqueue_needs_all_or_names(box: Sandbox, monkeypatch) -> None:
    monkeypatch.setenv("NS_TEST_BROKER", "redis://127.0.0.1:1/0")
    with_celery(box)
    result = enqueue(box)
    assert result.exit_code == 2 and "--mapping NAME" in result.stderr, result.output
    unknown = enqueue(box, "--mapping", "nope")
    assert unknown.exit_code == 2 and "nope" in unknown.stderr, unknown.output


@pytest.mark.failure_case("enqueue without [celery]", "names the table to add", 2)
def test_enqueue_without_a_celery_table_says_what_to_add(box: Sandbox) -> None:
    result = enqueue(box, "--all")
    assert result.exit_code == 2 and "[celery]" in result.stderr and "Traceback" not in result.output


@pytest.mark.failure_case("the Celery broker is down", "temporary: check Redis, try again", 75)
def test_enqueue_with_the_broker_down_exits_75(box: Sandbox, monkeypatch) -> None:
    monkeypatch.setenv("NS_TEST_BROKER", f"redis://127.0.0.1:{free_port()}/0")
    with_celery(box)
    result = enqueue(box, "--all")
    assert result.exit_code == 75, result.output
    assert "broker cannot be reached" in result.stderr and "Traceback" not in result.output
