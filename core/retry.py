"""One retry policy for every service, built on tenacity.

A connector wraps each API call::

    result = call_with_retry(lambda: client.post(...), classify=classify, what="create card")

``classify`` turns the client library's exception into one of ``notion_sync.core.errors``;
only a ``RetryableError`` is retried, honouring its ``retry_after`` (capped), or
else with exponential backoff and jitter. When attempts run out, the last
``RetryableError`` is raised and fails the item; anything else is raised at once.

Who makes the calls passes the policy: the engine hands its own to the Notion reader and to
every connector (``Connector.retry_policy``). Without one, ``RetryPolicy.from_env()`` is used.

``NOTION_SYNC_RETRY_SCALE`` (a number, default 1) multiplies every wait of the policy that
``RetryPolicy.from_env`` builds, Retry-After included. It exists for the soak test, which runs ``notion-sync run``
as a subprocess under injected faults and needs retries to keep their logic but not
their waiting; never set it in production.
"""

from __future__ import annotations

import logging
import os
from collections.abc import Callable
from dataclasses import dataclass
from typing import TypeVar

from tenacity import RetryCallState, Retrying, retry_if_exception_type, stop_after_attempt, wait_random_exponential

from notion_sync.core.errors import RetryableError

__all__ = ["RetryPolicy", "DEFAULT_POLICY", "call_with_retry"]

T = TypeVar("T")
log = logging.getLogger(__name__)


@dataclass(frozen=True)
class RetryPolicy:
    """How hard to retry: attempts in all, backoff base and cap, and the longest Retry-After honoured."""

    attempts: int = 5
    initial: float = 0.5
    max_wait: float = 30.0
    max_retry_after: float = 120.0
    scale: float = 1.0
    """Multiplies every wait (tests only: see ``NOTION_SYNC_RETRY_SCALE``)."""

    def retry_after_wait(self, seconds: float) -> float:
        """How long a service's Retry-After of ``seconds`` is waited: capped, then scaled."""
        return min(max(seconds, 0.0), self.max_retry_after) * self.scale

    @classmethod
    def from_env(cls) -> RetryPolicy:
        """The standard policy, its waits scaled by ``NOTION_SYNC_RETRY_SCALE`` when that is set."""
        return cls(scale=_env_scale())


def _env_scale() -> float:
    try:
        return max(float(os.environ.get("NOTION_SYNC_RETRY_SCALE", "1")), 0.0)
    except ValueError:
        return 1.0


DEFAULT_POLICY = RetryPolicy()


def _waiter(policy: RetryPolicy) -> Callable[[RetryCallState], float]:
    backoff = wait_random_exponential(multiplier=policy.initial, max=policy.max_wait)

    def wait(state: RetryCallState) -> float:
        exc = state.outcome.exception() if state.outcome else None
        if isinstance(exc, RetryableError) and exc.retry_after is not None:
            return policy.retry_after_wait(exc.retry_after)
        return float(backoff(state)) * policy.scale

    return wait


def call_with_retry(
    fn: Callable[[], T],
    *,
    classify: Callable[[Exception], Exception],
    what: str,
    policy: RetryPolicy | None = None,
) -> T:
    """Call ``fn``, classifying its exceptions and retrying the retryable ones (by ``policy``,
    or else ``RetryPolicy.from_env()``)."""
    policy = policy or RetryPolicy.from_env()

    def attempt() -> T:
        try:
            return fn()
        except Exception as exc:  # noqa: BLE001 - classify decides
            classified = classify(exc)
            if classified is exc:
                raise
            raise classified from exc

    def before_sleep(state: RetryCallState) -> None:
        exc = state.outcome.exception() if state.outcome else None
        wait = state.next_action.sleep if state.next_action else 0.0
        # At info: shown on a terminal (see output.setup_logging), so seconds of retries are
        # never silent there; a cron run's log stays quiet unless the retries run out.
        log.info(
            "%s: %s; retrying in %.1f s (retry %d of %d)", what, exc, wait, state.attempt_number, policy.attempts - 1
        )

    retrying = Retrying(
        stop=stop_after_attempt(policy.attempts),
        wait=_waiter(policy),
        retry=retry_if_exception_type(RetryableError),
        before_sleep=before_sleep,
        reraise=True,
    )
    return retrying(attempt)
