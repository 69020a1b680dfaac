"""``notion-sync serve``: webhooks in, targeted syncs out. Serve runs as a subprocess (the real
CLI, with the test-only memo connector), fed by the Notion emulator's signed deliveries and by
events signed here by hand."""

from __future__ import annotations

import json
import os
import signal
import sqlite3
import subprocess
import sys
import threading
import time
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from notion_sync.core.engine import RunReport
from notion_sync.core.errors import LockedError
from notion_sync.core.sandbox import Sandbox
from notion_sync.core.testing.servers import free_port
from notion_sync.core.webhook_events import sign
from tests.conftest import memos
from tests.support.memo import MemoConnector

REPO = Path(__file__).resolve().parents[1]
LAUNCH = (
    "import sys\n"
    "from notion_sync.core.cli import main\n"
    "from notion_sync.core.plugins import Discovery\n"
    "from tests.support.memo import MemoConnector\n"
    "sys.argv = ['notion-sync', *sys.argv[1:]]\n"
    "main(discovery=Discovery.of([MemoConnector]))\n"
)
TOKEN = "secret_" + "w" * 43


def wait_for(check: Callable[[], Any], timeout: float = 30.0) -> Any:
    """Poll until ``check`` is truthy (waiting, not a timing assertion)."""
    deadline = time.monotonic() + timeout
    while True:
        value = check()
        if value:
            return value
        if time.monotonic() > deadline:
            raise AssertionError("gave up waiting")
        time.sleep(0.05)


