"""``python -m benchmarks.instructions``: planning's cost in instructions, which a noisy host cannot move.

CPU time on a shared VM swings by up to 2× between runs of the same code, too much to compare two
versions of the planner. callgrind (valgrind) counts the instructions instead. The engine alone
(``engine_alone``: generated pages, the memory connector, a real state file) plans N unchanged rows
in a process under callgrind; the plan of 6,000 rows minus that of 1,000, less the instructions
spent making those pages, is the engine's cost of 5,000 rows. Needs ``valgrind`` on PATH.

``python -m benchmarks.instructions RUN N DIR PHASE`` is one measured process (``gen``: only make the
pages; ``fill``: the first run; ``plan``: a full scan of the same rows, nothing changed, the render
memo vouching for every row; ``render-all``: the same with every row rendered).
"""

from __future__ import annotations

import re
import shutil
import subprocess
import sys
import tempfile
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path
from typing import Any

SMALL, LARGE = 1_000, 6_000


def _one(rows: int, workdir: Path, phase: str) -> None:
    """One process: make ``rows`` pages first, then (unless ``gen``) run the engine on them."""
    from benchmarks.engine_alone import T0, GeneratedSource, bench_config
    from notion_sync.core.engine import Engine, RunOptions

    made = [GeneratedSource().page(i) for i in range(rows)]

    class Ready(GeneratedSource):
        def pages(
            self, data_source_id: str, *, filter: Any = None, since: Any = None
        ) -> Iterator[list[dict[str, Any]]]:
            for start in range(0, len(made), 100):
                yield made[start : start + 100]

    if phase == "gen":
        return
    config = bench_config(workdir)
    now = T0 + timedelta(days=200)
    report = Engine(config, now=lambda: now, notion=Ready).run(RunOptions(full=True, render_all=phase == "render-all"))
    wanted = "created" if phase == "fill" else "unchanged"
    assert report.mappings[0].counts[wanted] == rows, report.mappings[0].counts


def _instructions(rows: int, workdir: Path, phase: str) -> int:
    out = subprocess.run(
        [
            "valgrind",
            "--tool=callgrind",
            f"--callgrind-out-file={workdir}.{phase}.callgrind",
            sys.executable,
            "-m",
            "benchmarks.instructions",
            "RUN",
            str(rows),
            str(workdir),
            phase,
        ],
        capture_output=True,
        text=True,
        check=True,
        cwd=Path(__file__).resolve().parent.parent,
    )
    found = re.search(r"Collected : (\d+)", out.stderr)
    assert found, out.stderr[-2000:]
    return int(found.group(1))


def per_row(phase: str = "plan") -> int:
    """Engine instructions per unchanged row planned (``plan``: as a full scan does, the render
    memo vouching for every row; ``render-all``: every row rendered, as ``--render-all`` does)."""
    with tempfile.TemporaryDirectory() as tmp:
        counts = {}
        for rows in (SMALL, LARGE):
            where = Path(tmp) / f"n{rows}"
            _one(rows, where, "fill")
            counts[rows] = _instructions(rows, where, phase) - _instructions(rows, where, "gen")
        return (counts[LARGE] - counts[SMALL]) // (LARGE - SMALL)


if __name__ == "__main__":
    if sys.argv[1:2] == ["RUN"]:
        _one(int(sys.argv[2]), Path(sys.argv[3]), sys.argv[4])
    elif shutil.which("valgrind") is None:
        sys.exit("benchmarks.instructions needs valgrind (apt-get install valgrind)")
    else:
        for phase in ("plan", "render-all"):
            print(f"{per_row(phase):,} engine instructions per unchanged row planned ({phase})")
