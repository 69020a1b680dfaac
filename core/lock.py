"""One run at a time per state file: an advisory lock beside it.

The lock is an ``flock`` on ``<state>.lock``; the kernel drops it when the process
dies, so a lock left by a killed run is simply taken over by the next one.
"""

from __future__ import annotations

import fcntl
import os
from pathlib import Path
from types import TracebackType

from notion_sync.core.errors import LockedError

__all__ = ["RunLock"]


class RunLock:
    """``with RunLock(state_path):`` raises ``LockedError`` at once if another run holds it."""

    def __init__(self, state_path: Path) -> None:
        self.state_path = Path(state_path)
        self.path = Path(f"{state_path}.lock")
        self._fd: int | None = None

    def __enter__(self) -> RunLock:
        try:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            fd = os.open(self.path, os.O_RDWR | os.O_CREAT, 0o600)
        except OSError as exc:
            from notion_sync.core.state import state_error

            raise state_error(self.state_path, exc) from None
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            holder = os.read(fd, 64).decode(errors="replace").strip() or "another process"
            os.close(fd)
            raise LockedError(
                f"another notion-sync run (pid {holder}) is using {self.path.with_suffix('')}; "
                "this run exits without doing anything"
            ) from None
        os.ftruncate(fd, 0)
        os.write(fd, str(os.getpid()).encode())
        self._fd = fd
        return self

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        if self._fd is not None:
            fcntl.flock(self._fd, fcntl.LOCK_UN)
            os.close(self._fd)
            self._fd = None
