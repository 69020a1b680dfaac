"""Client-side pacing: stay under a service's documented rate instead of hitting its 429s."""

from __future__ import annotations

import threading
import time
from collections import defaultdict, deque

__all__ = ["Pacer"]


class Pacer:
    """Allow at most ``limit`` calls per ``window`` seconds for each key (a token, a channel).

    ``wait(key)`` blocks until a call is allowed. ``scale`` divides every delay: the
    benchmarks use it to run rate-limited scenarios faster with the same ratios.
    """

    def __init__(self, limit: int, window: float, *, scale: float = 1.0) -> None:
        if limit < 1 or window <= 0:
            raise ValueError("a pacer needs limit >= 1 and window > 0")
        self.limit = limit
        self.window = window / scale
        self._calls: defaultdict[str, deque[float]] = defaultdict(deque)
        self._lock = threading.Lock()
        self._held: dict[str, float] = {}
        self.waited = 0.0

    def hold(self, key: str, seconds: float) -> None:
        """Let no call for ``key`` through for ``seconds``: the service said its window is spent
        (by other processes, too, which this pacer cannot see). Not scaled: the service's time."""
        with self._lock:
            until = time.monotonic() + seconds
            self._held[key] = max(self._held.get(key, 0.0), until)

    def wait(self, key: str = "") -> None:
        """Block until one more call for ``key`` fits in the window (and any hold is over), then count it."""
        while True:
            with self._lock:
                now = time.monotonic()
                delay = self._held.get(key, 0.0) - now
                if delay <= 0:
                    calls = self._calls[key]
                    while calls and now - calls[0] >= self.window:
                        calls.popleft()
                    if len(calls) < self.limit:
                        calls.append(now)
                        return
                    delay = self.window - (now - calls[0])
                self.waited += delay
            time.sleep(delay)
