"""Each service's documented rate limit and a realistic latency, scaled by one common factor.

Scaling divides every duration (windows, latencies, Retry-After, backoff) by ``scale``, so a
scaled run lasts ``1/scale`` of the real one and every ratio (wall time / floor, ours / naive)
stays what it would be against the real services, as long as the run is not CPU-bound; the
suite reports the process's CPU share so that can be checked.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

__all__ = ["Limit", "LATENCY", "LIMITS", "floor_seconds"]


@dataclass(frozen=True)
class Limit:
    """At most ``count`` calls per sliding ``window`` seconds (real time), for calls matching ``what``."""

    count: int
    window: float
    what: str
    """Which calls the limit counts, in words (for the docs and the table)."""
    burst: int = 1
    """The emulator enforces ``burst * count`` per ``burst * window``: the same rate, with the short
    bursts the service tolerates (a client pacing exactly at the rate is then not punished for a
    millisecond of scheduling jitter, which scaling makes large relative to the window)."""

    def floor(self, calls: int) -> float:
        """The least real time ``calls`` calls can take under this limit: the first ``count`` go at once,
        each further ``count`` one ``window`` later (latency and CPU ignored)."""
        return 0.0 if calls <= 0 else (math.ceil(calls / self.count) - 1) * self.window


LATENCY: dict[str, tuple[float, float]] = {
    "notion": (0.050, 0.150),
    "google_calendar": (0.030, 0.100),
    "trello": (0.030, 0.100),
    "slack": (0.030, 0.100),
}
"""Per-request latency, (low, high) seconds, uniformly drawn, before scaling."""

LIMITS: dict[str, dict[str, Limit]] = {
    # Notion: "an average of three requests per second; some bursts beyond the average are allowed".
    # NotionSource paces at 6 per 2 s, so the emulator allows that burst.
    "notion": {"all": Limit(6, 2.0, "every request (3/s average)")},
    # Google: about 600 queries per minute per user; every call inside a batch counts.
    "google_calendar": {"all": Limit(600, 60.0, "every API call, batched calls each count (600/min/user)")},
    # Trello: 100 requests per 10 s per token (and 300 per 10 s per key).
    "trello": {"all": Limit(100, 10.0, "every request (100/10 s per token)")},
    # Slack: chat.postMessage 1 per second per channel (short bursts tolerated); chat.update and
    # chat.delete are Tier 3, about 50 per minute each. Other methods are not limited here.
    "slack": {
        "post": Limit(1, 1.0, "chat.postMessage (1/s per channel)", burst=3),
        "update": Limit(50, 60.0, "chat.update (Tier 3, 50/min)"),
        "delete": Limit(50, 60.0, "chat.delete (Tier 3, 50/min)"),
    },
}


def floor_seconds(calls: dict[str, dict[str, int]], scale: float) -> tuple[float, str]:
    """The rate-limit floor of a run (scaled seconds) and the limit that sets it.

    ``calls`` is service -> limit name -> calls counted by that limit. Services are independent, so the
    floor is the largest of their floors: what a sync that overlaps everything perfectly could reach.
    """
    best, which = 0.0, ""
    for service, per_limit in calls.items():
        for name, n in per_limit.items():
            limit = LIMITS[service][name]
            t = limit.floor(n) / scale
            if t > best:
                best, which = t, f"{service}: {n} × {limit.what}"
    return best, which
