"""``notion-sync check``: every check a user needs before the first run, read-only.

Exit 0 only if everything passes; 3 for access problems; 2 for config problems; 4 when
only the state file is unusable.
"""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from rich.table import Table
from rich.text import Text

from notion_sync.core.adapter import CheckResult, MappingContext
from notion_sync.core.config import Config, ResolvedMapping, load_config
from notion_sync.core.engine import notion_token
from notion_sync.core.errors import (
    EXIT_ACCESS,
    EXIT_CONFIG,
    EXIT_OK,
    EXIT_STATE,
    AccessError,
    ConfigError,
    NotionSyncError,
    StateError,
)
from notion_sync.core.fields import property_uses
from notion_sync.core.notion_source import NotionSource, check_property_uses
from notion_sync.core.output import Output
from notion_sync.core.plugins import Discovery
from notion_sync.core.secrets import REDACTOR
from notion_sync.core.state import StateStore

__all__ = ["run_checks"]

STATE_CHECK = "state file"


def _write_back_check(label: str, m: ResolvedMapping, schema: dict[str, Any]) -> CheckResult:
    """The mapping's write-back against the schema, and the capability it needs."""
    problems = m.connector.write_back_problems(m.settings, m.config.write_back, schema)
    if problems:
        return CheckResult(
            f"{label}: write-back",
            False,
            "; ".join(f"{p.key}: {p.reason}" for p in problems),
            access=False,
        )
    return CheckResult(
        f"{label}: write-back",
        True,
        f"{', '.join(m.config.write_back)} flow back to Notion (conflict = {m.config.conflict!r}). Needs the "
        "integration's Update content capability, which the API cannot show without writing: enable Update "
        "content on the integration's page (notion.so/my-integrations → Capabilities); without it the first "
        "write-back stops with a 403 and the one-way sync goes on",
    )


def _token_age(cfg: Config, fingerprint: str) -> CheckResult:
    if not cfg.state.on_postgres and not cfg.state_path.exists():
        return CheckResult("Notion token age", True, "not recorded yet: the first run records it")
    try:
        state = StateStore.open(cfg.state_location, readonly=True)
        try:
            first = state.token_first_seen("notion", fingerprint, record=False)
        finally:
            state.close()
    except StateError as exc:
        return CheckResult(STATE_CHECK, False, str(exc), access=False)
    age = (datetime.now(UTC) - first).days
    limit = cfg.notion.rotate_after_days
    if age >= limit:
        return CheckResult(
            "Notion token age",
            False,
            f"first seen {age} days ago (rotate_after_days = {limit})",
            "regenerate it on the integration's page, then `notion-sync token rotate`",
            access=False,
        )
    return CheckResult("Notion token age", True, f"first seen {age} day(s) ago; rotate after {limit}")


def _collect(config_file: Path | None, discovery: Discovery | None) -> list[CheckResult]:
    results: list[CheckResult] = []
    try:
        cfg = load_config(config_file, discovery=discovery)
    except ConfigError as exc:
        return [CheckResult("config", False, str(exc), access=False)]
    results.append(CheckResult("config", True, f"{cfg.path}: {len(cfg.mappings)} mapping(s)"))
    try:
        token = notion_token(cfg)
    except ConfigError as exc:
        return [*results, CheckResult("Notion token", False, str(exc), access=False)]
    source = NotionSource(
        token,
        base_url=cfg.notion.base_url,
        timeout=cfg.notion.timeout,
        requests_per_second=cfg.notion.requests_per_second,
    )
    try:
        try:
            me = source.me()
        except NotionSyncError as exc:
            return [*results, CheckResult("Notion token", False, f"{token.fingerprint}: {exc}")]
        workspace = (me.get("bot") or {}).get("workspace_name") or "?"
        results.append(
            CheckResult(
                "Notion token", True, f'{token.fingerprint}: integration "{source.bot_name}" in workspace {workspace!r}'
            )
        )
        results.append(_token_age(cfg, token.fingerprint))
        connectors: dict[str, Any] = {}
        for m in cfg.mappings:
            label = f"mapping {m.name}"
            try:
                ds = source.resolve(m.config.database, m.config.data_source, mapping=m.name)
                full_schema = source.schema(ds.id)
                schema = {n: p.get("type", "") for n, p in full_schema.items()}
            except (ConfigError, AccessError) as exc:
                results.append(CheckResult(f"{label}: database", False, str(exc), access=isinstance(exc, AccessError)))
                continue
            except NotionSyncError as exc:
                results.append(CheckResult(f"{label}: database", False, str(exc)))
                continue
            results.append(CheckResult(f"{label}: database", True, f"data source {ds.name!r} ({ds.id})"))
            if m.config.filter:
                try:
                    source.check_filter(ds.id, m.config.filter)
                    results.append(CheckResult(f"{label}: filter", True, "Notion accepts it"))
                except NotionSyncError as exc:
                    results.append(
                        CheckResult(f"{label}: filter", False, str(exc), access=not isinstance(exc, ConfigError))
                    )
            problems = check_property_uses(m.name, property_uses(m.settings), schema)
            results.append(
                CheckResult(
                    f"{label}: properties",
                    not problems,
                    "; ".join(str(p) for p in problems) or "every mapped property exists",
                    access=False,
                )
            )
            cls = m.connector
            if m.config.write_back:
                results.append(_write_back_check(label, m, full_schema))
            if m.config.connector not in connectors:
                connectors[m.config.connector] = cls(cfg.services[m.config.connector])
            ctx: MappingContext[Any] = MappingContext(m.name, m.settings, m.on_delete, ds.database_id, ds.id)
            try:
                checks = connectors[m.config.connector].check(ctx)
            except NotionSyncError as exc:
                checks = [CheckResult(m.config.connector, False, str(exc), access=not isinstance(exc, ConfigError))]
            results.extend(CheckResult(f"{label}: {c.name}", c.ok, c.detail, c.fix, c.access) for c in checks)
        for c in connectors.values():
            c.close()
    finally:
        source.close()
    return results


def run_checks(config_file: Path | None, out: Output, *, discovery: Discovery | None = None) -> int:
    """Run every check of ``notion-sync check`` and show them; returns the exit code.
    ``discovery``: the connectors to use (by default the installed ones)."""
    results = _collect(config_file, discovery)
    if out.fmt == "json":
        for r in results:
            out.json({"check": r.name, "ok": r.ok, "detail": r.detail, "fix": r.fix or None})
    else:
        table = Table("", "check", "result")
        for r in results:
            detail = r.detail + (f"\n→ {r.fix}" if r.fix and not r.ok else "")
            # Text, not markup: "[<connector>]" in a message is a config section, not a style
            table.add_row("✓" if r.ok else "✗", Text(r.name), Text(REDACTOR.redact(detail)))
        out.show(table)
    failed = [r for r in results if not r.ok]
    if not failed:
        return EXIT_OK
    if any(r.access for r in failed):
        return EXIT_ACCESS
    return EXIT_STATE if all(r.name == STATE_CHECK for r in failed) else EXIT_CONFIG
