"""Fixtures for the Slack connector tests: a running emulator, a connector pointed at it,
Notion rows, and a tiny stand-in for the engine's plan-and-apply loop."""

from __future__ import annotations

import hashlib
import json
import uuid
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

import pytest

from notion_sync.connectors.slack.connector import SlackConnector
from notion_sync.connectors.slack.emulator import SlackEmulator
from notion_sync.connectors.slack.settings import SlackMapping, SlackSettings
from notion_sync.core.adapter import DesiredItem, Link, MappingContext
from notion_sync.core.errors import ItemError, SkipItem
from notion_sync.core.rows import Row

TOKEN_ENV = "TEST_SLACK_BOT_TOKEN"


@pytest.fixture(scope="session")
def _running_emulator() -> Iterator[SlackEmulator]:
    emulator = SlackEmulator().start()
    yield emulator
    emulator.stop()


@pytest.fixture
def emu(_running_emulator: SlackEmulator) -> SlackEmulator:
    """The emulator, emptied for this test."""
    _running_emulator.reset()
    _running_emulator.faults.retry_after = 0  # slack-sdk's handler sleeps Retry-After (+ <1 s jitter)
    return _running_emulator


@pytest.fixture
def channel(emu: SlackEmulator) -> str:
    return emu.add_channel("tasks")


@pytest.fixture
def connector(emu: SlackEmulator, monkeypatch: pytest.MonkeyPatch) -> Iterator[SlackConnector]:
    monkeypatch.setenv(TOKEN_ENV, emu.token)
    conn = SlackConnector(SlackSettings(token_env=TOKEN_ENV, base_url=emu.api_url, pacing_scale=1000.0))
    yield conn
    conn.close()


def mapping(name: str = "tasks", on_delete: str = "delete", **settings: Any) -> MappingContext[SlackMapping]:
    settings.setdefault("channel", "#tasks")
    return MappingContext(name=name, settings=SlackMapping.model_validate(settings), on_delete=on_delete)


def _rich(text: str) -> list[dict[str, Any]]:
    return [{"type": "text", "text": {"content": text}, "plain_text": text}] if text else []


def make_row(
    name: str,
    *,
    page_id: str | None = None,
    status: str | None = "Not started",
    notes: str = "",
    owners: list[tuple[str, str]] | None = None,
    tags: list[str] | None = None,
    due: tuple[str, str | None] | None = None,
) -> Row:
    """A Notion page of the demo database, as the API returns it."""
    pid = page_id or str(uuid.uuid4())
    props: dict[str, Any] = {
        "Name": {"id": "title", "type": "title", "title": _rich(name)},
        "Status": {"id": "s", "type": "status", "status": {"name": status} if status else None},
        "Notes": {"id": "n", "type": "rich_text", "rich_text": _rich(notes)},
        "Owner": {
            "id": "o",
            "type": "people",
            "people": [
                {"object": "user", "id": str(uuid.uuid4()), "name": who, "person": {"email": email} if email else {}}
                for who, email in owners or []
            ],
        },
        "Tags": {"id": "t", "type": "multi_select", "multi_select": [{"name": t} for t in tags or []]},
        "Due": {
            "id": "d",
            "type": "date",
            "date": {"start": due[0], "end": due[1], "time_zone": None} if due else None,
        },
    }
    return Row.from_page(
        {
            "object": "page",
            "id": pid,
            "url": f"https://www.notion.so/{pid.replace('-', '')}",
            "created_time": "2026-01-01T00:00:00.000Z",
            "last_edited_time": "2026-01-01T00:00:00.000Z",
            "in_trash": False,
            "properties": props,
        }
    )


def digest(payload: dict[str, Any]) -> str:
    return hashlib.sha256(json.dumps(payload, sort_keys=True).encode()).hexdigest()


@dataclass
class MiniEngine:
    """The engine's loop in miniature: render, plan by payload hash, recover, apply, record."""

    connector: SlackConnector
    ctx: MappingContext[SlackMapping]
    links: dict[str, Link] = field(default_factory=dict)
    writes: list[str] = field(default_factory=list)
    failures: list[str] = field(default_factory=list)

    def run(self, rows: list[Row]) -> None:
        """One run: like the engine, an item's error fails that item alone, and the connector
        is closed at the end (its per-run caches go)."""
        try:
            self._run(rows)
        except ItemError as exc:  # the engine stops the mapping for this run (a retryable prepare)
            self.failures.append(str(exc))
        finally:
            self.connector.close()

    def _apply(self, fn: Any, *args: Any) -> Any:
        try:
            return fn(*args)
        except ItemError as exc:
            self.failures.append(str(exc))
            return _FAILED

    def _run(self, rows: list[Row]) -> None:
        self.connector.prepare(self.ctx)
        desired: dict[str, DesiredItem] = {}
        for row in rows:
            try:
                payload = self.connector.render(row, self.ctx)
            except SkipItem:
                continue
            desired[row.id] = DesiredItem(self.ctx.name, row.id, row.url, row.title, payload)
        creates = [d for pid, d in desired.items() if pid not in self.links]
        recovered = self._apply(self.connector.recover, creates, self.ctx) if creates else {}
        for pid, item in desired.items():
            link = self.links.get(pid)
            if link is None and recovered is _FAILED:
                continue  # as the engine does: no create without a successful check for an earlier one
            if link is None and pid in recovered:
                link = Link(pid, recovered[pid], None)
            if link is None:
                ref = self._apply(self.connector.create, item, self.ctx)
                if ref is not _FAILED:
                    self.writes.append(f"create {item.title}")
                    self.links[pid] = Link(pid, ref, item.payload)
            elif link.payload is None or link.archived or digest(link.payload) != digest(item.payload):
                ref = self._apply(self.connector.update, link, item, self.ctx)
                if ref is not _FAILED:
                    self.writes.append(f"update {item.title}")
                    self.links[pid] = Link(pid, ref, item.payload)
        for pid in [p for p in self.links if p not in desired]:
            link = self.links[pid]
            if link.archived:
                continue
            if self.ctx.on_delete == "keep":  # the engine keeps the link without calling the connector
                self.links[pid] = Link(pid, link.ref, link.payload, archived=True)
                continue
            ref = self._apply(self.connector.delete, link, self.ctx.on_delete, self.ctx)
            if ref is _FAILED:
                continue
            self.writes.append(f"delete {pid}")
            if ref is None:
                del self.links[pid]
            else:
                self.links[pid] = Link(pid, ref, link.payload, archived=True)


_FAILED = object()
