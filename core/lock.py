"""One run at a time per mapping: runs of different mappings on one state go side by side.

With SQLite state, a mapping's lock is an ``flock`` on a file in ``<state>.locks/`` beside the
state file; with PostgreSQL state, a ``pg_try_advisory_lock`` keyed on the mapping, held on a
connection of its own. Either way the lock dies with its holder (the kernel drops the flock, the
server drops a dead connection's locks), so a killed run's mapping is simply taken over by the
next run. A refused lock names its holder, ``pid N@host``.
"""

from __future__ import annotations

import fcntl
import hashlib
import os
import re
import socket
from contextlib import AbstractContextManager
from pathlib import Path
from types import TracebackType
from typing import Protocol

from notion_sync.core.errors import LockedError
from notion_sync.core.secrets import Secret

__all__ = ["FileMappingLock", "MappingHeld", "MappingLock", "holder_identity", "lock_key", "mapping_lock"]


def holder_identity() -> str:
    """How a lock names the process holding it: ``pid N@host``."""
    return f"pid {os.getpid()}@{socket.gethostname()}"


def lock_key(mapping: str) -> int:
    """A mapping's lock as one signed 64-bit number (PostgreSQL's advisory lock key)."""
    return int.from_bytes(hashlib.sha256(f"notion-sync mapping {mapping}".encode()).digest()[:8], "big", signed=True)


class MappingHeld(LockedError):
    """Another notion-sync process is syncing this mapping; ``holder`` names it."""

    def __init__(self, mapping: str, holder: str, where: str) -> None:
        self.mapping = mapping
        self.holder = holder
        super().__init__(
            f"another notion-sync run ({holder}) is syncing mapping {mapping!r} on {where}; "
            "this run exits without doing anything"
        )


class MappingLock(AbstractContextManager["MappingLock"], Protocol):
    """``with lock:`` holds a mapping's lock or raises ``MappingHeld`` at once."""

    mapping: str


class FileMappingLock:
    """A mapping's lock beside a SQLite state file: ``<state>.locks/<mapping>.lock``."""

    def __init__(self, state_path: Path, mapping: str) -> None:
        self.state_path = Path(state_path)
        self.mapping = mapping
        self.path = self.state_path.parent / f"{self.state_path.name}.locks" / _file_name(mapping)
        self._fd: int | None = None

    def __enter__(self) -> FileMappingLock:
        try:
            self.path.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
            fd = os.open(self.path, os.O_RDWR | os.O_CREAT, 0o600)
        except OSError as exc:
            from notion_sync.core.state import state_error

            raise state_error(self.state_path, exc) from None
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            holder = os.read(fd, 200).decode(errors="replace").strip() or "another process"
            os.close(fd)
            raise MappingHeld(self.mapping, holder, str(self.state_path)) from None
        os.ftruncate(fd, 0)
        os.write(fd, holder_identity().encode())
        self._fd = fd
        return self

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        if self._fd is not None:
            fcntl.flock(self._fd, fcntl.LOCK_UN)
            os.close(self._fd)
            self._fd = None

    def holder(self) -> str | None:
        """Who holds the lock now (None when nobody does)."""
        try:
            fd = os.open(self.path, os.O_RDONLY)
        except FileNotFoundError:
            return None
        try:
            fcntl.flock(fd, fcntl.LOCK_SH | fcntl.LOCK_NB)
        except BlockingIOError:
            return os.read(fd, 200).decode(errors="replace").strip() or "another process"
        finally:
            os.close(fd)
        return None


def _file_name(mapping: str) -> str:
    """A file name for any mapping name: its safe characters, and a hash that keeps it unique."""
    slug = re.sub(r"[^A-Za-z0-9_.-]+", "-", mapping).strip(".-")[:60] or "mapping"
    return f"{slug}-{hashlib.sha256(mapping.encode()).hexdigest()[:8]}.lock"


def mapping_lock(location: Path | Secret, mapping: str) -> MappingLock:
    """The lock of ``mapping`` on the state at ``location`` (a SQLite path or a PostgreSQL URL)."""
    if isinstance(location, Secret):
        from notion_sync.core.postgres import AdvisoryLock

        return AdvisoryLock(location, mapping)
    return FileMappingLock(location, mapping)
