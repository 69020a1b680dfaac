"""The emulators' clock: real time until a test freezes it, then only what the test says.

Every emulator reads its timestamps (created, updated, message ts...) from its own
``EmulatorClock`` instead of ``time.time``, so a test or a benchmark can pin the time a
service reports, or move it forward, without touching the process's clock.
"""

from __future__ import annotations

import threading
from datetime import UTC, datetime, timedelta

__all__ = ["EmulatorClock"]


class EmulatorClock:
    """A settable, advancing clock (aware UTC). Thread-safe: the server reads it while tests set it."""

    def __init__(self, when: datetime | None = None) -> None:
        self._lock = threading.Lock()
        self._frozen: datetime | None = None
        self.set(when)

    @property
    def frozen(self) -> bool:
        """Whether the clock is pinned (``set`` or ``advance``) rather than following real time."""
        with self._lock:
            return self._frozen is not None

    def now(self) -> datetime:
        """The current time: real time unless frozen."""
        with self._lock:
            return self._frozen if self._frozen is not None else datetime.now(UTC)

    def timestamp(self) -> float:
        """``now()`` as seconds since the epoch, as ``time.time()`` gives them."""
        return self.now().timestamp()

    def set(self, when: datetime | None) -> None:
        """Freeze the clock at ``when`` (naive means UTC), or go back to real time with None."""
        if when is not None and when.tzinfo is None:
            when = when.replace(tzinfo=UTC)
        with self._lock:
            self._frozen = when.astimezone(UTC) if when is not None else None

    def advance(self, **timedelta_kwargs: float) -> None:
        """Move the clock forward (``advance(minutes=2)``); a running clock is frozen first."""
        moved = self.now() + timedelta(**timedelta_kwargs)
        with self._lock:
            self._frozen = moved
