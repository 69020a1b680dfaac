"""``python -m benchmarks [--scale F] [--quick] [--json out.json] [--markdown out.md]``: run the
suite, print its tables, then every section of docs/performance.md as Markdown (``sections.py``).

The emulators run in a process of their own, so the engine's process spends only the engine's
CPU; each backfill alone runs at a scale that keeps its floor at least ``--min-floor`` seconds."""

from __future__ import annotations

import argparse
import logging
import sys
from pathlib import Path

from benchmarks.report import print_report, write_json
from benchmarks.sections import SECTIONS, render_sections
from benchmarks.suite import MIN_FLOOR, Plan, run_suite


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m benchmarks", description=__doc__)
    parser.add_argument(
        "--scale",
        type=float,
        default=20.0,
        help="divide every rate-limit window, latency and backoff by this (default 20)",
    )
    parser.add_argument(
        "--quick", action="store_true", help="CI-sized: N=250 into every target, instead of 1,000 and 10,000"
    )
    parser.add_argument(
        "--slack-10k",
        action="store_true",
        help="also backfill 10,000 rows into Slack: 10,000 s of real time at 1 post/s "
        "(over 8 minutes at scale 20), so left out by default",
    )
    parser.add_argument("--json", type=Path, help="also write the results as JSON to this file")
    parser.add_argument(
        "--rows", type=int, action="append", help="database size(s) to run instead of the defaults (repeatable)"
    )
    parser.add_argument("--targets", help="comma-separated targets (default: google_calendar,trello,slack)")
    parser.add_argument("--no-engine", action="store_true", help="leave out the engine-alone runs")
    parser.add_argument(
        "--backfills-only",
        action="store_true",
        help="of each group, only the backfills (each target alone, then together), not the scenarios after them",
    )
    parser.add_argument("--engine-only", action="store_true", help="only the engine-alone runs")
    parser.add_argument(
        "--no-alone",
        action="store_true",
        help="leave out the backfills of each target alone in its own process (beside the run of all)",
    )
    parser.add_argument(
        "--emulators-in-process",
        action="store_true",
        help="run the emulators in the benchmark's process (their CPU and GIL then count against the engine's) "
        "instead of a process of their own",
    )
    parser.add_argument(
        "--min-floor",
        type=float,
        default=MIN_FLOOR,
        metavar="SECONDS",
        help="run each backfill alone at a scale no higher than its real floor / SECONDS, so that what a scale "
        f"cannot shrink (CPU) weighs as against the real services (default {MIN_FLOOR:g}; 0: --scale for all)",
    )
    parser.add_argument("--markdown", type=Path, help="also write the sections' Markdown to this file")
    parser.add_argument(
        "--sections",
        help=f"comma-separated sections to print (default: all of {', '.join(s.name for s in SECTIONS)})",
    )
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.WARNING, format="%(levelname)s %(name)s: %(message)s")
    if args.quick:
        plan = Plan(scale=args.scale, groups=[(250, ("google_calendar", "trello", "slack"))], quick=True)
    else:
        big = ("google_calendar", "trello", "slack") if args.slack_10k else ("google_calendar", "trello")
        plan = Plan(scale=args.scale, groups=[(1000, ("google_calendar", "trello", "slack")), (10_000, big)])
    if args.rows or args.targets:
        chosen = tuple(args.targets.split(",")) if args.targets else ("google_calendar", "trello", "slack")
        plan.groups = [(n, chosen) for n in (args.rows or [g[0] for g in plan.groups])]
    if args.no_engine:
        plan.engine_rows = ()
    if args.engine_only:
        plan.groups = []
    if args.no_alone:
        plan.alone = False
    plan.emulators_apart = not args.emulators_in_process
    plan.backfills_only = args.backfills_only
    plan.min_floor = 0.0 if args.quick else args.min_floor
    result = run_suite(plan, log=lambda text: print(text, file=sys.stderr, flush=True))
    print_report(result)
    if args.json:
        write_json(result, args.json)
    text = render_sections(result, args, set(args.sections.split(",")) if args.sections else None)
    print("\n" + text)
    if args.markdown:
        args.markdown.write_text(text)
    return 0


if __name__ == "__main__":
    sys.exit(main())
