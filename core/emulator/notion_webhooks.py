"""The Notion emulator's integration webhooks: a subscription, and signed deliveries as Notion makes them.

``emu.webhooks.subscribe(url, event_types=None)`` creates a subscription: the emulator POSTs the
handshake ``{"verification_token": "secret_…"}`` to ``url`` at once, as Notion does; events are
delivered once it is verified (``verify=True`` stands for the operator pasting the token into
Notion's Verify dialog, ``subscription.verify(token)`` does it later). Each change to a row
(created, properties updated, trashed, restored, moved) and each schema change of a data source
becomes an event shaped as Notion documents it: ``id``, ``timestamp``, ``workspace_id``,
``workspace_name``, ``subscription_id``, ``integration_id``, ``type``, ``authors``,
``accessible_by``, ``attempt_number``, ``api_version``, ``entity`` and ``data`` (``data.parent``
with ``data_source_id``; ``updated_properties`` for property and schema updates).

Like Notion:

* events are aggregated per entity within ``aggregate_window`` seconds: many edits of one row
  become one ``page.properties_updated`` (their property ids merged); a create followed by
  edits stays one ``page.created``; a create followed by a trash gives no event at all;
* every delivery carries ``X-Notion-Signature: sha256=<HMAC-SHA256 of the body, keyed with the
  verification token>``;
* a non-2xx answer (or no answer) is retried with backoff (``retry_delays``), ``attempt_number``
  counting up to 8, then given up;
* events that are due together are sent in a shuffled order: delivery is unordered.

``deliveries`` logs every attempt (event id, type, attempt, status) for tests.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import random
import secrets
import threading
import time
import uuid
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

import httpx

__all__ = ["DEFAULT_RETRY_DELAYS", "Subscription", "WebhookDelivery"]

DEFAULT_RETRY_DELAYS = (0.2, 0.5, 1.0, 2.0, 4.0, 8.0, 16.0)
"""Seconds before attempts 2 to 8 (Notion spreads its eight attempts over about a day)."""
API_VERSION = "2025-09-03"


@dataclass
class Subscription:
    """One webhook subscription of the integration."""

    id: str
    url: str
    verification_token: str
    event_types: frozenset[str] | None
    """None: every type."""
    verified: bool = False

    def verify(self, token: str) -> None:
        """What the operator does in Notion's Verify dialog: paste the token back."""
        if not hmac.compare_digest(token, self.verification_token):
            raise ValueError("that is not the subscription's verification token")
        self.verified = True

    def wants(self, event_type: str) -> bool:
        return self.event_types is None or event_type in self.event_types


@dataclass
class _Pending:
    """An event waiting for its aggregation window to close, or for its next attempt."""

    body: dict[str, Any]
    due: float
    attempt: int = 1
    updated: set[str] = field(default_factory=set)


