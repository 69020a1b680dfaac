"""Client-side pacing: stay under a service's documented rate instead of hitting its 429s.

``Pacer`` paces one process. ``Pacers`` hands a run its pacers, keyed so that whatever shares
a token shares its budget; with ``[celery]`` configured they are ``SharedPacer``s, whose
windows and holds live in Redis, so a fleet of workers shares every limit."""

from __future__ import annotations

import hashlib
import math
import threading
import time
import uuid
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


_TAKE = """
local held = redis.call('PTTL', KEYS[2])
if held > 0 then
  if ARGV[5] == 'room' then return {1, 0} end
  return {1, held * 1000}
end
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000000 + tonumber(t[2])
local limit, window, n = tonumber(ARGV[1]), tonumber(ARGV[2]), tonumber(ARGV[3])
redis.call('ZREMRANGEBYSCORE', KEYS[1], '-inf', now - window)
local used = redis.call('ZCARD', KEYS[1])
if ARGV[5] == 'room' then return {3, math.max(0, limit - used)} end
if used + n <= limit then
  if ARGV[5] ~= 'peek' then
    for i = 1, n do redis.call('ZADD', KEYS[1], now, ARGV[4] .. ':' .. i) end
    redis.call('PEXPIRE', KEYS[1], math.ceil(window / 1000))
  end
  return {0, 0}
end
local k = used + n - limit - 1
local freed = redis.call('ZRANGE', KEYS[1], k, k, 'WITHSCORES')
return {2, math.floor(tonumber(freed[2]) + window - now) + 1}
"""
"""One atomic round trip: is ``KEYS[2]`` (a hold) set? Else drop the calls older than the window
from the log ``KEYS[1]`` (a sorted set scored by Redis's own clock, in microseconds) and, if
``n`` more fit under ``limit``, log them. Returns ``{0, 0}`` (taken), ``{1, µs}`` (held) or
``{2, µs}`` (full: when the oldest call that must go leaves the window). With ``ARGV[5]``
``"peek"`` nothing is logged; with ``"room"`` it returns ``{3, free slots}`` (``{1, 0}`` when held)."""

_HOLD = """
local ms = tonumber(ARGV[1])
if redis.call('PTTL', KEYS[1]) < ms then redis.call('SET', KEYS[1], '1', 'PX', ms) end
"""
"""Set the hold ``KEYS[1]`` for ``ARGV[1]`` ms, unless it is already held for longer."""


class SharedPacer:
    """A pacer whose budget every process shares: a sliding log per key in Redis.

    Each ``wait`` is one atomic Lua call through redis-py (``_TAKE``): it checks the key's
    hold, drops calls that left the window and logs this one if it fits. Windows are kept to
    the microsecond on Redis's clock, so 1 post per 1.1 s stays exactly that across hosts
    whose clocks differ, and scaled windows (tests, benchmarks) are shared too. ``hold`` sets
    a key with a millisecond expiry that every process's ``wait`` honours.

    ``limits`` was used before; it counts whole seconds (1.1 s became 2 s), and neither it nor
    pyrate-limiter's Redis bucket (host clocks, no expiry on its keys, no hold) fits this."""

    def __init__(self, storage_url: str, name: str, limit: int, window: float) -> None:
        import redis

        if limit < 1 or window <= 0:
            raise ValueError("a pacer needs limit >= 1 and window > 0")
        self.name = name
        self.limit = limit
        self.window = window
        self._redis = redis.Redis.from_url(storage_url)
        self._take = self._redis.register_script(_TAKE)
        self._hold = self._redis.register_script(_HOLD)
        self.waited = 0.0

    def _keys(self, key: str) -> list[str]:
        # The {key} hash tag keeps a key's log and its hold in one Redis Cluster slot; the log
        # is per window, since pacers with different windows cannot share one log.
        return [f"{self.name}:{round(self.window * 1e6)}us:{{{key}}}", f"{self.name}:{{{key}}}:hold"]

    def _call(self, key: str, n: int, mode: str) -> int:
        args: list[int | str] = [self.limit, round(self.window * 1e6), n, uuid.uuid4().hex, mode]
        _, value = self._take(keys=self._keys(key), args=args)
        return int(value)

    def _try(self, key: str, n: int, *, peek: bool = False) -> float:
        """0 when ``n`` calls for ``key`` fit now (and, unless ``peek``, are counted); else the seconds to wait."""
        if not 1 <= n <= self.limit:
            raise ValueError(f"a pacer of {self.limit} calls per window cannot take {n} at once")
        return self._call(key, n, "peek" if peek else "take") / 1e6

    def wait(self, key: str = "", n: int = 1) -> None:
        """Block until the fleet's window for ``key`` has room for ``n`` calls (and no hold is
        on), then count them, all at once."""
        while (delay := self._try(key, n)) > 0:
            self.waited += delay
            time.sleep(delay)

    def delay(self, key: str = "") -> float:
        """Seconds until one more call for ``key`` would be let through (0: now), counting nothing."""
        return self._try(key, 1, peek=True)

    def room(self, key: str = "") -> int:
        """How many calls for ``key`` the fleet's window allows now (0 during a hold), counting nothing."""
        return self._call(key, 1, "room")

    def hold(self, key: str, seconds: float) -> None:
        """Let no process's call for ``key`` through for ``seconds`` (the service said its window
        is spent). Not scaled: the service's time."""
        self._hold(keys=self._keys(key)[1:], args=[max(1, math.ceil(seconds * 1000))])


class Pacers:
    """Where a run's pacers come from, one per (name, limit, window, scale), so every connector
    instance and thread of the run that uses one token shares its budget.

    With ``storage_url`` (Redis, from ``[celery]``) the pacers are ``SharedPacer``s: every
    process of the fleet shares the budget, scaled windows (tests and benchmarks run the
    emulators faster) included."""

    def __init__(self, storage_url: str | None = None) -> None:
        self.storage_url = storage_url
        self._pacers: dict[tuple[str, int, float, float], Pace] = {}
        self._lock = threading.Lock()

    def pacer(self, name: str, limit: int, window: float, *, scale: float = 1.0) -> Pace:
        """The pacer of ``name`` (e.g. ``"notion-token"``); its keys separate tokens, channels..."""
        with self._lock:
            found = self._pacers.get((name, limit, window, scale))
            if found is None:
                if self.storage_url:
                    found = SharedPacer(self.storage_url, f"notion-sync:{name}", limit, window / scale)
                else:
                    found = Pacer(limit, window, scale=scale)
                self._pacers[(name, limit, window, scale)] = found
            return found

    @property
    def shared(self) -> bool:
        """Whether the budget is shared across processes."""
        return bool(self.storage_url)
