"""``serve`` with ``[celery]``: webhook syncs go on the queue, and a worker applies them.

The receiver only queues (so several can run behind a load balancer); its dedupe lives in the
shared PostgreSQL state; a Celery worker syncs exactly the pages the events named, under the
mapping's lock: an edit is written and a trashed row's item removed without any full scan."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from notion_sync.core.plugins import discover
from notion_sync.core.sandbox import Sandbox
from notion_sync.core.testing.servers import PostgresServer, RedisServer
from tests.test_celery_fleet import REPO, stop, worker
from tests.test_serve import TOKEN, Serve, event, wait_for


def test_serve_with_celery_queues_page_syncs_that_a_worker_applies(
    tmp_path: Path, postgres_server: PostgresServer, redis_server: RedisServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    redis_server.flush()
    monkeypatch.setenv("NS_SERVE_STATE_URL", postgres_server.fresh_database())
    monkeypatch.setenv("NS_SERVE_BROKER", redis_server.url)
    trello = discover().connectors["trello"]
    hourly = {"trello": {"full_scan_interval": "1h"}}
    with Sandbox(tmp_path, connectors={"trello": trello}, mapping_overrides=hourly) as box:
        assert box.database is not None
        token_file = tmp_path / "webhook-token"
        token_file.write_text(TOKEN + "\n")
        token_file.chmod(0o600)
        serve = Serve(box, token_file, installed=True)  # writes [serve] into the config
        data = box.config_data()
        data["serve"] = {"port": serve.port, "verification_token_file": str(token_file), "debounce": "0.2s"}
        data["state"] = {"url_env": "NS_SERVE_STATE_URL"}
        data["celery"] = {"broker_url_env": "NS_SERVE_BROKER", "default_schedule": "1h"}
        box.write_config(data)
        assert box.run().exit_code == 0
        target = box.targets["trello"]
        edited, trashed = list(box.database.pages.values())[:2]
        assert edited in target.items() and trashed in target.items()
        assert not (tmp_path / "notion-sync.sqlite3").exists(), "the state is on PostgreSQL"

        env = {
            **os.environ,
            "NOTION_SYNC_CONFIG": str(box.config_path),
            "PYTHONPATH": str(REPO) + os.pathsep + os.environ.get("PYTHONPATH", ""),
        }
        serve.start()
        hands = worker(box, env, 1)
        try:
            box.notion.update_page(edited, {"Name": "Renamed through the queue"})
            box.notion.trash_page(trashed)
            first = event(box, edited)
            assert serve.send(first).status_code == 200
            assert serve.send(event(box, trashed, "page.deleted")).status_code == 200
            wait_for(lambda: "Renamed through the queue" in target.items().get(edited, ""), timeout=60)
            wait_for(lambda: trashed not in target.items(), timeout=60)
            # A redelivery is deduped in the shared state: nothing is queued for it.
            assert serve.send(first).status_code == 200
            wait_for(lambda: serve.metric("notion_sync_webhook_events_deduped_total") >= 1)
        finally:
            code = serve.stop()
            stop(hands)
        assert code == 0, serve.stderr
        assert "queued for the workers" in serve.stderr
        assert TOKEN not in serve.stderr
        # The worker's sync left nothing for a plain run to do, and no card twice.
        again = box.run().mappings[0]
        assert again.writes == 0, again.summary()
        assert len(target.items()) == len(box.database.pages) - 1
