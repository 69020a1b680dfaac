"""The engine alone: N rows through the real engine and state file, with no HTTP at all.

Notion is replaced by ``GeneratedSource``, which makes the pages of the API reply on the fly (a
real page from the Notion emulator is the template, so ``Row.from_page`` parses Notion's exact
shape) and streams them 100 at a time as ``NotionSource.pages`` does; the target is
``MemoryConnector``, which renders three fields and keeps nothing. Everything else is the
production code path: ``Engine.run`` with its lock, state file, planner and cursors.

Each measurement runs in a fresh process (``python -m benchmarks.engine_alone N PHASE STATE``),
so its peak RSS is its own: ``fill`` is the first run (N creates), ``plan`` a full scan of the
same N rows against that state (nothing changed: all planning, no writes; the render memo vouches
for every row), ``render-all`` the same full scan with every row rendered (``--render-all``).
"""

from __future__ import annotations

import json
import os
import resource
import sys
import time
from collections.abc import Iterator, Sequence
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import tomli_w

from notion_sync.core.adapter import (
    Connector,
    DesiredItem,
    ExternalRef,
    Link,
    MappingContext,
    MappingSettings,
    ServiceSettings,
)
from notion_sync.core.config import Config
from notion_sync.core.fields import PropertyRef, Template
from notion_sync.core.notion_source import DataSource
from notion_sync.core.rows import Row
from notion_sync.core.templates import render_template

__all__ = ["GeneratedSource", "MemoryConnector", "bench_config", "measure_engine"]

TOKEN_ENV = "NOTION_SYNC_BENCH_TOKEN"
DATABASE = "8a1c2b3d4e5f40718293a4b5c6d7e8f9"
T0 = datetime(2026, 1, 1, tzinfo=UTC)


class MemoryFields(MappingSettings):
    title: Template = "{Name}"
    notes: Template = "{Notes} ({Status})"
    due: PropertyRef(("date",)) = "Due"  # type: ignore[valid-type]


class MemoryMapping(MappingSettings):
    fields: MemoryFields = MemoryFields()


class MemorySettings(ServiceSettings):
    pass


class MemoryConnector(Connector[MemorySettings, MemoryMapping]):
    """A target in memory that keeps nothing: writes cost the engine's bookkeeping only."""

    name = "memory"
    Settings = MemorySettings
    MappingSettings = MemoryMapping
    batch_size = 100
    render_is_pure = True

    def render(self, row: Row, mapping: MappingContext[MemoryMapping]) -> dict[str, Any]:
        f = mapping.settings.fields
        due = row.get(f.due)
        return {
            "title": render_template(f.title, row),
            "notes": render_template(f.notes, row),
            "due": due.text if due else None,
        }

    def create(self, item: DesiredItem, mapping: MappingContext[MemoryMapping]) -> ExternalRef:
        return ExternalRef("m" + item.page_id.replace("-", "")[:24])

    def update(self, link: Link, item: DesiredItem, mapping: MappingContext[MemoryMapping]) -> ExternalRef:
        return link.ref

    def delete(self, link: Link, mode: str, mapping: MappingContext[MemoryMapping]) -> ExternalRef | None:
        return None

    def recover(self, items: Sequence[DesiredItem], mapping: MappingContext[MemoryMapping]) -> dict[str, ExternalRef]:
        return {}


def _template() -> tuple[str, dict[str, Any]]:
    """A page as the Notion API returns it (from the emulator, no server needed), with placeholders."""
    from benchmarks.harness import make_rows
    from notion_sync.core.demo_data import DEMO_SCHEMA
    from notion_sync.core.emulator.notion import NotionEmulator

    emu = NotionEmulator(token="ntn_bench")
    db = emu.create_database("Bench", DEMO_SCHEMA)
    ds = db.data_sources[0].id
    row = make_rows(2)[1]
    row["Name"] = "@@NAME@@"
    pid = emu.add_page(ds, row)
    text = json.dumps(emu.page_json(pid)).replace(pid, "@@ID@@").replace(pid.replace("-", ""), "@@HEX@@")
    return text, emu.schema(ds)


