"""The scenarios, run in order against one scaled sandbox per database size.

For N rows, with the mappings of every chosen target on one database (one ``notion-sync run``
runs them all, as a user's cron job would):

1. ``backfill``: the first run, every row created in every target;
2. ``rerun``: nothing changed, an incremental run (the normal cron run);
3. ``rerun --full``: nothing changed, a full scan (hourly by default, to notice deletions);
4. ``K mapped``: K rows had a mapped property changed (their title);
5. ``K unmapped``: K other rows had only an unmapped property changed (``Urgent``);
6. ``naive``: the reference run (``naive.py``) per target: full scan, one write per row;
7. ``delete D``: D rows trashed, then the full scan that notices it.

The simulated clock moves 10 minutes before each run. Each scenario gives one line per target
(its requests, writes and share of the run's wall time) and one ``all`` line.
"""

from __future__ import annotations

import math
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from benchmarks.harness import Bench, Measure, measured
from benchmarks.limits import LIMITS, floor_seconds
from benchmarks.naive import naive_run

__all__ = ["Line", "Plan", "run_group", "run_engine_alone", "run_suite"]

K = 10
D = 10
MIN_FLOOR = 20.0
"""Scaled seconds a backfill alone should last at least: its real floor / ``scale`` (``Plan.scale_alone``).
What a scaled run does not scale (the client's and the emulators' CPU, about 0.5 to 1 s for 1,000
rows) then weighs at most a few percent, as it does against the real services' 60 to 100 s."""


@dataclass
class Plan:
    """What one invocation runs."""

    scale: float = 20.0
    groups: list[tuple[int, tuple[str, ...]]] = field(default_factory=list)
    engine_rows: tuple[int, ...] = (10_000, 50_000, 100_000)
    quick: bool = False
    alone: bool = True
    """Also backfill each target of a multi-target group alone, each in its own process, so that
    no other target's client shares its interpreter."""
    emulators_apart: bool = True
    """The emulators run in a process of their own (``Bench(apart=True)``): the engine's process
    then spends only its own CPU, as against the real services."""
    min_floor: float = MIN_FLOOR
    """Each backfill alone runs at a scale no higher than its real floor / this (0: ``scale``)."""
    backfills_only: bool = False
    """Only the backfills (each target alone, then together), not the scenarios after them."""

    def scale_alone(self, n: int, target: str) -> float:
        """The scale of the backfill of ``n`` rows into ``target`` alone: ``scale``, or lower if the
        scaled floor would be shorter than ``min_floor``. One write per row is the floor's call count."""
        limit = LIMITS[target]["post" if target == "slack" else "all"]
        real = limit.floor(n)
        if not self.min_floor or real <= 0:
            return self.scale
        return min(self.scale, max(1.0, math.floor(real / self.min_floor)))


@dataclass
class Line:
    """One line of the table: a scenario's cost for one target (or ``all``)."""

    n: int
    scenario: str
    target: str
    notion: int
    http: int
    calls: int
    writes: int
    engine_writes: int
    wall: float
    cpu_engine: float
    cpu_process: float
    peak_rss_mb: float
    floor: float
    floor_by: str
    limited: int
    naive_wall: float | None = None
    naive_requests: int | None = None
    full_scan: bool | None = None
    status: str = "ok"
    alone: bool = False
    """A backfill of this target's mapping alone, in its own process (``run_alone``)."""
    scale: float = 0.0
    cpu_emulators: float = 0.0
    """CPU time of the emulators (``Measure.cpu_emulators``); only on the line with the run's wall time."""
    emulators_apart: bool = False

    @property
    def requests(self) -> int:
        return self.notion + self.http

    def as_json(self) -> dict[str, Any]:
        out = {k: (round(v, 4) if isinstance(v, float) else v) for k, v in self.__dict__.items()}
        out["requests"] = self.requests
        return out


def _target_floor(m: Measure, target: str, scale: float) -> tuple[float, str]:
    calls = {target: m.per_limit.get(target, {}), "notion": {"all": m.notion_per_mapping.get(target, 0)}}
    return floor_seconds(calls, scale)


