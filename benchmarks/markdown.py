"""``python -m benchmarks.markdown out.json``: the tables of a run's JSON as Markdown (for docs/performance.md)."""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Any


def _ratio(a: float, b: float | None, minimum: float = 0.0) -> str:
    return f"{a / b:.2f}" if b and b >= minimum else "—"


def render(data: dict[str, Any]) -> str:
    out = [
        f"Scale ×{data['scale']:g}: times are scaled seconds (multiply by {data['scale']:g} for real time); "
        f"ratios are scale-free. K = {data['k']}, D = {data['d']}.",
        "",
        "| N | scenario | target | Notion req | target HTTP | API calls | writes | wall s | CPU s | CPU % "
        "| floor s | wall/floor | time/naive | req/naive | 429s |",
        "|--:|---|---|--:|--:|--:|--:|--:|--:|--:|--:|--:|--:|--:|--:|",
    ]
    for x in data["lines"]:
        cpu = x["cpu_process"]
        out.append(
            f"| {x['n']} | {x['scenario']} | {x['target']} | {x['notion']} | {x['http']} | {x['calls']} | "
            f"{x['writes']} | {x['wall']:.2f} | {x['cpu_process']:.2f} | "
            f"{(100 * cpu / x['wall']):.0f} | "
            if cpu and x["wall"]
            else f"| {x['n']} | {x['scenario']} | {x['target']} | {x['notion']} | {x['http']} | {x['calls']} | "
            f"{x['writes']} | {x['wall']:.2f} | | | "
        )
        out[-1] += (
            f"{x['floor']:.2f} | {_ratio(x['wall'], x['floor'], 0.05)} | "
            f"{_ratio(x['wall'], x.get('naive_wall'))} | {_ratio(x['requests'], x.get('naive_requests'))} | "
            f"{x['limited'] or ''} |"
        )
    if data.get("engine_alone"):
        out += [
            "",
            "Engine alone (in-process source and target, no HTTP; a fresh process per line):",
            "",
            "| rows | phase | wall s | engine CPU s | µs per row | making pages CPU s | RSS before MB | peak RSS MB |",
            "|--:|---|--:|--:|--:|--:|--:|--:|",
        ]
        for e in data["engine_alone"]:
            what = {
                "fill": "fill (first run, N creates)",
                "plan": "plan (full scan, nothing changed)",
                "render-all": "plan, every row rendered (`--render-all`)",
            }[e["phase"]]
            out.append(
                f"| {e['rows']:,} | {what} | {e['wall']:.2f} | {e['engine_cpu']:.2f} | "
                f"{1e6 * e['engine_cpu'] / e['rows']:.1f} | {e['generate_cpu']:.2f} | "
                f"{e['baseline_rss_mb']:.0f} | {e['peak_rss_mb']:.0f} |"
            )
    out += ["", "| target | measured | bound | met |", "|---|---|---|---|"]
    for t in data["targets"]:
        verdict = "n/a" if t["met"] is None else "yes" if t["met"] else "**no**"
        out.append(f"| {t['target']} | {t['measured']} | {t['bound']} | {verdict} |")
    m = data["machine"]
    out += [
        "",
        f"Machine: {m['nproc']} CPUs ({m['cpu']}), Python {m['python']}, {m['system']}; "
        f"the suite took {data['duration_s']:.0f} s.",
    ]
    return "\n".join(out)


if __name__ == "__main__":
    print(render(json.loads(Path(sys.argv[1]).read_text())))
