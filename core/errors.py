"""Every error notion-sync raises, and what the engine does with each.

The class of an error decides the policy; connectors raise, the engine decides::

    NotionSyncError
    ├── ConfigError          bad config or usage: nothing is contacted      exit 2
    ├── LockedError          another run holds the state lock               exit 75
    ├── StateError           the state file cannot be used                  exit 4
    │                        (a full disk, a temporary cause:               exit 75)
    ├── FatalError           this mapping stops; other mappings go on       exit 1
    │   └── AccessError      auth or permission problem                     exit 3
    ├── ItemError            this item fails, is recorded, retried next run exit 1
    │   ├── BadValue         a row's property value cannot be used (bad date)
    │   └── RetryableError   transient: retried now with backoff first
    └── SkipItem             this row is skipped and counted, not an error

A connector turns its client library's exceptions into these in one place (its
``classify`` function), so the status-to-action table of each service lives with
its adapter and nowhere else.
"""

from __future__ import annotations

from dataclasses import dataclass

__all__ = [
    "AccessError",
    "BadValue",
    "ConfigError",
    "ConfigProblem",
    "FatalError",
    "ItemError",
    "LockedError",
    "NotionSyncError",
    "RetryableError",
    "SkipItem",
    "StateError",
    "EXIT_OK",
    "EXIT_ITEMS_FAILED",
    "EXIT_CONFIG",
    "EXIT_ACCESS",
    "EXIT_LOCKED",
    "EXIT_STATE",
    "EXIT_TEMPFAIL",
]

EXIT_OK = 0
EXIT_ITEMS_FAILED = 1
EXIT_CONFIG = 2
EXIT_ACCESS = 3
EXIT_STATE = 4
EXIT_TEMPFAIL = 75
"""EX_TEMPFAIL of sysexits.h: a temporary failure, which cron wrappers know to retry later."""
EXIT_LOCKED = EXIT_TEMPFAIL


class NotionSyncError(Exception):
    """Base of every error notion-sync raises on purpose."""

    exit_code: int = EXIT_ITEMS_FAILED


@dataclass(frozen=True)
class ConfigProblem:
    """One problem in the configuration: where it is, what is wrong, how to fix it."""

    where: str
    message: str

    def __str__(self) -> str:
        return f"{self.where}: {self.message}" if self.where else self.message


class ConfigError(NotionSyncError):
    """The configuration or the command line is wrong. Lists every problem at once."""

    exit_code = EXIT_CONFIG

    def __init__(self, problems: list[ConfigProblem] | str, *, source: str | None = None) -> None:
        if isinstance(problems, str):
            problems = [ConfigProblem("", problems)]
        self.problems = problems
        self.source = source
        head = f"{source}: " if source else ""
        if len(problems) == 1:
            text = head + str(problems[0])
        else:
            text = f"{head}{len(problems)} problems:\n" + "\n".join(f"  - {p}" for p in problems)
        super().__init__(text)


class LockedError(NotionSyncError):
    """Another notion-sync run holds the lock on this state file."""

    exit_code = EXIT_LOCKED


class StateError(NotionSyncError):
    """The state file cannot be opened or written: names the file, the cause and the fix.

    ``temporary`` (a full disk) exits 75, a temporary failure as cron sees it; the others
    (corrupt, a directory, another program's database, read-only) exit 4."""

    def __init__(self, message: str, *, temporary: bool = False) -> None:
        super().__init__(message)
        self.temporary = temporary
        self.exit_code = EXIT_TEMPFAIL if temporary else EXIT_STATE


class FatalError(NotionSyncError):
    """The mapping cannot go on (channel gone, board missing...). Other mappings continue."""

    exit_code = EXIT_ITEMS_FAILED


class AccessError(FatalError):
    """Credentials are invalid or lack permission. Nothing more is written for the mapping."""

    exit_code = EXIT_ACCESS


class ItemError(NotionSyncError):
    """One item failed (the target rejected it). It is recorded and retried on a later run."""


class BadValue(ItemError):
    """A row's property holds a value notion-sync cannot use (an impossible date, a year past
    9999, a time zone that does not exist). Raised when the property is read, so only a
    property the mapping uses fails its row; the row is retried once it is edited."""


class RetryableError(ItemError):
    """A transient failure (rate limit, 5xx, dropped connection) worth retrying now.

    ``retry_after`` is the delay in seconds the service asked for, if it said one.
    """

    def __init__(self, message: str, *, retry_after: float | None = None) -> None:
        super().__init__(message)
        self.retry_after = retry_after


class SkipItem(NotionSyncError):
    """The row has nothing to write for this mapping (no date, say). Counted as skipped.

    If the row was written before, its item is removed as if the row had left.
    """