def _lines(n: int, scenario: str, m: Measure, targets: tuple[str, ...], scale: float) -> list[Line]:
    lines = []
    for t in targets:
        floor, by = _target_floor(m, t, scale)
        lines.append(
            Line(
                n,
                scenario,
                t,
                m.notion_per_mapping.get(t, 0),
                m.http.get(t, 0),
                m.calls.get(t, 0),
                m.writes.get(t, 0),
                m.engine_writes.get(t, 0),
                m.spans.get(t, 0.0),
                0.0,
                0.0,
                m.peak_rss_mb,
                floor,
                by,
                m.limited.get(t, 0),
                full_scan=m.full_scan.get(t),
                status=m.status.get(t, "ok"),
            )
        )
    if len(targets) > 1:
        lines.append(
            Line(
                n,
                scenario,
                "all",
                m.http.get("notion", 0),
                sum(m.http.get(t, 0) for t in targets),
                sum(m.calls.get(t, 0) for t in targets),
                sum(m.writes.get(t, 0) for t in targets),
                sum(m.engine_writes.get(t, 0) for t in targets),
                m.wall,
                m.cpu_engine,
                m.cpu_process,
                m.peak_rss_mb,
                m.floor,
                m.floor_by,
                sum(m.limited.values()),
            )
        )
    else:
        only = lines[0]
        only.wall, only.cpu_engine, only.cpu_process = m.wall, m.cpu_engine, m.cpu_process
    for line in lines:
        line.scale, line.emulators_apart = scale, m.emulators_apart
        if line.cpu_process:
            line.cpu_emulators = m.cpu_emulators
    return lines


def run_group(
    n: int, targets: tuple[str, ...], scale: float, workdir: Path, log: Any = print, *, apart: bool = True
) -> list[Line]:
    """Every scenario for N rows into ``targets``; returns the table's lines."""
    lines: list[Line] = []
    naive: dict[str, Measure] = {}
    with Bench(workdir, n, scale, targets=targets, apart=apart) as b:

        def step(name: str, **options: Any) -> list[Line]:
            b.tick()
            t0 = time.perf_counter()
            m, _ = b.run(targets, **options)
            got = _lines(n, name, m, targets, scale)
            lines.extend(got)
            log(
                f"  N={n:>6} {name:<14} {time.perf_counter() - t0:7.1f}s  writes={sum(m.writes.values())}"
                f"  requests={sum(m.http.values())}"
            )
            return got

        step("backfill")
        step("rerun")
        step("rerun --full", full=True)
        b.tick()
        b.lose_state()
        step("state lost")
        b.tick()
        b.edit(K, lambda i: {"Name": f"Task edited {i}"}, offset=3)
        step(f"{K} mapped")
        b.tick()
        b.edit(K, lambda i: {"Urgent": i % 2 == 0}, offset=5)
        step(f"{K} unmapped")
        for t in targets:
            b.tick()
            t0 = time.perf_counter()
            m, done = measured(b, lambda t=t: naive_run(b, t), ("notion", t))
            m.notion_per_mapping[t] = m.http["notion"]
            m.spans[t] = m.wall
            naive[t] = m
            log(f"  N={n:>6} naive {t:<16} {time.perf_counter() - t0:7.1f}s  writes={done}")
            lines.extend(_lines(n, "naive", m, (t,), scale))
        b.tick()
        b.trash(D)
        step(f"delete {D}", full=True)
    # Every scenario against the naive run (whose cost does not depend on the scenario).
    total_naive_wall = sum(m.wall for m in naive.values())
    total_naive_req = sum(m.http["notion"] + m.http[t] for t, m in naive.items())
    for line in lines:
        if line.scenario == "naive":
            continue
        if line.target == "all":
            line.naive_wall, line.naive_requests = total_naive_wall, total_naive_req
        elif line.target in naive:
            nm = naive[line.target]
            line.naive_wall, line.naive_requests = nm.wall, nm.http["notion"] + nm.http[line.target]
    return lines


def run_alone(n: int, target: str, scale: float, workdir: Path, *, apart: bool = True) -> list[Line]:
    """The backfill of N rows into ``target`` alone (in this process: see ``alone_in_process``)."""
    lines = run_backfill(n, (target,), scale, workdir, apart=apart, scenario="backfill alone")
    for line in lines:
        line.alone = True
    return lines


def run_backfill(
    n: int, targets: tuple[str, ...], scale: float, workdir: Path, *, apart: bool = True, scenario: str = "backfill"
) -> list[Line]:
    """The backfill of N rows into ``targets`` (one run of all their mappings), and nothing after it."""
    with Bench(workdir, n, scale, targets=targets, apart=apart) as b:
        b.tick()
        m, _ = b.run(targets)
    return _lines(n, scenario, m, targets, scale)