class WebhookDelivery:
    """The webhook side of one Notion emulator: subscriptions, aggregation and delivery."""

    def __init__(
        self,
        now: Callable[[], datetime],
        identity: Callable[[], dict[str, str]],
        *,
        aggregate_window: float = 0.3,
        retry_delays: Iterable[float] = DEFAULT_RETRY_DELAYS,
        seed: int = 0,
    ) -> None:
        self._now = now
        self._identity = identity
        self.aggregate_window = aggregate_window
        """Seconds within which events of one entity are merged into one."""
        self.retry_delays = tuple(retry_delays)
        self._rng = random.Random(seed)
        self._lock = threading.Condition()
        self.subscriptions: dict[str, Subscription] = {}
        self._pending: dict[str, _Pending] = {}
        """Keyed by subscription id and entity id while aggregating, by event id when retrying."""
        self.deliveries: list[dict[str, Any]] = []
        self._thread: threading.Thread | None = None
        self._stopping = False

    # -- subscriptions --------------------------------------------------------
    def subscribe(self, url: str, event_types: Iterable[str] | None = None, *, verify: bool = True) -> Subscription:
        """Create a subscription: POST the handshake to ``url`` now; with ``verify`` the operator
        has pasted the token back (events flow at once)."""
        sub = Subscription(
            str(uuid.UUID(int=self._rng.getrandbits(128), version=4)),
            url,
            "secret_" + secrets.token_urlsafe(32),
            frozenset(event_types) if event_types is not None else None,
        )
        with self._lock:
            self.subscriptions[sub.id] = sub
        self.resend_token(sub.id)
        if verify:
            sub.verify(sub.verification_token)
        self._ensure_thread()
        return sub

    def resend_token(self, subscription_id: str) -> int | None:
        """Notion's "Resend token": POST the handshake again; returns the status (None: no answer)."""
        sub = self.subscriptions[subscription_id]
        body = json.dumps({"verification_token": sub.verification_token}).encode()
        try:
            status = httpx.post(sub.url, content=body, headers={"Content-Type": "application/json"}).status_code
        except httpx.HTTPError:
            status = None
        with self._lock:
            self.deliveries.append({"event_id": None, "type": "handshake", "attempt": 1, "status": status})
        return status

    def unsubscribe(self, subscription_id: str) -> None:
        with self._lock:
            self.subscriptions.pop(subscription_id, None)
            for key in [k for k, p in self._pending.items() if p.body["subscription_id"] == subscription_id]:
                del self._pending[key]

    def clear(self) -> None:
        """Forget every subscription, pending event and delivery (the emulator's reset)."""
        with self._lock:
            self.subscriptions.clear()
            self._pending.clear()
            self.deliveries.clear()

    def close(self) -> None:
        with self._lock:
            self._stopping = True
            self._lock.notify_all()
        if self._thread is not None:
            self._thread.join(5)
            self._thread = None

    def idle(self) -> bool:
        """Whether nothing waits to be delivered."""
        with self._lock:
            return not self._pending

    # -- events ---------------------------------------------------------------
    def emit(
        self,
        event_type: str,
        entity_id: str,
        entity_type: str,
        author: tuple[str, str],
        *,
        parent: dict[str, Any] | None = None,
        updated_properties: Iterable[Any] = (),
    ) -> None:
        """A change in the emulator's content: queue its event for every subscription that wants it."""
        with self._lock:
            subs = [s for s in self.subscriptions.values() if s.verified]
            if not subs:
                return
            ident = self._identity()
            for sub in subs:
                key = f"{sub.id}:{entity_id}"
                current = self._pending.get(key)
                updated = {json.dumps(u, sort_keys=True) for u in updated_properties}
                if current is not None:
                    merged = _aggregate(current.body["type"], event_type)
                    if merged is None:
                        del self._pending[key]
                        continue
                    current.body["type"] = merged
                    current.updated |= updated
                    if author[0] not in {a["id"] for a in current.body["authors"]}:
                        current.body["authors"].append({"id": author[0], "type": author[1]})
                    if parent is not None:
                        current.body["data"]["parent"] = parent
                    current.body["timestamp"] = self._now().isoformat().replace("+00:00", "Z")
                    continue
                if not sub.wants(event_type):
                    continue
                body: dict[str, Any] = {
                    "id": str(uuid.UUID(int=self._rng.getrandbits(128), version=4)),
                    "timestamp": self._now().isoformat().replace("+00:00", "Z"),
                    "workspace_id": ident["workspace_id"],
                    "workspace_name": ident["workspace_name"],
                    "subscription_id": sub.id,
                    "integration_id": ident["integration_id"],
                    "type": event_type,
                    "authors": [{"id": author[0], "type": author[1]}],
                    "accessible_by": [{"id": ident["bot_id"], "type": "bot"}],
                    "attempt_number": 1,
                    "api_version": API_VERSION,
                    "entity": {"id": entity_id, "type": entity_type},
                    "data": {"parent": parent} if parent is not None else {},
                }
                self._pending[key] = _Pending(body, time.monotonic() + self.aggregate_window, updated=updated)
            self._lock.notify_all()
        self._ensure_thread()

    # -- delivery -------------------------------------------------------------
    def _ensure_thread(self) -> None:
        with self._lock:
            if self._thread is None or not self._thread.is_alive():
                self._stopping = False
                self._thread = threading.Thread(target=self._deliver_loop, name="notion-webhooks", daemon=True)
                self._thread.start()

    def _deliver_loop(self) -> None:
        with httpx.Client(timeout=5.0) as client:
            self._deliver_with(client)

    def _deliver_with(self, client: httpx.Client) -> None:
        while True:
            with self._lock:
                if self._stopping:
                    return
                now = time.monotonic()
                due = [(k, p) for k, p in self._pending.items() if p.due <= now]
                if not due:
                    wait = min((p.due for p in self._pending.values()), default=now + 0.5) - now
                    self._lock.wait(max(0.01, min(wait, 0.5)))
                    continue
                for key, _p in due:
                    del self._pending[key]
                self._rng.shuffle(due)
            for _key, pending in due:
                self._send(client, pending)

    def _send(self, client: httpx.Client, pending: _Pending) -> None:
        body = pending.body
        sub = self.subscriptions.get(body["subscription_id"])
        if sub is None:
            return
        body["attempt_number"] = pending.attempt
        if body["type"] in ("page.properties_updated", "data_source.schema_updated"):
            body["data"]["updated_properties"] = [json.loads(u) for u in sorted(pending.updated)]
        raw = json.dumps(body).encode()
        signature = "sha256=" + hmac.new(sub.verification_token.encode(), raw, hashlib.sha256).hexdigest()
        try:
            status: int | None = client.post(
                sub.url,
                content=raw,
                headers={"Content-Type": "application/json", "X-Notion-Signature": signature},
            ).status_code
        except httpx.HTTPError:
            status = None
        with self._lock:
            self.deliveries.append(
                {"event_id": body["id"], "type": body["type"], "attempt": pending.attempt, "status": status}
            )
            ok = status is not None and 200 <= status < 300
            if not ok and pending.attempt <= len(self.retry_delays) and not self._stopping:
                delay = self.retry_delays[pending.attempt - 1]
                retry = _Pending(dict(body), time.monotonic() + delay, pending.attempt + 1, pending.updated)
                self._pending[f"retry:{body['id']}"] = retry
                self._lock.notify_all()


def _aggregate(first: str, then: str) -> str | None:
    """The type of two events of one entity merged in one window (None: no event at all)."""
    if first.endswith(".created") and then.endswith(".deleted"):
        return None
    if first.endswith(".created"):
        return first
    return then
