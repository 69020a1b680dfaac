"""Client-side pacing: stay under a service's documented rate instead of hitting its 429s.

``Pacer`` paces one process. ``Pacers`` hands a run its pacers, keyed so that whatever shares
a token shares its budget; with ``[celery]`` configured they are ``SharedPacer``s, whose
windows live in Redis (the ``limits`` library), so a fleet of workers shares every limit."""

from __future__ import annotations

import hashlib
import math
import threading
import time
from collections import defaultdict, deque
from typing import Protocol

from notion_sync.core.secrets import Secret

__all__ = ["Pace", "Pacer", "Pacers", "SharedPacer", "pace_key"]


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

    def wait(self, key: str = "", n: int = 1) -> None:
        """Block until ``n`` more calls for ``key`` fit in the window (and any hold is over), then count them."""
        if not 1 <= n <= self.limit:
            raise ValueError(f"a pacer of {self.limit} calls per window cannot take {n} at once")
        while True:
            with self._lock:
                now = time.monotonic()
                delay = self._held.get(key, 0.0) - now
                if delay <= 0:
                    calls = self._live(key, now)
                    if len(calls) + n <= self.limit:
                        calls.extend([now] * n)
                        return
                    # the call whose expiry leaves room for n
                    delay = self.window - (now - calls[len(calls) + n - self.limit - 1])
                self.waited += delay
            time.sleep(delay)

    def room(self, key: str = "") -> int:
        """How many calls for ``key`` would go through now without waiting (0 during a hold)."""
        with self._lock:
            now = time.monotonic()
            if self._held.get(key, 0.0) > now:
                return 0
            return self.limit - len(self._live(key, now))

    def _live(self, key: str, now: float) -> deque[float]:
        """The calls for ``key`` still in the window at ``now`` (the lock held)."""
        calls = self._calls[key]
        while calls and now - calls[0] >= self.window:
            calls.popleft()
        return calls


class Pace(Protocol):
    """What a connector asks of a pacer: ``Pacer`` (this process) or ``SharedPacer`` (the fleet)."""

    waited: float

    def wait(self, key: str = "", n: int = 1) -> None:
        """Block until ``n`` more calls for ``key`` are allowed, then count them."""
        ...

    def room(self, key: str = "") -> int:
        """How many calls for ``key`` would be allowed now without waiting."""
        ...

    def hold(self, key: str, seconds: float) -> None:
        """Let no call for ``key`` through for ``seconds``."""
        ...


def pace_key(*parts: str | Secret) -> str:
    """A pacing key from its parts; a secret (a token) goes in as a hash, never as itself."""
    return ":".join(hashlib.sha256(p.reveal().encode()).hexdigest()[:16] if isinstance(p, Secret) else p for p in parts)


class SharedPacer:
    """A pacer whose budget every process shares: a moving window in Redis, through ``limits``.

    ``limits`` counts whole seconds: a window of 1.1 s becomes 2 s with the same limit, so the
    shared pace, and its bursts, never exceed the local one."""

    def __init__(self, storage_url: str, name: str, limit: int, window: float) -> None:
        from limits import RateLimitItemPerSecond
        from limits.storage import storage_from_string
        from limits.strategies import MovingWindowRateLimiter

        whole = max(1, math.ceil(window))
        self.name = name
        self.item = RateLimitItemPerSecond(limit, whole)
        self.limiter = MovingWindowRateLimiter(storage_from_string(storage_url))
        self._local = Pacer(limit, window)
        self.waited = 0.0

    def wait(self, key: str = "", n: int = 1) -> None:
        """Block until the fleet's window for ``key`` has room for ``n`` calls, then count them in it."""
        self._local.wait(key, n)  # and a hold this process was told of
        while not self.limiter.hit(self.item, self.name, key, cost=n):
            stats = self.limiter.get_window_stats(self.item, self.name, key)
            delay = min(max(stats.reset_time - time.time(), 0.01), float(self.item.get_expiry()))
            self.waited += delay
            time.sleep(delay)

    def room(self, key: str = "") -> int:
        """How many calls for ``key`` the fleet's window (and this process's) allows now."""
        stats = self.limiter.get_window_stats(self.item, self.name, key)
        return min(self._local.room(key), stats.remaining)

    def hold(self, key: str, seconds: float) -> None:
        """Hold this process's calls for ``key`` (the service said its window is spent)."""
        self._local.hold(key, seconds)


class Pacers:
    """Where a run's pacers come from, one per (name, limit, window, scale), so every connector
    instance and thread of the run that uses one token shares its budget.

    With ``storage_url`` (Redis, from ``[celery]``) the pacers are ``SharedPacer``s: every
    process of the fleet shares the budget. Scaled pacing (tests and benchmarks run the
    emulators faster) stays in the process: ``limits`` counts whole seconds."""

    def __init__(self, storage_url: str | None = None) -> None:
        self.storage_url = storage_url
        self._pacers: dict[tuple[str, int, float, float], Pace] = {}
        self._lock = threading.Lock()

    def pacer(self, name: str, limit: int, window: float, *, scale: float = 1.0) -> Pace:
        """The pacer of ``name`` (e.g. ``"notion-token"``); its keys separate tokens, channels..."""
        with self._lock:
            found = self._pacers.get((name, limit, window, scale))
            if found is None:
                if self.storage_url and scale == 1.0:
                    found = SharedPacer(self.storage_url, f"notion-sync:{name}", limit, window)
                else:
                    found = Pacer(limit, window, scale=scale)
                self._pacers[(name, limit, window, scale)] = found
            return found

    @property
    def shared(self) -> bool:
        """Whether the budget is shared across processes."""
        return bool(self.storage_url)
