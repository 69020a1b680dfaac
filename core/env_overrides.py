"""``NOTION_SYNC_*`` environment variables: overrides of any config key, checked like the file.

``NOTION_SYNC_<SECTION>__<KEY>`` sets a key of ``[notion]``, ``[state]`` or any connector's
table, plugins included (``NOTION_SYNC_SLACK__TOKEN_ENV``); ``NOTION_SYNC_MAPPINGS__0__ENABLED``
a key of the first mapping; ``NOTION_SYNC_<SECTION>`` (``NOTION_SYNC_MAPPINGS``) a whole table
or list as JSON. Values are strings, read like TOML's (``false``, ``3.0``), or JSON for a table
or a list. A ``NOTION_SYNC_*`` variable that is none of these is an error with a "did you
mean", as an unknown key in the file is, unless the tool reads it on purpose (below) or the
config names it as a secret's ``*_env``.
"""

from __future__ import annotations

import difflib
import json
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

from notion_sync.core.errors import ConfigProblem

__all__ = ["PREFIX", "READ_ON_PURPOSE", "EnvOverrides", "apply_env_overrides"]

PREFIX = "NOTION_SYNC_"
READ_ON_PURPOSE = ("NOTION_SYNC_CONFIG", "NOTION_SYNC_RETRY_SCALE", "NOTION_SYNC_SHARED")
"""Variables notion-sync reads itself; the demo's, the soak test's and the benchmarks' too:"""
READ_ON_PURPOSE_PREFIXES = ("NOTION_SYNC_DEMO_", "NOTION_SYNC_SOAK_", "NOTION_SYNC_BENCH_")


@dataclass
class EnvOverrides:
    """The config data with the environment applied, which variable set which key, and the
    problems (each naming its variable)."""

    data: dict[str, Any]
    origins: dict[tuple[str | int, ...], str] = field(default_factory=dict)
    problems: list[ConfigProblem] = field(default_factory=list)

    def origin(self, path: tuple[str | int, ...]) -> str | None:
        """The variable that set ``path`` or a table or list around it, if one did."""
        for n in range(len(path), 0, -1):
            if path[:n] in self.origins:
                return self.origins[path[:n]]
        return None


def _value(raw: str) -> Any:
    stripped = raw.strip()
    if stripped[:1] in "[{":
        try:
            return json.loads(stripped)
        except json.JSONDecodeError:
            return raw  # a template such as "{Name}": the key's own validation decides
    return raw


def _secret_env_names(data: Any) -> set[str]:
    """Every value of a ``*_env`` key: a variable the config names, e.g. a token's."""
    found: set[str] = set()
    if isinstance(data, dict):
        for key, value in data.items():
            if str(key).endswith("_env") and isinstance(value, str):
                found.add(value.upper())
            found |= _secret_env_names(value)
    elif isinstance(data, list):
        for item in data:
            found |= _secret_env_names(item)
    return found


def apply_env_overrides(
    data: dict[str, Any],
    environ: Mapping[str, str],
    sections: Mapping[str, Iterable[str]],
) -> EnvOverrides:
    """``data`` (the file's) with every ``NOTION_SYNC_*`` variable of ``environ`` applied.

    ``sections``: each table's name (``notion``, ``state``, ``mappings``, every connector's)
    with its keys, for the "did you mean" of an unknown variable."""
    result = EnvOverrides(json.loads(json.dumps(data, default=str)))
    named = {name.upper() for name in _secret_env_names(data)}
    names = sorted(n for n in environ if n.upper().startswith(PREFIX))
    named |= {name.upper() for name in _secret_env_names([_value(environ[n]) for n in names])}
    candidates = [f"{PREFIX}{s.upper()}" for s in sections] + [
        f"{PREFIX}{s.upper()}__{k.upper()}" for s, keys in sections.items() for k in keys
    ]
    for name in names:
        upper = name.upper()
        if upper in READ_ON_PURPOSE or upper.startswith(READ_ON_PURPOSE_PREFIXES) or upper in named:
            continue
        parts: list[str | int] = [p.lower() for p in upper[len(PREFIX) :].split("__")]
        if parts[0] not in sections or any(p == "" for p in parts):
            hint = difflib.get_close_matches(upper, candidates, n=1, cutoff=0.75)
            result.problems.append(
                ConfigProblem(
                    f"environment variable {name}",
                    "not a config key"
                    + (f"; did you mean {hint[0]}?" if hint else "")
                    + f" (write {PREFIX}<SECTION>__<KEY>, with two underscores between levels; "
                    f"sections: {', '.join(sections)})",
                )
            )
            continue
        value = _value(environ[name])
        if len(parts) == 1:
            wanted = list if parts[0] == "mappings" else dict
            if not isinstance(value, wanted):
                shape = "a JSON list of mapping tables" if wanted is list else "a JSON object of the table's keys"
                result.problems.append(
                    ConfigProblem(f"environment variable {name}", f"must be {shape}, e.g. {_example(wanted)}")
                )
                continue
        if parts[0] == "mappings" and len(parts) > 1:
            index = str(parts[1])
            count = len(result.data.get("mappings") or [])
            if not index.isdigit() or int(index) >= count:
                result.problems.append(
                    ConfigProblem(
                        f"environment variable {name}",
                        f"after MAPPINGS__ comes a mapping's index: 0 to {count - 1} here"
                        if count
                        else "there are no mappings to override",
                    )
                )
                continue
            parts[1] = int(index)
        if not _set(result.data, parts, value):
            result.problems.append(
                ConfigProblem(f"environment variable {name}", "sets a key inside a value that is not a table")
            )
            continue
        result.origins[tuple(parts)] = name
    return result


def _example(kind: type) -> str:
    return '[{"name": "tasks", "connector": "...", "database": "..."}]' if kind is list else '{"key": "value"}'


def _set(data: dict[str, Any], parts: list[str | int], value: Any) -> bool:
    node: Any = data
    for here, below in zip(parts[:-1], parts[1:], strict=False):
        if isinstance(here, int):
            child = node[here]
        else:
            child = node.get(here)
            if child is None:
                child = node[here] = {}
        if not isinstance(child, list if isinstance(below, int) else dict):
            return False
        node = child
    node[parts[-1]] = value
    return True