class Serve:
    """One ``notion-sync serve`` subprocess on a free port."""

    def __init__(self, box: Sandbox, token_file: Path, *, installed: bool = False, **serve: Any) -> None:
        """``installed``: the installed connectors (the command users run), else the memo one."""
        self.box = box
        self.launch = ["-m", "notion_sync"] if installed else ["-c", LAUNCH]
        self.port = free_port()
        self.token_file = token_file
        data = box.config_data()
        data["serve"] = {
            "port": self.port,
            "verification_token_file": str(token_file),
            "debounce": "0.2s",
            "reconcile_interval": "1h",
            **serve,
        }
        box.write_config(data)
        self.url = f"http://127.0.0.1:{self.port}"
        self.proc: subprocess.Popen[str] | None = None
        self.stderr = ""

    def start(self) -> Serve:
        env = {**os.environ, "PYTHONPATH": str(REPO) + os.pathsep + os.environ.get("PYTHONPATH", "")}
        self.proc = subprocess.Popen(
            [sys.executable, *self.launch, "serve", "--config", str(self.box.config_path)],
            env=env,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        wait_for(self._up)
        return self

    def _up(self) -> bool:
        assert self.proc is not None
        if self.proc.poll() is not None:
            raise AssertionError(
                f"serve exited {self.proc.returncode}: {self.proc.stderr.read() if self.proc.stderr else ''}"
            )
        try:
            return httpx.get(self.url + "/healthz").status_code == 200
        except httpx.HTTPError:
            return False

    def stop(self, sig: int = signal.SIGTERM) -> int:
        assert self.proc is not None
        self.proc.send_signal(sig)
        _out, self.stderr = self.proc.communicate(timeout=30)
        return self.proc.returncode

    def post(self, body: bytes, signature: str | None) -> httpx.Response:
        headers = {"Content-Type": "application/json"}
        if signature is not None:
            headers["X-Notion-Signature"] = signature
        return httpx.post(self.url + "/notion/webhook", content=body, headers=headers)

    def send(self, event: dict[str, Any], token: str = TOKEN) -> httpx.Response:
        raw = json.dumps(event).encode()
        return self.post(raw, sign(token, raw))

    def health(self) -> dict[str, Any]:
        result: dict[str, Any] = httpx.get(self.url + "/healthz").json()
        return result

    def metric(self, name: str) -> float:
        total = 0.0
        for line in httpx.get(self.url + "/metrics").text.splitlines():
            if line.startswith(name) and not line.startswith("#"):
                total += float(line.rsplit(" ", 1)[1])
        return total

    def synced(self, times: int) -> bool:
        return self.metric("notion_sync_syncs_total") >= times


@pytest.fixture
def box(tmp_path: Path) -> Iterator[Sandbox]:
    with Sandbox(tmp_path, connectors={"memo": MemoConnector}) as sandbox:
        yield sandbox


@pytest.fixture
def serve(box: Sandbox, tmp_path: Path) -> Iterator[Serve]:
    token_file = tmp_path / "webhook-token"
    token_file.write_text(TOKEN + "\n")
    token_file.chmod(0o600)
    server = Serve(box, token_file).start()
    yield server
    if server.proc is not None and server.proc.poll() is None:
        server.stop()


def event(box: Sandbox, page_id: str, kind: str = "page.properties_updated", **extra: Any) -> dict[str, Any]:
    assert box.database is not None
    return {
        "id": str(uuid.uuid4()),
        "timestamp": "2026-12-01T12:00:00.000Z",
        "workspace_id": str(uuid.uuid4()),
        "workspace_name": "Demo workspace",
        "subscription_id": str(uuid.uuid4()),
        "integration_id": str(uuid.uuid4()),
        "type": kind,
        "authors": [{"id": box.notion.owner_id, "type": "person"}],
        "accessible_by": [{"id": box.notion.bot_id, "type": "bot"}],
        "attempt_number": 1,
        "api_version": "2025-09-03",
        "entity": {"id": page_id, "type": "page"},
        "data": {
            "parent": {
                "id": box.database.database_id,
                "type": "database",
                "data_source_id": box.database.data_source_id,
            }
        },
        **extra,
    }


def cron_run(box: Sandbox) -> RunReport:
    """A ``run`` while serve may be syncing: like cron's next run, it comes back after a refusal."""
    deadline = time.monotonic() + 30
    while True:
        try:
            return box.run()
        except LockedError:
            assert time.monotonic() < deadline, "serve held the lock for 30 s"
            time.sleep(0.1)


def page(box: Sandbox, title: str) -> str:
    assert box.database is not None
    return box.database.pages[title]


def test_emulator_handshake_then_signed_deliveries_sync_the_edited_row(box: Sandbox, tmp_path: Path) -> None:
    token_file = tmp_path / "cfg" / "webhook-token"
    server = Serve(box, token_file).start()
    try:
        sub = box.notion.subscribe_webhook(server.url + "/notion/webhook")
        assert token_file.read_text().strip() == sub.verification_token
        assert token_file.stat().st_mode & 0o777 == 0o600
        box.run()
        edited = page(box, "Fix login timeout")
        for n in range(5):  # aggregated by the emulator, coalesced by serve: one write
            box.notion.update_page(edited, {"Name": f"Fix login timeout v{n}"})
        wait_for(lambda: memos(box)[edited].startswith("Fix login timeout v4"))
        box.notion.add_page(box.database.data_source_id, {"Name": "Brand new row", "Status": "Not started"})
        wait_for(lambda: "Brand new row (Not started)" in memos(box).values())
        trashed = page(box, "Write onboarding guide")
        box.notion.trash_page(trashed)
        wait_for(lambda: trashed not in memos(box))
        # A second handshake with another token is refused, and the file is left alone.
        other = box.notion.subscribe_webhook(server.url + "/notion/webhook", verify=False)
        assert token_file.read_text().strip() == sub.verification_token != other.verification_token
        assert box.notion.webhooks.deliveries[-1]["status"] == 409
        assert cron_run(box).mappings[0].writes == 0  # serve wrote everything already, exactly once
    finally:
        assert server.stop() == 0
    assert sub.verification_token not in server.stderr
    assert "Verify dialog" in server.stderr and "webhook sync" in server.stderr


def test_bad_signature_is_401_and_does_nothing(box: Sandbox, serve: Serve) -> None:
    box.run()
    edited = page(box, "Fix login timeout")
    box.notion.update_page(edited, {"Name": "Edited"})
    raw = json.dumps(event(box, edited)).encode()
    assert serve.post(raw, "sha256=" + "0" * 64).status_code == 401
    assert serve.post(raw, None).status_code == 401
    assert serve.post(raw, sign("secret_other", raw)).status_code == 401
    assert serve.post(b"not json", sign(TOKEN, b"not json")).status_code == 400
    assert serve.post(b"x" * (1024 * 1024 + 1), sign(TOKEN, b"x")).status_code == 413
    assert serve.metric("notion_sync_webhook_requests_rejected_total") == 5
    assert serve.metric("notion_sync_webhook_events_received_total") == 0
    assert serve.health()["queue_depth"] == 0 and serve.health()["mappings"] == {}
    assert not memos(box)[edited].startswith("Edited")


def test_unknown_and_ignored_types_get_200(box: Sandbox, serve: Serve) -> None:
    edited = page(box, "Fix login timeout")
    for kind in ("comment.created", "database.schema_updated", "something.new"):
        assert serve.send(event(box, edited, kind)).status_code == 200
    own = event(box, edited)
    own["authors"] = [{"id": box.notion.bot_id, "type": "bot"}]
    assert serve.send(own).status_code == 200  # the integration's own edit
    wait_for(lambda: serve.metric("notion_sync_webhook_events_ignored_total") == 4)
    assert serve.metric("notion_sync_syncs_total") == 0 and memos(box) == {}


def test_duplicate_event_id_does_nothing_also_after_a_restart(box: Sandbox, serve: Serve) -> None:
    box.run()
    edited = page(box, "Fix login timeout")
    box.notion.update_page(edited, {"Name": "First edit"})
    first = event(box, edited)
    assert serve.send(first).status_code == 200
    wait_for(lambda: memos(box)[edited].startswith("First edit"))
    box.notion.update_page(edited, {"Name": "Second edit"})
    assert serve.send(first).status_code == 200
    wait_for(lambda: serve.metric("notion_sync_webhook_events_deduped_total") == 1)
    assert serve.stop() == 0
    serve.start()
    assert serve.send(first).status_code == 200
    wait_for(lambda: serve.metric("notion_sync_webhook_events_deduped_total") == 1)
    assert serve.metric("notion_sync_syncs_total") == 0
    assert memos(box)[edited].startswith("First edit")


def test_twenty_events_for_one_page_make_one_sync(box: Sandbox, serve: Serve) -> None:
    serve.stop()
    serve = Serve(box, serve.token_file, debounce="3s").start()  # room for 20 requests on a busy machine
    edited = page(box, "Fix login timeout")
    box.notion.update_page(edited, {"Name": "Once"})
    for _ in range(20):
        assert serve.send(event(box, edited)).status_code == 200
    wait_for(lambda: serve.synced(1))
    wait_for(lambda: serve.metric("notion_sync_webhook_events_received_total") == 20)
    assert serve.metric("notion_sync_syncs_total") == 1
    assert list(memos(box)) == [edited] and memos(box)[edited].startswith("Once")
    assert serve.metric("notion_sync_writes_total") == 1
    assert serve.stop() == 0


def test_page_deleted_removes_the_item(box: Sandbox, serve: Serve) -> None:
    box.run()
    trashed = page(box, "Write onboarding guide")
    assert trashed in memos(box)
    box.notion.trash_page(trashed)
    assert serve.send(event(box, trashed, "page.deleted")).status_code == 200
    wait_for(lambda: trashed not in memos(box))
    health = serve.health()
    assert health["mappings"][box.mapping_name("memo")]["result"] == "ok"
    assert health["last_event_at"] is not None


def test_schema_change_stops_the_mapping_when_a_mapped_property_is_gone(box: Sandbox, serve: Serve) -> None:
    assert box.database is not None
    box.run()
    box.notion.remove_property(box.database.data_source_id, "Status")
    schema_event = event(box, box.database.data_source_id, "data_source.schema_updated")
    schema_event["entity"] = {"id": box.database.data_source_id, "type": "data_source"}
    schema_event["data"] = {
        "parent": {"id": box.database.database_id, "type": "database"},
        "updated_properties": [{"id": "x", "name": "Status", "action": "deleted"}],
    }
    before = dict(memos(box))
    assert serve.send(schema_event).status_code == 200
    name = box.mapping_name("memo")
    wait_for(lambda: serve.health()["mappings"].get(name, {}).get("result", "").startswith("config"))
    edited = page(box, "Fix login timeout")
    box.notion.update_page(edited, {"Name": "After the schema change"})
    assert serve.send(event(box, edited)).status_code == 200
    wait_for(lambda: serve.synced(2))
    assert memos(box) == before
    serve.stop()
    assert "Status" in serve.stderr and "stopped" in serve.stderr


def test_sigterm_during_a_sync_exits_cleanly_without_a_half_write(box: Sandbox, serve: Serve) -> None:
    box.run()
    names = ["Fix login timeout", "Write onboarding guide", "Customer call: Acme"]
    memo = box.targets["memo"].emulator
    memo.faults.latency = 0.5  # each write takes half a second: the sync is in flight at SIGTERM
    for title in names:
        box.notion.update_page(page(box, title), {"Name": f"{title} (edited)"})
        assert serve.send(event(box, page(box, title))).status_code == 200
    wait_for(lambda: any("(edited)" in text for text in memos(box).values()))
    assert serve.stop() == 0
    memo.faults.latency = 0
    conn = sqlite3.connect(box.state_path)
    assert conn.execute("SELECT COUNT(*) FROM intents").fetchone()[0] == 0
    conn.close()
    assert all(memos(box)[page(box, t)].startswith(f"{t} (edited)") for t in names)
    rep = box.run().mappings[0]
    assert rep.writes == 0 and box.targets["memo"].item_count() == len(memos(box))


def test_serve_and_run_side_by_side_write_no_duplicate(box: Sandbox, serve: Serve) -> None:
    assert box.database is not None
    new_ids = []
    errors: list[BaseException] = []

    def cron() -> None:
        for _ in range(3):
            try:
                box.run()
            except LockedError:
                pass  # serve was syncing: this run did nothing, as under cron
            except BaseException as exc:  # noqa: BLE001 - reported by the test
                errors.append(exc)

    thread = threading.Thread(target=cron)
    thread.start()
    for n in range(10):
        pid = box.notion.add_page(box.database.data_source_id, {"Name": f"Row {n}", "Status": "Not started"})
        new_ids.append(pid)
        assert serve.send(event(box, pid, "page.created")).status_code == 200
    thread.join()
    assert errors == []
    wait_for(lambda: all(pid in memos(box) for pid in new_ids))
    cron_run(box)
    assert box.targets["memo"].item_count() == len(memos(box))
    assert cron_run(box).mappings[0].writes == 0


def test_the_reconcile_syncs_what_no_event_announced(box: Sandbox, tmp_path: Path) -> None:
    token_file = tmp_path / "webhook-token"
    box.run()  # before serve starts: its reconcile would hold the lock now and then
    server = Serve(box, token_file, reconcile_interval="1s").start()
    try:
        edited = page(box, "Fix login timeout")
        box.notion.update_page(edited, {"Name": "No webhook for this"})  # no subscription: no event
        wait_for(lambda: memos(box)[edited].startswith("No webhook for this"))
        kinds = serve_kinds(server)
        assert kinds == {"reconcile"}
    finally:
        assert server.stop() == 0
    assert "reconcile: tasks-to-memo" in server.stderr


def serve_kinds(server: Serve) -> set[str]:
    return {m["kind"] for m in server.health()["mappings"].values()}


def test_bad_serve_settings_and_a_taken_port_are_config_errors(box: Sandbox, serve: Serve) -> None:
    from typer.testing import CliRunner

    from notion_sync.core.cli import app
    from notion_sync.core.plugins import Discovery

    runner = CliRunner()
    data = box.config_data()
    data["serve"] = {"debounce": "soon", "path": "notion"}
    box.write_config(data)
    result = runner.invoke(app, ["serve", "--config", str(box.config_path)], obj=Discovery.of([MemoConnector]))
    assert result.exit_code == 2
    assert "serve.debounce" in result.output and "serve.path" in result.output and "Traceback" not in result.output
    data["serve"] = {"port": serve.port, "verification_token_file": str(serve.token_file)}
    box.write_config(data)
    result = runner.invoke(app, ["serve", "--config", str(box.config_path)], obj=Discovery.of([MemoConnector]))
    assert result.exit_code == 2 and f"cannot listen on 127.0.0.1:{serve.port}" in result.output, result.output
