"""The sections of ``docs/performance.md`` that ``python -m benchmarks`` produces, in order.

Each section turns the suite's result (and the command's options) into Markdown: its heading,
its table(s), and a pass/miss column against the goals where it has goals. A benchmark module
of another issue plugs in by adding its ``Section`` to ``SECTIONS`` (webhook latency, the
fleet's shared rate limits): ``python -m benchmarks`` then runs it and prints its table with
the others.
"""

from __future__ import annotations

import argparse
import subprocess
import sys
import tempfile
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from benchmarks import markdown, startup
from benchmarks.report import machine, targets

__all__ = ["SECTIONS", "Section", "render_sections"]

ROOT = Path(__file__).resolve().parent.parent


@dataclass(frozen=True)
class Section:
    """One section: ``make(result, args)`` returns its Markdown (heading included)."""

    name: str
    make: Callable[[dict[str, Any], argparse.Namespace], str]


def _verdict(met: bool | None) -> str:
    return "n/a" if met is None else "**pass**" if met else "**miss**"


def _results(result: dict[str, Any], args: argparse.Namespace) -> str:
    data = {
        "machine": machine(),
        "scale": result["scale"],
        "emulators_apart": result.get("emulators_apart", False),
        "k": result["k"],
        "d": result["d"],
        "duration_s": result["duration"],
        "lines": [x.as_json() for x in result["lines"]],
        "engine_alone": result["engine"],
        "targets": targets(result),
    }
    return "## Results\n\n" + markdown.render(data)


def _backfills(result: dict[str, Any], args: argparse.Namespace) -> str:
    """Every backfill against its rate-limit floor, each target alone (its own process) and together."""
    apart = result.get("emulators_apart")
    where = "in a process of their own" if apart else "in the benchmark's process (their CPU counts)"
    rows = [
        "## Backfills against the rate-limit floor",
        "",
        (
            f"Scale ×{result['scale']:g} unless the line says otherwise: a backfill alone runs at a scale no higher "
            f"than its real floor / {result['min_floor']:g} s, so that what no scale shrinks (CPU) weighs as "
            "it does against the real services. "
            if result.get("min_floor")
            else f"Scale ×{result['scale']:g}. "
        )
        + "*alone*: the target's mapping alone, in its own process; "
        f"*together*: every target's mapping in one run. The emulators run {where}. Goal: ≤ 1.2× the floor.",
        "",
        "| N | target | how | scale | wall s | floor s | wall / floor | engine process CPU % | emulators CPU % "
        "| goal ≤ 1.2× |",
        "|--:|---|---|--:|--:|--:|--:|--:|--:|---|",
    ]
    for x in result["lines"]:
        if x.scenario not in ("backfill", "backfill alone"):
            continue
        how = "alone (own process)" if x.alone else "together" if len(targets_of(result, x.n)) > 1 else "alone"
        ratio = x.wall / x.floor if x.floor >= 0.05 else None
        cpu = f"{100 * x.cpu_process / x.wall:.0f}" if x.cpu_process and x.wall else ""
        emulators = f"{100 * x.cpu_emulators / x.wall:.0f}" if x.cpu_process and x.wall else ""
        rows.append(
            f"| {x.n} | {x.target} | {how} | {x.scale or result['scale']:g} | {x.wall:.2f} | {x.floor:.2f} | "
            f"{f'{ratio:.2f}×' if ratio is not None else '—'} | {cpu} | {emulators} | "
            f"{_verdict(None if ratio is None else ratio <= 1.2)} |"
        )
    return "\n".join(rows)


def targets_of(result: dict[str, Any], n: int) -> set[str]:
    """The targets of the one-process run of N rows."""
    return {x.target for x in result["lines"] if x.n == n and x.scenario == "backfill" and x.target != "all"}


PROFILE_LINES = 40


def profile_text(rows: int) -> str:
    """pyinstrument's top lines for the engine planning ``rows`` unchanged rows (fill, then plan)."""
    with tempfile.TemporaryDirectory(prefix="notion-sync-profile-") as tmp:
        base = [sys.executable, "-m", "benchmarks.engine_alone", str(rows)]
        subprocess.run([*base, "fill", tmp], check=True, capture_output=True, cwd=ROOT)
        out = subprocess.run([*base, "plan", tmp, "--profile"], check=True, capture_output=True, text=True, cwd=ROOT)
    text = [line for line in out.stderr.splitlines() if line.strip()]
    start = next((i for i, line in enumerate(text) if "Engine.run" in line), 0)
    return "\n".join(text[start : start + PROFILE_LINES])


def _profile(result: dict[str, Any], args: argparse.Namespace) -> str:
    rows = 10_000 if args.quick else 25_000
    try:
        text = profile_text(rows)
    except (subprocess.CalledProcessError, OSError) as exc:
        text = f"(no profile: {exc}; pyinstrument is in the dev extra)"
    return (
        "## Planning profile\n\n"
        f"`python -m benchmarks.engine_alone {rows} plan DIR --profile` (after a `fill`), pyinstrument, "
        "the engine's thread; seconds under the profiler, the shares are what matter.\n\n"
        f"```\n{text}\n```"
    )


def _startup(result: dict[str, Any], args: argparse.Namespace) -> str:
    rows = startup.measure(5 if args.quick else 15)
    lines = ["## Start-up", "", "| command | median | × `python -c pass` | goal |", "|---|---|---|---|"]
    for row in rows:
        goal = ""
        if row.command == "notion-sync --version":
            goal = f"≤ {startup.GOAL:g}×: {_verdict(row.ratio <= startup.GOAL)}"
        lines.append(f"| `{row.command}` | {row.median * 1000:.0f} ms | {row.ratio:.1f}× | {goal} |")
    return "\n".join(lines)


def _webhooks(result: dict[str, Any], args: argparse.Namespace) -> str:
    from benchmarks import webhooks

    return "## Webhooks\n\n" + webhooks.table(webhooks.measure(5 if args.quick else 20))


SECTIONS: tuple[Section, ...] = (
    Section("results", _results),
    Section("backfills", _backfills),
    Section("profile", _profile),
    Section("startup", _startup),
    Section("webhooks", _webhooks),
    # Issue 16 (fleet, shared rate limits) adds its section here.
)


def render_sections(result: dict[str, Any], args: argparse.Namespace, only: set[str] | None = None) -> str:
    """Every section's Markdown (or those named in ``only``), in order."""
    return "\n\n".join(s.make(result, args) for s in SECTIONS if only is None or s.name in only) + "\n"
