"""The reference strategy most sync scripts follow: every run, read every row and write every item.

``naive_run`` does exactly that with the project's own pieces, so the comparison is about the
strategy, not the clients: the same ``NotionSource`` (same pacing), the same connector (same
pacing, and Google's batching, which is generous to the naive side), and the item ids the engine
recorded in the state file (a script has to remember them somehow). What it leaves out is what the
engine adds: the incremental read, the payload hash that skips unchanged items, and deletes.
The state file is only read, never written.
"""

from __future__ import annotations

from typing import Any

from benchmarks.harness import Bench
from notion_sync.core.adapter import CreateOperation, DesiredItem, MappingContext, Operation, UpdateOperation
from notion_sync.core.engine import notion_token
from notion_sync.core.errors import ItemError, SkipItem
from notion_sync.core.rows import Row
from notion_sync.core.state import StateStore

__all__ = ["naive_run"]


def naive_run(bench: Bench, target: str) -> dict[str, int]:
    """Full scan, then one write per row (update where the state has an item, create otherwise).

    Returns the writes that succeeded and failed."""
    config = bench.config()
    m = config.mapping(bench.mapping(target))
    cls = config.discovery.connectors[target]
    connector = cls(config.services[target])
    n = config.notion
    source = bench.notion_source(
        notion_token(config), base_url=n.base_url, timeout=n.timeout, requests_per_second=n.requests_per_second
    )
    state = StateStore.open(config.state_path, readonly=True)
    done = {"ok": 0, "failed": 0}
    try:
        ds = source.resolve(m.config.database, m.config.data_source, mapping=m.name)
        ctx: MappingContext[Any] = MappingContext(
            m.name, m.settings, m.on_delete, m.config.database_id, ds.id, source.schema(ds.id)
        )
        connector.prepare(ctx)
        size = max(1, connector.batch_size)
        for pages in source.pages(ds.id, filter=m.config.filter):
            rows = [Row.from_page(p) for p in pages]
            links = state.get_links(m.name, [r.id for r in rows])
            ops: list[Operation] = []
            for row in rows:
                try:
                    payload = connector.render(row, ctx)
                except (SkipItem, ItemError):
                    continue
                item = DesiredItem(m.name, row.id, row.url, row.title, payload)
                stored = links.get(row.id)
                ops.append(UpdateOperation(row.id, item, stored.link) if stored else CreateOperation(row.id, item))
            for start in range(0, len(ops), size):
                for result in connector.apply(ops[start : start + size], ctx):
                    done["ok" if result.error is None else "failed"] += 1
    finally:
        state.close()
        source.close()
        connector.close()
    return done
