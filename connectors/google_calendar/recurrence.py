"""A row's repeat rule as Google Calendar's ``recurrence``: an RRULE (RFC 5545) or a plain word."""

from __future__ import annotations

import re
from collections.abc import Callable

from notion_sync.sdk import ItemError

__all__ = ["WORDS", "recurrence"]

WORDS = {"daily": "DAILY", "weekly": "WEEKLY", "monthly": "MONTHLY", "yearly": "YEARLY"}
"""The words a select or text property may hold instead of a rule."""

_FREQS = frozenset({"SECONDLY", "MINUTELY", "HOURLY", "DAILY", "WEEKLY", "MONTHLY", "YEARLY"})
_DAY = re.compile(r"[+-]?\d{0,2}(MO|TU|WE|TH|FR|SA|SU)")
_NUMBERS = re.compile(r"[+-]?\d{1,3}(,[+-]?\d{1,3})*")
_UNTIL = re.compile(r"\d{8}(T\d{6}Z?)?")
_CHECKS: dict[str, Callable[[str], bool]] = {
    "FREQ": lambda v: v in _FREQS,
    "UNTIL": lambda v: bool(_UNTIL.fullmatch(v)),
    "COUNT": lambda v: v.isdigit() and int(v) > 0,
    "INTERVAL": lambda v: v.isdigit() and int(v) > 0,
    "BYDAY": lambda v: all(_DAY.fullmatch(d) for d in v.split(",")),
    "WKST": lambda v: v in ("MO", "TU", "WE", "TH", "FR", "SA", "SU"),
    **{
        key: lambda v: bool(_NUMBERS.fullmatch(v))
        for key in ("BYSECOND", "BYMINUTE", "BYHOUR", "BYMONTHDAY", "BYYEARDAY", "BYWEEKNO", "BYMONTH", "BYSETPOS")
    },
}


def recurrence(value: str, name: str) -> list[str] | None:
    """``["RRULE:…"]`` for a rule (``FREQ=WEEKLY;BYDAY=MO,WE``, with or without ``RRULE:``) or a
    word (daily, weekly, monthly, yearly); None for an empty value. ``ItemError`` names the
    property and the value when it is neither."""
    text = value.strip()
    if not text:
        return None
    word = WORDS.get(text.lower())
    if word is not None:
        return [f"RRULE:FREQ={word}"]
    rule = text[len("RRULE:") :] if text.upper().startswith("RRULE:") else text
    parts: dict[str, str] = {}
    for part in rule.split(";"):
        key, sep, raw = part.partition("=")
        key = key.strip().upper()
        check = _CHECKS.get(key)
        if not sep or check is None or key in parts or not check(raw.strip().upper()):
            raise ItemError(
                f"{name} is {value!r}, which is not a repeat rule: use daily, weekly, monthly, yearly or an "
                "RRULE such as FREQ=WEEKLY;BYDAY=MO,WE"
            )
        parts[key] = raw.strip().upper()
    if "FREQ" not in parts or ("UNTIL" in parts and "COUNT" in parts):
        raise ItemError(
            f"{name} is {value!r}, which is not a repeat rule: it needs FREQ (and UNTIL or COUNT, not both), "
            "e.g. FREQ=WEEKLY;BYDAY=MO,WE"
        )
    return ["RRULE:" + ";".join(f"{k}={v}" for k, v in parts.items())]