def alone_in_process(n: int, target: str, scale: float, workdir: Path, *, apart: bool = True) -> list[Line]:
    """``run_alone`` in a fresh process, so that no other target shares its interpreter."""
    import json

    where = "apart" if apart else "in-process"
    out = subprocess.run(
        [sys.executable, "-m", "benchmarks.suite", str(n), target, str(scale), str(workdir), where],
        check=True,
        capture_output=True,
        text=True,
        cwd=Path(__file__).resolve().parent.parent,
    )
    fields = Line.__dataclass_fields__
    return [
        Line(**{k: v for k, v in d.items() if k in fields}) for d in json.loads(out.stdout.strip().splitlines()[-1])
    ]


def run_engine_alone(rows: tuple[int, ...], workdir: Path, log: Any = print) -> list[dict[str, Any]]:
    """Fill, plan (the render memo vouching for every row) and plan with every row rendered, each N
    in fresh processes (so each peak RSS is its own)."""
    import json

    results = []
    for n in rows:
        where = workdir / f"engine-{n}"
        for phase in ("fill", "plan", "render-all"):
            t0 = time.perf_counter()
            out = subprocess.run(
                [sys.executable, "-m", "benchmarks.engine_alone", str(n), phase, str(where)],
                check=True,
                capture_output=True,
                text=True,
                cwd=Path(__file__).resolve().parent.parent,
            )
            result = json.loads(out.stdout.strip().splitlines()[-1])
            results.append(result)
            log(
                f"  engine alone N={n:>6} {phase:<10} {time.perf_counter() - t0:6.1f}s  "
                f"engine CPU {result['engine_cpu']:.2f}s  peak RSS {result['peak_rss_mb']:.0f} MB"
            )
    return results


def run_suite(plan: Plan, log: Any = print) -> dict[str, Any]:
    """Run the plan; returns everything the report and the JSON need."""
    started = time.perf_counter()
    lines: list[Line] = []
    with tempfile.TemporaryDirectory(prefix="notion-sync-bench-") as tmp:
        for n, targets in plan.groups:
            log(f"N = {n} rows into {', '.join(targets)} (scale {plan.scale:g})")
            if plan.alone and len(targets) > 1:
                for t in targets:
                    t0 = time.perf_counter()
                    scale = plan.scale_alone(n, t)
                    got = alone_in_process(n, t, scale, Path(tmp) / f"alone-{n}-{t}", apart=plan.emulators_apart)
                    log(
                        f"  N={n:>6} backfill alone {t:<16} {time.perf_counter() - t0:7.1f}s "
                        f"(own process, scale {scale:g})"
                    )
                    lines.extend(got)
            where = Path(tmp) / f"n{n}"
            if plan.backfills_only:
                t0 = time.perf_counter()
                lines.extend(run_backfill(n, targets, plan.scale, where, apart=plan.emulators_apart))
                log(f"  N={n:>6} backfill       {time.perf_counter() - t0:7.1f}s")
            else:
                lines.extend(run_group(n, targets, plan.scale, where, log, apart=plan.emulators_apart))
        log("engine alone (no HTTP)")
        engine = run_engine_alone(plan.engine_rows, Path(tmp), log) if plan.engine_rows else []
    return {
        "scale": plan.scale,
        "emulators_apart": plan.emulators_apart,
        "min_floor": plan.min_floor,
        "quick": plan.quick,
        "k": K,
        "d": D,
        "lines": lines,
        "engine": engine,
        "duration": time.perf_counter() - started,
    }


def ceil_div(a: int, b: int) -> int:
    return math.ceil(a / b)


if __name__ == "__main__":
    # python -m benchmarks.suite N TARGET[,TARGET...] SCALE DIR [apart|in-process]: one backfill, as JSON
    # (of one target: "backfill alone")
    import json

    apart = sys.argv[5:6] != ["in-process"]
    chosen = tuple(sys.argv[2].split(","))
    n, scale, workdir = int(sys.argv[1]), float(sys.argv[3]), Path(sys.argv[4])
    if len(chosen) == 1:
        lines = run_alone(n, chosen[0], scale, workdir, apart=apart)
    else:
        lines = run_backfill(n, chosen, scale, workdir, apart=apart)
    print(json.dumps([x.as_json() for x in lines]))
