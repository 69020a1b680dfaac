"""Signs of life: the progress of writes, not only reads, and retries shown on a terminal
(while cron output stays quiet)."""

from __future__ import annotations

import os
import pty
import subprocess
import sys

from notion_sync.core.engine import Engine, RunOptions
from notion_sync.core.sandbox import NOTION_TOKEN_ENV


def test_progress_counts_writes_as_they_happen(box):
    calls: list[tuple[str, int, int]] = []
    Engine(box.config(), progress=lambda name, rows, writes: calls.append((name, rows, writes))).run(RunOptions())
    rows = len(box.database.pages)
    writes = [w for _, r, w in calls if r == 0]
    # the first page's writes are reported one by one, before the page is counted as read
    assert writes == list(range(1, rows + 1))
    assert calls[-1] == (box.mapping_name("memo"), rows, rows)


def _schema_on_a_terminal(box, *, terminal: bool) -> str:
    """``notion-sync schema`` in a child process, its stderr a terminal (a pty) or a pipe."""
    env = {**os.environ, NOTION_TOKEN_ENV: os.environ[NOTION_TOKEN_ENV]}
    args = [
        sys.executable,
        "-m",
        "notion_sync",
        "schema",
        box.database.url,
        "--base-url",
        box.notion.url,
        "--token-env",
        NOTION_TOKEN_ENV,
    ]
    if not terminal:
        done = subprocess.run(args, env=env, capture_output=True, text=True, timeout=60)
        assert done.returncode == 0, done.stderr
        return done.stderr
    leader, follower = pty.openpty()
    with subprocess.Popen(args, env=env, stdout=subprocess.DEVNULL, stderr=follower) as child:
        os.close(follower)
        chunks = []
        while True:
            try:
                chunk = os.read(leader, 4096)
            except OSError:  # the child closed the terminal
                break
            if not chunk:
                break
            chunks.append(chunk)
        assert child.wait(timeout=60) == 0
    os.close(leader)
    return b"".join(chunks).decode(errors="replace")


def test_schema_shows_its_retries_on_a_terminal_and_not_in_cron(box):
    box.notion.server.faults.schedule(503, count=2, path=r"/v1/databases/")
    shown = _schema_on_a_terminal(box, terminal=True)
    assert "retrying in" in shown and "retry 1 of" in shown and "retry 2 of" in shown
    box.notion.server.faults.schedule(503, count=2, path=r"/v1/databases/")
    assert "retrying" not in _schema_on_a_terminal(box, terminal=False)
