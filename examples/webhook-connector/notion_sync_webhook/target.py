"""The webhook emulator as an ``EmulatedTarget``: for ``notion-sync demo`` and the conformance suite."""

from __future__ import annotations

from notion_sync.sdk import EmulatedTarget, OperationKind

from .emulator import WebhookEmulator

__all__ = ["WebhookTarget"]


class WebhookTarget(EmulatedTarget):
    """The emulator running, with settings pointing at it (for the demo and the conformance suite)."""

    emulator: WebhookEmulator

    def __init__(self) -> None:
        self.emulator = WebhookEmulator().start()
        self.service_settings = {"url": self.emulator.url, "token_env": "NOTION_SYNC_DEMO_WEBHOOK_TOKEN"}
        self.mapping = {
            "fields": {"title": "{Name}", "body": "{Notes}", "date": "Due", "properties": ["Status", "Tags"]}
        }
        self.env = {"NOTION_SYNC_DEMO_WEBHOOK_TOKEN": self.emulator.token or ""}

    def write_request(self, kind: OperationKind) -> tuple[str | None, str] | None:
        """An item is created by a POST to the collection and replaced by a PUT to its URL."""
        return ("POST", r"^/hooks/notion$") if kind == "create" else ("PUT", r"^/hooks/notion/[^/]+$")

    def items(self) -> dict[str, str]:
        return {i["page_id"]: i["title"] for i in self.emulator.items.values()}

    def item_count(self) -> int:
        return len(self.emulator.items)

    def close(self) -> None:
        self.emulator.stop()
