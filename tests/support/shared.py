"""Finding ``../shared/reference`` (official specs, recorded traffic): on the team's machines
and in CI, not in users' clones, where the tests that need it skip with a reason."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]


def _candidates() -> list[Path]:
    override = os.environ.get("NOTION_SYNC_SHARED")
    found = [Path(override) / "reference"] if override else []
    found.append(REPO.parent / "shared" / "reference")
    git_file = REPO / ".git"
    if git_file.is_file():  # a git worktree: its .git file points into <main checkout>/.git/worktrees/<name>
        gitdir = git_file.read_text().partition("gitdir:")[2].strip()
        if gitdir:
            found.append(Path(gitdir).resolve().parents[2].parent / "shared" / "reference")
    return found


def shared_reference() -> Path:
    """``<repo root>/../shared/reference``, or skip the test with the reason."""
    candidates = _candidates()
    for path in candidates:
        if path.is_dir():
            return path
    pytest.skip(f"reference material not found at {candidates[-1 if len(candidates) > 1 else 0]}: "
                "the official specs and recordings live outside the project, on the team's machines and in CI")


def spec(name: str) -> Path:
    """A file of ``../shared/reference/specs``, or skip."""
    return shared_reference() / "specs" / name
