"""The soak test: many real ``notion-sync run`` processes under faults and SIGKILLs, then an exact mirror.

One ``Sandbox`` holds the Notion emulator and the Google Calendar, Trello and Slack
emulators, in this process. Each round:

1. makes random Notion edits (renames, status, dates, priority), trashes, restores,
   new rows, and sometimes changes a mapping's filter in the config file;
2. sets random 429s, 5xx, dropped connections and latency on all four emulators, and
   sometimes a reply later than the client's timeout (Trello, Slack: the write lands,
   the client hears nothing) or a Slack post answered 500 after it was made;
3. runs ``python -m notion_sync.core.cli run`` as a subprocess, and in some rounds SIGKILLs it
   after a random delay; after a kill the state file must still open and pass
   SQLite's integrity check.

At the end the faults are cleared, one ``run --full --allow-mass-delete`` runs, and
every target must hold exactly one live item per expected row, with the row's current
name and the row's current date (the event's start), status (the card's list, the
message's Status field): no duplicate, no missing item, no stale one.

Bounded to a few minutes on two cores. ``NOTION_SYNC_SOAK_RUNS`` (default 100, about 100 s) and
``NOTION_SYNC_SOAK_SEED`` (default 20261125) make it longer or different;
``NOTION_SYNC_SOAK_REPORT=path`` writes the figures as a Markdown table (that is how
``docs/reliability.md`` gets its figures).
"""

from __future__ import annotations

import os
import random
import signal
import sqlite3
import subprocess
import sys
import time
from collections import Counter
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from notion_sync.core.sandbox import Sandbox

REPO = Path(__file__).resolve().parents[1]
RUNS = int(os.environ.get("NOTION_SYNC_SOAK_RUNS", "100"))
SEED = int(os.environ.get("NOTION_SYNC_SOAK_SEED", "20261125"))
REPORT = os.environ.get("NOTION_SYNC_SOAK_REPORT")
TIMEOUT = 0.5
"""The clients' timeout in the soak's config (Notion, Trello, Slack), below the injected delays."""
RUN_TIMEOUT = 120.0
"""A run that takes this long is hung: the test fails rather than waiting for ever."""

STATUSES = ("Not started", "In progress", "Done")
PRIORITIES = ("High", "Medium", "Low")
CONNECTORS = ("google_calendar", "trello", "slack")

# (Notion filter, the same filter in Python) — every row always has a Status and a Priority,
# so no filter has to guess how Notion treats empty values.
FILTERS: list[tuple[dict[str, Any] | None, Any]] = [
    (None, lambda r: True),
    ({"property": "Status", "status": {"does_not_equal": "Done"}}, lambda r: r["Status"] != "Done"),
    ({"property": "Priority", "select": {"does_not_equal": "Low"}}, lambda r: r["Priority"] != "Low"),
    ({"property": "Urgent", "checkbox": {"equals": False}}, lambda r: not r["Urgent"]),
    (
        {
            "or": [
                {"property": "Status", "status": {"equals": "In progress"}},
                {"property": "Priority", "select": {"equals": "High"}},
            ]
        },
        lambda r: r["Status"] == "In progress" or r["Priority"] == "High",
    ),
]


@dataclass
class Figures:
    """What the soak did, for the assertion messages and docs/reliability.md."""

    runs: int = 0
    killed: int = 0
    exits: Counter[str] = field(default_factory=Counter)
    faults: Counter[str] = field(default_factory=Counter)
    edits: Counter[str] = field(default_factory=Counter)
    filter_changes: int = 0
    integrity_checks: int = 0
    items_checked: int = 0
    discrepancies: list[str] = field(default_factory=list)
    waiting: int = 0
    parked: int = 0
    seconds: float = 0.0

    def table(self) -> str:
        faults = ", ".join(f"{k}: {v}" for k, v in sorted(self.faults.items())) or "none"
        edits = ", ".join(f"{k}: {v}" for k, v in sorted(self.edits.items()))
        exits = ", ".join(f"{k}: {v}" for k, v in sorted(self.exits.items()))
        rows = [
            ("seed", str(SEED)),
            ("runs (subprocesses, the final full run included)", str(self.runs)),
            ("killed with SIGKILL mid-run", str(self.killed)),
            ("exit codes", exits),
            ("faults injected, by kind (all four emulators)", faults),
            ("Notion changes between runs", edits),
            ("filter changes", str(self.filter_changes)),
            ("state-file integrity checks after a kill", str(self.integrity_checks)),
            ("items out of retries before the final run (waiting / parked)", f"{self.waiting} / {self.parked}"),
            ("items checked at the end (3 targets)", str(self.items_checked)),
            ("discrepancies", str(len(self.discrepancies))),
            ("wall time", f"{self.seconds:.0f} s"),
        ]
        return "| figure | value |\n|---|---|\n" + "\n".join(f"| {a} | {b} |" for a, b in rows) + "\n"


