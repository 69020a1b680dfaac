"""Several openers of one state at the same moment, as workers (or cron beside ``serve``) are."""

from __future__ import annotations

import threading
from pathlib import Path

from notion_sync.core.secrets import Secret
from notion_sync.core.state import StateStore


def open_together(where: Path | Secret, openers: int = 4) -> list[BaseException]:
    """Open (create or migrate) the state at ``where`` from ``openers`` threads released at once,
    each with its own connection, and close it; the errors they met."""
    start = threading.Barrier(openers)
    errors: list[BaseException] = []

    def open_it() -> None:
        start.wait()
        try:
            StateStore.open(where).close()
        except BaseException as exc:  # noqa: BLE001 - collected for the caller's assertion
            errors.append(exc)

    threads = [threading.Thread(target=open_it) for _ in range(openers)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    return errors
