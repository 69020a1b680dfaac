"""What every ``failure_case`` test asserts about the output: the exit code, and no
traceback and no "unexpected" (the last-resort path of the CLI)."""

from __future__ import annotations

from typing import Any


def assert_clean_failure(outcome: Any, exit_code: int, *texts: str) -> str:
    """``outcome`` is a ``click.testing.Result``, a ``subprocess.CompletedProcess``, or a
    ``NotionSyncError`` from the public API. Returns all its text, for further asserts."""
    if isinstance(outcome, BaseException):
        code = getattr(outcome, "exit_code", None)
        text = str(outcome)
    elif hasattr(outcome, "returncode"):
        code = outcome.returncode
        text = f"{outcome.stdout or ''}{outcome.stderr or ''}"
    else:
        code = outcome.exit_code
        text = outcome.output  # click's Result: stdout and stderr, interleaved
    assert code == exit_code, f"exit code {code}, expected {exit_code}:\n{text}"
    assert "Traceback" not in text, text
    assert "unexpected" not in text.lower(), text
    for wanted in texts:
        assert wanted in text, f"{wanted!r} not in:\n{text}"
    return text