class World:
    """The sandbox plus what the test knows the Notion rows to be."""

    box: Sandbox

    def __init__(self, rng: random.Random) -> None:
        self.rng = rng
        self.rows: dict[str, dict[str, Any]] = {}
        self.trashed: set[str] = set()
        self.version = Counter[str]()
        self.filters = {c: 0 for c in CONNECTORS}
        self.serial = 0

    # -- Notion rows ----------------------------------------------------------
    def random_due(self) -> Any:
        today = date.today()
        roll = self.rng.random()
        day = today + timedelta(days=self.rng.randint(-5, 20))
        if roll < 0.2:
            return None
        if roll < 0.6:
            return day.isoformat()
        if roll < 0.8:
            return f"{day.isoformat()}T{self.rng.randint(7, 18):02}:{self.rng.choice((0, 15, 30, 45)):02}:00.000+01:00"
        return (day.isoformat(), (day + timedelta(days=self.rng.randint(1, 3))).isoformat())

    def new_values(self) -> dict[str, Any]:
        self.serial += 1
        return {
            "Name": f"Task {self.serial:03} v0",
            "Status": self.rng.choice(STATUSES),
            "Priority": self.rng.choice(PRIORITIES),
            "Urgent": self.rng.random() < 0.3,
            "Due": self.random_due(),
            "Tags": self.rng.sample(["Bug", "Feature", "Docs"], self.rng.randint(0, 2)),
        }

    def seed_rows(self, count: int) -> list[dict[str, Any]]:
        return [self.new_values() for _ in range(count)]

    def adopt_seeded(self, rows: list[dict[str, Any]]) -> None:
        assert self.box.database is not None
        for values in rows:
            self.rows[self.box.database.pages[values["Name"]]] = dict(values)

    def add_row(self) -> None:
        assert self.box.database is not None
        values = self.new_values()
        page = self.box.notion.add_page(self.box.database.data_source_id, values)
        self.rows[page] = dict(values)

    def edit_row(self, page: str) -> None:
        row = self.rows[page]
        change: dict[str, Any] = {}
        what = self.rng.choice(("Name", "Status", "Due", "Priority", "Urgent", "Name+Status"))
        if "Name" in what:
            stem = row["Name"].rsplit(" v", 1)[0]
            self.version[page] += 1
            change["Name"] = f"{stem} v{self.version[page]}"
        if "Status" in what:
            change["Status"] = self.rng.choice(STATUSES)
        if what == "Due":
            change["Due"] = self.random_due()
        if what == "Priority":
            change["Priority"] = self.rng.choice(PRIORITIES)
        if what == "Urgent":
            change["Urgent"] = not row["Urgent"]
        self.box.notion.update_page(page, change)
        row.update(change)

    def mutate(self, figures: Figures) -> None:
        """A handful of random Notion changes, as people make between two cron runs."""
        for _ in range(self.rng.randint(0, 6)):
            live = [p for p in self.rows if p not in self.trashed]
            roll = self.rng.random()
            if roll < 0.55 and live:
                self.edit_row(self.rng.choice(live))
                figures.edits["edits"] += 1
            elif roll < 0.7 and live:
                page = self.rng.choice(live)
                self.box.notion.trash_page(page)
                self.trashed.add(page)
                figures.edits["trashes"] += 1
            elif roll < 0.85 and self.trashed:
                page = self.rng.choice(sorted(self.trashed))
                self.box.notion.restore_page(page)
                self.trashed.discard(page)
                figures.edits["restores"] += 1
            else:
                self.add_row()
                figures.edits["new rows"] += 1

    # -- config ---------------------------------------------------------------
    def write_config(self) -> None:
        data = self.box.config_data()
        data["notion"]["timeout"] = TIMEOUT
        data["trello"]["timeout"] = data["slack"]["timeout"] = TIMEOUT
        for mapping in data["mappings"]:
            notion_filter = FILTERS[self.filters[mapping["connector"]]][0]
            if notion_filter is not None:
                mapping["filter"] = notion_filter
        self.box.write_config(data)

    def maybe_change_filter(self, figures: Figures) -> None:
        if self.rng.random() < 0.25:
            connector = self.rng.choice(CONNECTORS)
            self.filters[connector] = self.rng.randrange(len(FILTERS))
            figures.filter_changes += 1
            self.write_config()

    # -- expectations ---------------------------------------------------------
    def expected(self, connector: str) -> dict[str, str]:
        keep = FILTERS[self.filters[connector]][1]
        out = {}
        for page, row in self.rows.items():
            if page in self.trashed or not keep(row):
                continue
            if connector == "google_calendar" and row["Due"] is None:
                continue  # a calendar event needs a date: the row is skipped
            out[page] = row["Name"]
        return out