class GeneratedSource:
    """Stands in for ``NotionSource``: the same methods the engine calls, pages made on the fly."""

    rows = 0
    requests = 0
    making_cpu = 0.0
    """CPU spent making pages (what JSON decoding costs a real client), counted apart."""

    def __init__(self, *_: Any, **__: Any) -> None:
        self.template, self._schema = _template()

    def close(self) -> None:
        pass

    def resolve(self, database: str, data_source: str | None, *, mapping: str) -> DataSource:
        return DataSource("0a1b2c3d-0000-4000-8000-000000000001", "Bench", DATABASE)

    def schema(self, data_source_id: str) -> dict[str, Any]:
        return self._schema

    def page(self, i: int) -> dict[str, Any]:
        hexid = f"{i:032x}"
        dashed = f"{hexid[:8]}-{hexid[8:12]}-{hexid[12:16]}-{hexid[16:20]}-{hexid[20:]}"
        stamp = (T0 + timedelta(minutes=i)).strftime("%Y-%m-%dT%H:%M:00.000Z")
        text = self.template.replace("@@ID@@", dashed).replace("@@HEX@@", hexid).replace("@@NAME@@", f"Task {i:06d}")
        page: dict[str, Any] = json.loads(text)
        page["created_time"] = page["last_edited_time"] = stamp
        return page

    def pages(self, data_source_id: str, *, filter: Any = None, since: Any = None) -> Iterator[list[dict[str, Any]]]:
        for start in range(0, self.rows, 100):
            self.requests += 1
            t0 = time.thread_time()
            made = [self.page(i) for i in range(start, min(start + 100, self.rows))]
            # Class-wide: the engine makes its own instance. Counted in the thread that makes them.
            GeneratedSource.making_cpu += time.thread_time() - t0
            yield made

    def complete_property(self, page_id: str, prop: dict[str, Any]) -> dict[str, Any]:
        return prop

    def count_into(self, count: Any) -> None:
        pass


def _rss_mb() -> float:
    """This process's peak RSS. Not ``ru_maxrss``: Linux carries that over from the parent through
    fork and exec, so a child of a large process would report the parent's peak."""
    with open("/proc/self/status") as f:
        for line in f:
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) / 1024
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def _process_cpu() -> float:
    r = resource.getrusage(resource.RUSAGE_SELF)
    return r.ru_utime + r.ru_stime


def _current_rss_mb() -> float:
    with open("/proc/self/statm") as f:
        return int(f.read().split()[1]) * os.sysconf("SC_PAGE_SIZE") / 2**20


def bench_config(workdir: Path) -> Config:
    """The one-mapping config of the engine-alone runs (the memory connector, a state file in
    ``workdir``), with its token in the environment."""
    from notion_sync.core.config import load_config
    from notion_sync.core.plugins import Discovery

    workdir.mkdir(parents=True, exist_ok=True)
    config_path = workdir / "notion-sync.toml"
    config_path.write_text(
        tomli_w.dumps(
            {
                "notion": {"token_env": TOKEN_ENV},
                "state": {"path": str(workdir / "state.sqlite3")},
                "mappings": [{"name": "bench", "connector": "memory", "database": DATABASE}],
            }
        )
    )
    os.environ[TOKEN_ENV] = "ntn_bench_token_not_a_secret"
    return load_config(config_path, discovery=Discovery.of([MemoryConnector]))


def measure_engine(rows: int, phase: str, workdir: Path, *, profile: bool = False) -> dict[str, Any]:
    """One engine run in this process; returns its timings and memory (``profile``: and
    pyinstrument's top lines of the run, under ``"profile"``)."""
    from notion_sync.core.engine import Engine, RunOptions

    GeneratedSource.rows = rows
    config = bench_config(workdir)
    # The cost of making the pages (what JSON decoding costs a real client), to tell it apart.
    probe = GeneratedSource()
    g0 = _process_cpu()
    for _ in probe.pages("", filter=None):
        pass
    generate = _process_cpu() - g0
    baseline = _current_rss_mb()
    now = T0 + timedelta(days=200)
    engine = Engine(config, now=lambda: now, notion=GeneratedSource)
    # Process CPU, not thread CPU: the engine reads pages ahead in a background thread.
    profiler = None
    if profile:
        from pyinstrument import Profiler

        profiler = Profiler(interval=0.0005, async_mode="disabled")
        profiler.start()
    GeneratedSource.making_cpu = 0.0
    c0, t0 = _process_cpu(), time.perf_counter()
    report = engine.run(RunOptions(full=True, render_all=phase == "render-all"))
    cpu, wall = _process_cpu() - c0, time.perf_counter() - t0
    making = GeneratedSource.making_cpu
    rep = report.mappings[0]
    extra: dict[str, Any] = {}
    if profiler is not None:
        profiler.stop()
        extra["profile"] = profiler.output_text(unicode=False, color=False, show_all=False, timeline=False)
    return {
        "rows": rows,
        "phase": phase,
        "wall": round(wall, 3),
        "cpu": round(cpu, 3),
        "generate_cpu": round(making, 3),
        "generate_alone_cpu": round(generate, 3),
        "engine_cpu": round(cpu - making, 3),
        "us_per_row": round((cpu - making) / rows * 1e6, 1) if rows else 0.0,
        "baseline_rss_mb": round(baseline, 1),
        "peak_rss_mb": round(_rss_mb(), 1),
        "counts": {k: v for k, v in rep.counts.items() if v},
        "rendered": rep.rendered,
        "status": rep.status,
        "error": rep.error,
        **extra,
    }


if __name__ == "__main__":
    n, phase, where = int(sys.argv[1]), sys.argv[2], Path(sys.argv[3])
    result = measure_engine(n, phase, where, profile="--profile" in sys.argv[4:])
    if "profile" in result:
        print(result.pop("profile"), file=sys.stderr)
    print(json.dumps(result))
