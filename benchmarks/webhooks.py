"""``python -m benchmarks.webhooks``: ``notion-sync serve`` against the emulators at their realistic latency.

* **Latency**: a row edited in the Notion emulator, which delivers the signed event after its
  aggregation window (0.3 s), until Google Calendar and Trello both show the edit; p50 and p95
  over ``--samples`` edits, one at a time, with ``debounce = "2s"`` (the default). The goal is
  p95 ≤ debounce + 1.5 s.
* **Burst**: 500 signed events (5 per page, shuffled) for 100 edited pages, two mappings on the
  data source: the Notion requests serve makes, the syncs, and duplicate writes (must be 0).

Self-contained: a ``Sandbox``, the latencies of ``benchmarks.limits``, and ``Serving`` in a thread.
"""

from __future__ import annotations

import argparse
import json
import random
import statistics
import tempfile
import threading
import time
import uuid
from pathlib import Path
from typing import Any

import httpx

from benchmarks.limits import LATENCY
from notion_sync.core.plugins import discover
from notion_sync.core.sandbox import Sandbox
from notion_sync.core.serve import Serving
from notion_sync.core.testing.servers import free_port
from notion_sync.core.webhook_events import sign

__all__ = ["main", "measure"]

TARGETS = ("google_calendar", "trello")
ROWS = 100


def _wait(check: Any, timeout: float = 120.0) -> None:
    deadline = time.monotonic() + timeout
    while not check():
        if time.monotonic() > deadline:
            raise RuntimeError("the benchmark gave up waiting")
        time.sleep(0.01)


def _notion_requests(box: Sandbox) -> int:
    return sum(n for key, n in box.notion.requests.items() if "/v1/" in key)


def measure(samples: int = 20, debounce: str = "2s") -> dict[str, Any]:
    """Run both scenarios; returns their numbers."""
    found = discover().load_all()
    rows = [{"Name": f"Task {i:03}", "Status": "Not started", "Due": "2026-12-10"} for i in range(ROWS)]
    with (
        tempfile.TemporaryDirectory(prefix="bench-webhooks-") as tmp,
        Sandbox(Path(tmp), connectors={t: found[t] for t in TARGETS}, rows=rows) as box,
    ):
        assert box.database is not None
        for service, server in [("notion", box.notion.server)] + [
            (n, t.emulator.server) for n, t in box.targets.items()
        ]:
            lo, hi = LATENCY[service]
            server.faults.latency, server.faults.latency_jitter = lo, hi - lo
        data = box.config_data()
        data["serve"] = {
            "port": free_port(),
            "verification_token_file": str(Path(tmp) / "webhook-token"),
            "debounce": debounce,
            "reconcile_interval": "1h",
        }
        box.write_config(data)
        box.run()
        serving = Serving(box.config())
        thread = threading.Thread(target=serving.run, daemon=True)
        thread.start()
        _wait(lambda: serving.server.started)
        sub = box.notion.subscribe_webhook(serving.url)
        pages = box.notion.page_ids(box.database.data_source_id)
        rng = random.Random(7)

        latencies = []
        for n in range(samples):
            page = rng.choice(pages)
            text = f"Edited {n}"
            started = time.monotonic()
            box.notion.update_page(page, {"Name": text})
            _wait(lambda p=page, t=text: all(t in target.items().get(p, "") for target in box.targets.values()))
            latencies.append(time.monotonic() - started)
        box.notion.webhooks.unsubscribe(sub.id)

        for i, page in enumerate(pages):
            box.notion.update_page(page, {"Name": f"Burst {i}"})
        events = []
        for page in pages:
            for _ in range(5):
                events.append(
                    {
                        "id": str(uuid.uuid4()),
                        "timestamp": "2026-12-01T12:00:00.000Z",
                        "type": "page.properties_updated",
                        "authors": [{"id": box.notion.owner_id, "type": "person"}],
                        "entity": {"id": page, "type": "page"},
                        "data": {
                            "parent": {
                                "id": box.database.database_id,
                                "type": "database",
                                "data_source_id": box.database.data_source_id,
                            },
                            "updated_properties": ["title"],
                        },
                    }
                )
        rng.shuffle(events)
        syncs_before = _samples(serving, "notion_sync_syncs_total")
        writes_before = _samples(serving, "notion_sync_writes_total")
        requests_before = _notion_requests(box)
        started = time.monotonic()
        with httpx.Client() as client:
            for e in events:
                raw = json.dumps(e).encode()
                client.post(serving.url, content=raw, headers={"X-Notion-Signature": sign(sub.verification_token, raw)})
        sent = time.monotonic() - started
        _wait(
            lambda: all(
                all(f"Burst {i}" in t.items().get(p, "") for i, p in enumerate(pages)) for t in box.targets.values()
            )
        )
        burst_wall = time.monotonic() - started
        time.sleep(float(debounce.rstrip("s")) + 0.5)  # nothing more is coming: every window is done
        syncs = _samples(serving, "notion_sync_syncs_total") - syncs_before
        writes = _samples(serving, "notion_sync_writes_total") - writes_before
        requests = _notion_requests(box) - requests_before
        duplicates = sum(t.item_count() - len(t.items()) for t in box.targets.values())
        serving.stop()
        thread.join(15)
    latencies.sort()
    return {
        "debounce": debounce,
        "samples": samples,
        "p50": statistics.median(latencies),
        "p95": latencies[max(0, round(0.95 * len(latencies)) - 1)],
        "max": latencies[-1],
        "burst": {
            "events": len(events),
            "pages": len(pages),
            "mappings": len(TARGETS),
            "send_seconds": round(sent, 2),
            "all_written_seconds": round(burst_wall, 2),
            "syncs": syncs,
            "windows": syncs / len(TARGETS),
            "notion_requests": requests,
            "writes": writes,
            "duplicate_items": duplicates,
        },
    }


def _samples(serving: Serving, name: str) -> int:
    return int(sum(s.value for metric in serving.metrics.registry.collect() for s in metric.samples if s.name == name))


def table(result: dict[str, Any]) -> str:
    """The Markdown of docs/performance.md's Webhooks section (without its heading)."""
    b = result["burst"]
    goal = float(str(result["debounce"]).rstrip("s")) + 1.5
    verdict = "**pass**" if result["p95"] <= goal else "**miss**"
    return "\n".join(
        [
            f"| event-to-write, debounce {result['debounce']} | p50 | p95 | max | goal p95 ≤ {goal:g} s |",
            "|---|---|---|---|---|",
            f"| edit in Notion → Google Calendar and Trello show it ({result['samples']} edits) | "
            f"{result['p50']:.2f} s | {result['p95']:.2f} s | {result['max']:.2f} s | {verdict} |",
            "",
            "| burst | events | pages | mappings | syncs | Notion requests | writes | duplicate items |",
            "|---|---|---|---|---|---|---|---|",
            f"| 500 events in {b['send_seconds']} s, all written after {b['all_written_seconds']} s | {b['events']} | "
            f"{b['pages']} | {b['mappings']} | {b['syncs']} | {b['notion_requests']} | {b['writes']} | "
            f"{b['duplicate_items']} |",
        ]
    )


def print_table(result: dict[str, Any]) -> None:
    """Print :func:`table`."""
    print(table(result))


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m benchmarks.webhooks", description=__doc__)
    parser.add_argument("--samples", type=int, default=20, help="edits timed one at a time (default 20)")
    parser.add_argument("--json", type=Path, help="also write the numbers as JSON to this file")
    args = parser.parse_args(argv)
    result = measure(args.samples)
    print_table(result)
    if args.json:
        args.json.write_text(json.dumps(result, indent=2))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
