"""``notion-sync audit``: least privilege. What the token can reach, and what the config uses.

Everything the integration can reach is listed with ``POST /v1/search``; the databases
the mappings use are marked, and the rest are the ones to remove the integration from
(••• → Connections). It also lists the capabilities the mappings need.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from notion_sync.core.config import Config
from notion_sync.core.engine import notion_token
from notion_sync.core.errors import NotionSyncError
from notion_sync.core.notion_source import NotionSource

__all__ = ["AuditItem", "AuditReport", "run_audit"]

CAPABILITY_NAMES = {
    "read_content": "Read content",
    "update_content": "Update content",
    "read_user_email": "Read user information including email addresses",
}


@dataclass(frozen=True)
class AuditItem:
    """One object the token can reach."""

    object: str
    id: str
    title: str
    url: str
    used_by: tuple[str, ...]


@dataclass
class AuditReport:
    bot: str
    workspace: str
    items: list[AuditItem] = field(default_factory=list)
    capabilities: dict[str, list[str]] = field(default_factory=dict)
    problems: list[str] = field(default_factory=list)

    @property
    def unused(self) -> list[AuditItem]:
        return [i for i in self.items if not i.used_by]

    def as_json(self) -> dict[str, Any]:
        return {
            "bot": self.bot,
            "workspace": self.workspace,
            "reachable": [i.__dict__ | {"used_by": list(i.used_by)} for i in self.items],
            "unused": [i.id for i in self.unused],
            "capabilities_needed": {CAPABILITY_NAMES.get(k, k): v for k, v in self.capabilities.items()},
            "problems": self.problems,
        }


def _title(obj: dict[str, Any]) -> str:
    title = obj.get("title")
    if isinstance(title, list):
        return "".join(t.get("plain_text", "") for t in title)
    for prop in (obj.get("properties") or {}).values():
        if isinstance(prop, dict) and prop.get("type") == "title":
            return "".join(t.get("plain_text", "") for t in prop.get("title", []))
    return ""


def run_audit(config: Config) -> AuditReport:
    token = notion_token(config)
    n = config.notion
    source = NotionSource(token, base_url=n.base_url, timeout=n.timeout, requests_per_second=n.requests_per_second)
    try:
        me = source.me()
        report = AuditReport(source.bot_name, (me.get("bot") or {}).get("workspace_name") or "?")
        used: dict[str, list[str]] = {}
        for m in config.mappings:
            used.setdefault(m.config.database_id, []).append(m.name)
            try:
                ds = source.resolve(m.config.database, m.config.data_source, mapping=m.name)
                used.setdefault(ds.id, []).append(m.name)
            except NotionSyncError as exc:
                report.problems.append(f"{m.name}: {exc}")
            caps = m.connector.notion_capabilities(m.settings) | ({"update_content"} if m.config.write_back else set())
            for cap in sorted(caps | {"read_content"}):
                report.capabilities.setdefault(cap, []).append(m.name)
        for obj in source.search_all():
            kind = obj.get("object", "")
            oid = obj.get("id", "")
            parent = obj.get("parent") or {}
            owner = parent.get("database_id") or parent.get("data_source_id")
            users = tuple(dict.fromkeys(used.get(oid, []) + (used.get(owner, []) if owner else [])))
            report.items.append(AuditItem(kind, oid, _title(obj), obj.get("url", ""), users))
        return report
    finally:
        source.close()