def all_faults(box: Sandbox) -> list[Any]:
    return [box.notion.server.faults] + [t.emulator.server.faults for t in box.targets.values()]  # type: ignore[attr-defined]


CREATE_PATHS = {"trello": r"^/1/cards$", "slack": r"chat\.postMessage$"}
"""Where a timeout can land a write the client does not hear of (Google's client has no timeout
setting: its ambiguous writes come from the kills, and its ids are deterministic anyway)."""


def set_random_faults(box: Sandbox, rng: random.Random, calm: bool, figures: Figures | None = None) -> None:
    for faults in all_faults(box):
        if calm:
            faults.rate_limit_prob = faults.server_error_prob = faults.drop_prob = 0.0
            faults.latency = faults.latency_jitter = 0.0
            faults.scheduled.clear()
            faults.delayed.clear()
            continue
        faults.rate_limit_prob = rng.uniform(0.0, 0.08)
        faults.server_error_prob = rng.uniform(0.0, 0.08)
        faults.drop_prob = rng.uniform(0.0, 0.05)
        faults.latency = rng.uniform(0.0, 0.005)
        faults.latency_jitter = rng.uniform(0.0, 0.02)
        # Retry-After in whole seconds, as the services send it; NOTION_SYNC_RETRY_SCALE shrinks the wait.
        faults.retry_after = 0.0 if faults is not box.notion.server.faults else 1.0
    slack: Any = box.targets["slack"]
    if calm:
        slack.emulator.lost_answers.clear()
        return
    assert figures is not None
    # Writes that land while the client hears nothing good: a reply later than the client's
    # timeout, and (Slack) a 500 sent after the message was posted.
    if rng.random() < 0.25:
        name = rng.choice(sorted(CREATE_PATHS))
        box.targets[name].emulator.server.faults.schedule_delay(  # type: ignore[attr-defined]
            TIMEOUT * 2, count=1, path=CREATE_PATHS[name], method="POST"
        )
    if rng.random() < 0.25 and not slack.emulator.lost_answers.get("chat.postMessage"):
        slack.emulator.lose_next_answer("chat.postMessage")


def lost_answers_pending(box: Sandbox) -> int:
    return int(box.targets["slack"].emulator.lost_answers.get("chat.postMessage", 0))  # type: ignore[attr-defined]


def check_state_file(path: Path) -> None:
    """What the next run will do first: open the state file (replaying its WAL) and read it."""
    conn = sqlite3.connect(path, timeout=5)
    try:
        assert conn.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
        assert conn.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
        conn.execute("SELECT COUNT(*) FROM links").fetchone()
    finally:
        conn.close()


