"""``notion-sync history`` and ``notion-sync retry``: what runs did, from the state file."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from rich.table import Table
from rich.text import Text

from notion_sync.core.config import Config, parse_duration
from notion_sync.core.errors import ConfigError
from notion_sync.core.output import Output
from notion_sync.core.rows import row_label
from notion_sync.core.state import StateStore

__all__ = ["parse_since", "show_history", "requeue_parked"]


def parse_since(value: str, now: datetime | None = None) -> datetime:
    """``"2d"``, ``"6h"`` (that long ago) or an ISO date/time."""
    now = now or datetime.now(UTC)
    try:
        return now - timedelta(seconds=parse_duration(value))
    except ValueError:
        pass
    try:
        when = datetime.fromisoformat(value)
    except ValueError:
        raise ConfigError(
            f"--since {value!r}: give a duration such as 2d or 6h, or a date such as 2026-11-01"
        ) from None
    return when if when.tzinfo else when.replace(tzinfo=UTC)


def show_history(
    config: Config, out: Output, *, mapping: str | None, since: str | None, failed: bool, limit: int
) -> int:
    if mapping:
        config.mapping(mapping)
    if not config.state.on_postgres and not config.state_path.exists():
        out.line(f"no runs yet: {config.state_path} does not exist")
        return 0
    state = StateStore.open(config.state_location, readonly=True)
    try:
        if failed:
            rows = [r for r in state.failures(mapping)]
            if out.fmt == "json":
                for r in rows:
                    out.json(
                        {
                            "mapping": r["mapping"],
                            "page_id": r["page_id"],
                            "title": r["title"],
                            "attempts": r["attempts"],
                            "parked": bool(r["parked"]),
                            "last_at": r["last_at"],
                            "error": r["last_error"],
                        }
                    )
                return 0
            table = Table("mapping", "row", "attempts", "state", "last try", "error", title="failed items")
            for r in rows:
                table.add_row(
                    r["mapping"],
                    Text(row_label(r["title"] or "", r["page_id"])),
                    str(r["attempts"]),
                    "parked (notion-sync retry)" if r["parked"] else "retrying",
                    r["last_at"],
                    Text(r["last_error"] or ""),
                )
            out.show(table if rows else "no failed items")
            return 0
        rows = state.history(mapping, limit, since=parse_since(since) if since else None)
        if out.fmt == "json":
            for r in rows:
                out.json({k: r[k] for k in r.keys()})
            return 0
        table = Table("when", "mapping", "action", "row", "item", "token", "error / change")
        for r in reversed(rows):
            table.add_row(
                r["at"],
                r["mapping"],
                r["action"],
                Text(row_label(r["title"] or "", r["page_id"])),
                r["external_id"] or "",
                r["token_fingerprint"] or "",
                Text(r["error"] or (r["detail"] if "detail" in r.keys() else None) or ""),
            )
        out.show(table if rows else "nothing recorded for that selection")
        return 0
    finally:
        state.close()


def requeue_parked(config: Config, out: Output, mapping: str | None) -> int:
    if mapping:
        config.mapping(mapping)
    state = StateStore.open(config.state_location)
    try:
        count = state.requeue(mapping)
    finally:
        state.close()
    out.line(f"re-queued {count} parked item(s); the next run tries them again")
    return 0
