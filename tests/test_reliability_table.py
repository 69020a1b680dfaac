"""docs/reliability.md's table of bad inputs and failures is generated from the tests' marks."""

from __future__ import annotations

import subprocess
import sys

from tests.reliability_table import DOC, END, REPO, START


def test_the_failure_table_is_current_and_long_enough():
    done = subprocess.run(
        [sys.executable, "-m", "tests.reliability_table", "--check"], cwd=REPO, capture_output=True, text=True
    )
    assert done.returncode == 0, done.stderr + done.stdout
    text = DOC.read_text()
    table = text.partition(START)[2].partition(END)[0]
    rows = [line for line in table.splitlines() if line.startswith("| ") and not line.startswith("| bad input")]
    assert len(rows) >= 60, f"only {len(rows)} failure cases in docs/reliability.md"
    assert all(row.split(" | ")[2].strip().isdigit() for row in rows)
