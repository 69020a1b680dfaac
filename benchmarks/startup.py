"""Cold start-up of the CLI beside ``python -c pass``: ``python -m benchmarks.startup [--runs N]``.

Each command runs ``--runs`` times in a fresh interpreter; the table shows the median wall
time and its ratio to Python's own start-up. The goal (issue 12): ``notion-sync --version``
at most 5× ``python -c pass``.
"""

from __future__ import annotations

import argparse
import statistics
import subprocess
import sys
import time
from dataclasses import dataclass

__all__ = ["COMMANDS", "GOAL", "StartupRow", "measure", "print_table"]

COMMANDS: tuple[tuple[str, ...], ...] = (
    ("--version",),
    ("--help",),
    ("connectors",),
    ("run", "--help"),
)
GOAL = 5.0
"""``notion-sync --version`` within this many times ``python -c pass``."""


@dataclass(frozen=True)
class StartupRow:
    """One command's median cold start-up, in seconds, and its ratio to ``python -c pass``."""

    command: str
    median: float
    ratio: float


def _median_run(argv: list[str], runs: int) -> float:
    times = []
    for _ in range(runs):
        start = time.perf_counter()
        subprocess.run(argv, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, check=True)
        times.append(time.perf_counter() - start)
    return statistics.median(times)


def measure(runs: int = 15) -> list[StartupRow]:
    """``python -c pass`` first, then each of ``COMMANDS`` as ``python -m notion_sync …``."""
    base = _median_run([sys.executable, "-c", "pass"], runs)
    rows = [StartupRow("python -c pass", base, 1.0)]
    for args in COMMANDS:
        median = _median_run([sys.executable, "-m", "notion_sync", *args], runs)
        rows.append(StartupRow("notion-sync " + " ".join(args), median, median / base))
    return rows


def print_table(rows: list[StartupRow]) -> None:
    """The Markdown table of ``docs/performance.md``'s start-up section."""
    print("| command | median | × `python -c pass` | goal |")
    print("|---|---|---|---|")
    for row in rows:
        goal = ""
        if row.command == "notion-sync --version":
            goal = f"≤ {GOAL:g}×: {'**pass**' if row.ratio <= GOAL else '**miss**'}"
        print(f"| `{row.command}` | {row.median * 1000:.0f} ms | {row.ratio:.1f}× | {goal} |")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m benchmarks.startup", description=__doc__)
    parser.add_argument("--runs", type=int, default=15, help="runs per command (default 15)")
    args = parser.parse_args(argv)
    print_table(measure(args.runs))
    return 0


if __name__ == "__main__":
    sys.exit(main())
