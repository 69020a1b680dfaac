"""The emulator's webhooks: handshake, signed deliveries shaped as Notion documents them,
aggregation per entity, retries on non-2xx; driven through the Python API and the control API."""

from __future__ import annotations

import hashlib
import hmac
import json
import threading
import time
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import httpx
import pytest

from notion_sync.core.emulator.notion import NotionEmulator
from tests.notion_emulator.conftest import DEMO_SCHEMA

EVENT_KEYS = {
    "id",
    "timestamp",
    "workspace_id",
    "workspace_name",
    "subscription_id",
    "integration_id",
    "type",
    "authors",
    "accessible_by",
    "attempt_number",
    "api_version",
    "entity",
    "data",
}


class Receiver:
    """An endpoint that records every POST and answers the statuses it is told to, in turn."""

    def __init__(self) -> None:
        self.received: list[tuple[dict[str, str], bytes]] = []
        self.statuses: list[int] = []
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:  # noqa: N802 - http.server's name
                body = self.rfile.read(int(self.headers["Content-Length"]))
                receiver.received.append(({k.lower(): v for k, v in self.headers.items()}, body))
                self.send_response(receiver.statuses.pop(0) if receiver.statuses else 200)
                self.end_headers()

            def log_message(self, *args: Any) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}/hook"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def events(self) -> list[dict[str, Any]]:
        return [json.loads(body) for headers, body in self.received if "x-notion-signature" in headers]

    def wait(self, count: int) -> list[dict[str, Any]]:
        deadline = time.monotonic() + 20
        while len(self.events()) < count:
            assert time.monotonic() < deadline, self.received
            time.sleep(0.02)
        return self.events()


@pytest.fixture
def receiver() -> Iterator[Receiver]:
    r = Receiver()
    yield r
    r.server.shutdown()


def test_handshake_then_one_signed_aggregated_event_per_row(emu: NotionEmulator, receiver: Receiver) -> None:
    db = emu.create_database("Tasks", DEMO_SCHEMA)
    ds = db.data_sources[0].id
    page = emu.add_page(ds, {"Name": "Before"})
    sub = emu.subscribe_webhook(receiver.url)
    headers, body = receiver.received[0]
    assert json.loads(body) == {"verification_token": sub.verification_token}
    assert "x-notion-signature" not in headers
    for n in range(5):
        emu.update_page(page, {"Name": f"Edit {n}", "Estimate": n})
    (event,) = receiver.wait(1)
    time.sleep(emu.webhooks.aggregate_window * 2)
    assert len(receiver.events()) == 1  # five edits, one event
    headers, body = receiver.received[-1]
    expected = "sha256=" + hmac.new(sub.verification_token.encode(), body, hashlib.sha256).hexdigest()
    assert headers["x-notion-signature"] == expected
    assert set(event) == EVENT_KEYS
    assert event["type"] == "page.properties_updated" and event["attempt_number"] == 1
    assert event["entity"] == {"id": page, "type": "page"}
    assert event["data"]["parent"] == {"id": db.id, "type": "database", "data_source_id": ds}
    schema = emu.schema(ds)
    assert sorted(event["data"]["updated_properties"]) == sorted([schema["Name"]["id"], schema["Estimate"]["id"]])
    assert event["authors"] == [{"id": emu.owner_id, "type": "person"}]
    assert event["accessible_by"] == [{"id": emu.bot_id, "type": "bot"}]


def test_create_then_trash_in_one_window_gives_no_event(emu: NotionEmulator, receiver: Receiver) -> None:
    ds = emu.create_database("Tasks", DEMO_SCHEMA).data_sources[0].id
    emu.subscribe_webhook(receiver.url)
    gone = emu.add_page(ds, {"Name": "Oops"})
    emu.trash_page(gone)
    kept = emu.add_page(ds, {"Name": "Kept"})
    (event,) = receiver.wait(1)
    time.sleep(emu.webhooks.aggregate_window * 2)
    assert len(receiver.events()) == 1
    assert event["type"] == "page.created" and event["entity"]["id"] == kept


def test_non_2xx_is_retried_with_a_higher_attempt_number(emu: NotionEmulator, receiver: Receiver) -> None:
    ds = emu.create_database("Tasks", DEMO_SCHEMA).data_sources[0].id
    emu.subscribe_webhook(receiver.url)
    receiver.statuses = [500, 429]
    page = emu.add_page(ds, {"Name": "Retried"})
    events = receiver.wait(3)
    assert [e["attempt_number"] for e in events] == [1, 2, 3]
    assert {e["id"] for e in events} == {events[0]["id"]} and events[0]["entity"]["id"] == page
    # The emulator records a delivery's status once the receiver's answer is back: wait for it.
    deadline = time.monotonic() + 10
    while len([d for d in emu.webhooks.deliveries if d["event_id"]]) < 3 and time.monotonic() < deadline:
        time.sleep(0.02)
    assert [d["status"] for d in emu.webhooks.deliveries if d["event_id"]] == [500, 429, 200]


def test_control_api_subscribes_and_schema_changes_are_events(emu: NotionEmulator, receiver: Receiver) -> None:
    ds = emu.create_database("Tasks", DEMO_SCHEMA).data_sources[0].id
    control = emu.url + "/_emulator/webhooks"
    answer = httpx.post(control, json={"url": receiver.url, "event_types": ["data_source.schema_updated"]}).json()
    assert answer["verified"] is True and answer["event_types"] == ["data_source.schema_updated"]
    emu.add_page(ds, {"Name": "Not subscribed to page events"})
    emu.remove_property(ds, "Estimate")
    (event,) = receiver.wait(1)
    assert event["type"] == "data_source.schema_updated" and event["entity"] == {"id": ds, "type": "data_source"}
    assert event["data"]["updated_properties"][0]["action"] == "deleted"
    listed = httpx.get(control).json()
    assert [s["id"] for s in listed["subscriptions"]] == [answer["id"]]
    assert httpx.post(control, json={"url": "nowhere"}).status_code == 400
    assert httpx.delete(f"{control}/{answer['id']}").status_code == 200
    assert httpx.get(control).json()["subscriptions"] == []


def test_unverified_subscription_gets_no_event_until_verified(emu: NotionEmulator, receiver: Receiver) -> None:
    ds = emu.create_database("Tasks", DEMO_SCHEMA).data_sources[0].id
    sub = emu.subscribe_webhook(receiver.url, verify=False)
    emu.add_page(ds, {"Name": "Before verify"})
    time.sleep(emu.webhooks.aggregate_window * 2)
    assert receiver.events() == []
    with pytest.raises(ValueError):
        sub.verify("secret_wrong")
    sub.verify(sub.verification_token)
    emu.add_page(ds, {"Name": "After verify"})
    assert len(receiver.wait(1)) == 1