def let_retry_delays_pass(state_path: Path) -> tuple[int, int]:
    """Items that ran out of retries in the last runs wait minutes before the next try (parked ones
    until ``notion-sync retry``): move their last failure two hours back, as if the final run came
    later. Returns (waiting, parked)."""
    conn = sqlite3.connect(state_path, timeout=5)
    try:
        waiting = conn.execute("SELECT COUNT(*) FROM failures WHERE parked = 0").fetchone()[0]
        parked = conn.execute("SELECT COUNT(*) FROM failures WHERE parked = 1").fetchone()[0]
        earlier = (datetime.now(UTC) - timedelta(hours=2)).isoformat(timespec="seconds")
        with conn:
            conn.execute("UPDATE failures SET last_at = ?", (earlier,))
        return int(waiting), int(parked)
    finally:
        conn.close()


def run_cli(box: Sandbox, *args: str, kill_after: float | None = None, command: str = "run") -> tuple[int, str]:
    """``notion-sync run`` in a subprocess; SIGKILLed after ``kill_after`` seconds if still running."""
    env = dict(os.environ)
    env["NOTION_SYNC_RETRY_SCALE"] = "0.001"
    env["PYTHONPATH"] = str(REPO) + os.pathsep + env.get("PYTHONPATH", "")
    quiet = ["--quiet"] if command == "run" else []
    proc = subprocess.Popen(
        [sys.executable, "-m", "notion_sync", command, "--config", str(box.config_path), *quiet, *args],
        cwd=box.workdir,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    try:
        out, _ = proc.communicate(timeout=kill_after if kill_after is not None else RUN_TIMEOUT)
        return proc.returncode, out
    except subprocess.TimeoutExpired:
        if kill_after is None:
            proc.kill()
            out, _ = proc.communicate()
            pytest.fail(f"a run hung for {RUN_TIMEOUT:.0f} s:\n{out[-3000:]}")
        proc.send_signal(signal.SIGKILL)
        out, _ = proc.communicate()
        return -signal.SIGKILL, out


TRELLO_LISTS = {"Not started": "To do", "In progress": "Doing", "Done": "Done"}


def details(box: Sandbox, connector: str) -> dict[str, Any]:
    """Page id -> what else the item shows that a row's edit changes: the event's start, the
    card's list, the message's Status field. A lost update would leave it stale."""
    target: Any = box.targets[connector]
    out: dict[str, Any] = {}
    if connector == "google_calendar":
        from notion_sync.connectors.google_calendar.markers import PAGE_KEY

        for event in target._live():
            start = event["start"]
            out[event["extendedProperties"]["private"][PAGE_KEY]] = (
                date.fromisoformat(start["date"]) if "date" in start else datetime.fromisoformat(start["dateTime"])
            )
    elif connector == "trello":
        from notion_sync.connectors.trello.markers import parse_marker

        for card in target.emulator.cards(target.board["id"], closed=False):
            mark = parse_marker(card["desc"])
            if mark is not None:
                out[mark[1]] = target.emulator.lists[card["idList"]]["name"]
    else:
        for message in target.emulator.messages(target.channel_id):
            payload = (message.metadata or {}).get("event_payload") or {}
            fields = [f["text"] for b in message.blocks or [] for f in b.get("fields") or []]
            status = next((f.split("\n", 1)[1] for f in fields if f.startswith("*Status*\n")), None)
            out[str(payload.get("page_id"))] = status
    return out


def expected_detail(connector: str, row: dict[str, Any]) -> Any:
    if connector == "google_calendar":
        due = row["Due"][0] if isinstance(row["Due"], tuple) else row["Due"]
        return date.fromisoformat(due) if len(due) == 10 else datetime.fromisoformat(due)
    if connector == "trello":
        return TRELLO_LISTS[row["Status"]]
    return row["Status"]


def compare(box: Sandbox, world: World, figures: Figures) -> None:
    for connector in CONNECTORS:
        target = box.targets[connector]
        expected = world.expected(connector)
        live = target.items()
        count = target.item_count()
        figures.items_checked += len(expected)
        for page in sorted(set(expected) - set(live)):
            figures.discrepancies.append(f"{connector}: missing {expected[page]!r} ({page})")
        for page in sorted(set(live) - set(expected)):
            figures.discrepancies.append(f"{connector}: stale item {live[page]!r} for {page}")
        for page in sorted(set(live) & set(expected)):
            if live[page].strip() != expected[page]:
                figures.discrepancies.append(f"{connector}: {page} shows {live[page]!r}, not {expected[page]!r}")
        shown = details(box, connector)
        for page in sorted(set(live) & set(expected)):
            want = expected_detail(connector, world.rows[page])
            if shown.get(page) != want:
                figures.discrepancies.append(f"{connector}: {page} shows {shown.get(page)!r}, not {want!r}")
        if count != len(live):
            figures.discrepancies.append(f"{connector}: {count} live items for {len(live)} pages (duplicates)")


def test_soak_many_runs_under_faults_and_kills_end_in_an_exact_mirror(tmp_path: Path) -> None:
    rng = random.Random(SEED)
    figures = Figures()
    started = time.monotonic()
    world = World(rng)
    seeded = world.seed_rows(24)
    with Sandbox(tmp_path, rows=seeded) as box:
        assert set(box.targets) == set(CONNECTORS), f"connectors found: {sorted(box.targets)}"
        world.box = box
        world.adopt_seeded(seeded)
        world.write_config()
        durations: list[float] = []
        for round_no in range(RUNS):
            if round_no:
                world.mutate(figures)
                world.maybe_change_filter(figures)
            set_random_faults(box, rng, calm=False, figures=figures)
            args = ["--allow-mass-delete"] if rng.random() < 0.3 else []
            if rng.random() < 0.2:
                args.append("--full")
            # Kill at a random point of a typical run (its length measured on the runs not killed),
            # so that kills land during startup, reads and writes alike.
            typical = sorted(durations)[len(durations) // 2] if durations else 1.5
            kill_after = rng.uniform(0.2, 1.0) * typical if rng.random() < 0.4 else None
            begun, lost_before = time.monotonic(), lost_answers_pending(box)
            code, out = run_cli(box, *args, kill_after=kill_after)
            figures.faults["lost answer (Slack 500 after posting)"] += lost_before - lost_answers_pending(box)
            if code != -signal.SIGKILL:
                durations.append(time.monotonic() - begun)
            figures.runs += 1
            figures.exits["killed" if code == -signal.SIGKILL else str(code)] += 1
            if code == -signal.SIGKILL:
                figures.killed += 1
                if box.state_path.exists():
                    check_state_file(box.state_path)
                    figures.integrity_checks += 1
            else:
                # 0, or 1 when an item ran out of retries or the mass-delete guard stopped a mapping.
                assert code in (0, 1), f"run {round_no} exited {code}:\n{out[-3000:]}"
                if code == 0 and out.strip():  # --quiet: a run that went well prints nothing (cron mails output)
                    figures.discrepancies.append(f"run {round_no} exited 0 but printed: {out.strip()[-500:]}")
        for faults in all_faults(box):
            for kind, n in faults.injected.items():
                figures.faults[
                    {"drop": "dropped connection", "delay": "timeout (late reply, write done)"}.get(kind, kind)
                ] += n
        set_random_faults(box, rng, calm=True)
        figures.waiting, figures.parked = let_retry_delays_pass(box.state_path)
        if figures.parked:
            code, out = run_cli(box, command="retry")  # what a user does about parked items
            assert code == 0, out
        code, out = run_cli(box, "--full", "--allow-mass-delete")
        figures.runs += 1
        figures.exits[str(code)] += 1
        compare(box, world, figures)
        figures.seconds = time.monotonic() - started
        print("\n" + figures.table())
        if REPORT:
            Path(REPORT).write_text(figures.table())
        assert code == 0, f"the final clean run exited {code}:\n{out[-3000:]}"
        assert not figures.discrepancies, "\n".join(figures.discrepancies[:40])
        assert figures.killed and sum(figures.faults.values()), "the soak injected no kill or no fault"
