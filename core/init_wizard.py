"""``notion-sync init``: from a database URL to a starter ``notion-sync.toml``.

It reads the database's schema with the same ``NotionSource`` the engine uses, then
writes one mapping per chosen target with that connector's guesses (the title property to
the item's main text, the first date property to its date...). Secrets appear only as
``*_env`` lines naming environment variables, never as values.

The guesses come from each connector: ``Connector.starter(schema)`` returns a ``Starter``
(see ``notion_sync.core.adapter``) with the mapping's keys, the ``[<connector>]`` table,
comments for both and the questions to ask. A connector that guesses nothing gets a
comment listing its mapping keys for the user to fill in; one that gives no service
table gets the ``*_env`` keys and the required keys of its ``Settings`` model, with
placeholders.

The file is checked with ``load_config`` right after it is written, so what ``init``
writes is what ``check`` and ``run`` accept (or the problems are shown at once).
"""

from __future__ import annotations

import json
import os
import re
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, Protocol

from pydantic import BaseModel

from notion_sync.core.adapter import Connector, Starter
from notion_sync.core.config import NotionConfig, load_config
from notion_sync.core.errors import EXIT_CONFIG, EXIT_OK, ConfigError, ConfigProblem
from notion_sync.core.notion_source import NotionSource
from notion_sync.core.output import Output
from notion_sync.core.plugins import Discovery, discover
from notion_sync.core.schema_view import NotionAccess, SchemaView, open_source, read_schema, schema_table
from notion_sync.core.secrets import REDACTOR, Secret, clean_secret, resolve_secret

__all__ = [
    "InitOptions",
    "Prompter",
    "Starter",
    "render_config",
    "run_init",
    "starter_for",
]

Schema = dict[str, dict[str, Any]]
DEFAULT_BASE_URL = str(NotionConfig.model_fields["base_url"].default)
_ENV_NAME = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")
_BARE_KEY = re.compile(r"^[A-Za-z0-9_-]+$")
_SHIPPED = "notion_sync.connectors."


# --------------------------------------------------------------------------- starters


def starter_for(cls: type[Connector[Any, Any]] | None, schema: Schema) -> Starter:
    """The connector's starter for a new mapping (an empty one if the connector did not load)."""
    return cls.starter(schema) if cls is not None else Starter()


def service_starter(
    name: str, cls: type[Connector[Any, Any]] | None, starter: Starter
) -> tuple[dict[str, Any], dict[str, str]]:
    """The ``[<name>]`` table to write: the starter's, or the ``*_env`` and required keys of ``Settings``."""
    if starter.service is not None:
        return dict(starter.service), dict(starter.service_notes)
    keys: dict[str, Any] = {}
    notes: dict[str, str] = {}
    if cls is None:
        return keys, notes
    for key, info in cls.Settings.model_fields.items():
        if info.is_required():
            keys[key] = f"<{key}>"
            notes[key] = "required: " + (info.description or "see the connector's documentation")
        elif key.endswith("_env"):
            default = info.get_default(call_default_factory=True)
            keys[key] = default if isinstance(default, str) else f"{name}_{key[:-4]}".upper()
            notes[key] = f"export {keys[key]}=... ; the secret itself never goes in this file"
    return keys, notes


def _mapping_keys_comment(cls: type[Connector[Any, Any]] | None, name: str) -> list[str]:
    lines = [f"# TODO: fill in {name}'s keys for this mapping (see the connector's documentation)."]
    if cls is None:
        return lines
    lines.append(f"# {name}'s mapping keys:")
    for key, info in cls.MappingSettings.model_fields.items():
        kind = "required" if info.is_required() else "optional"
        annotation = info.annotation
        sub = annotation.model_fields if isinstance(annotation, type) and issubclass(annotation, BaseModel) else {}
        detail = f" ({', '.join(sub)})" if sub else ""
        lines.append(f"#   {key}{detail}: {kind}" + (f", {info.description}" if info.description else ""))
    return lines


# --------------------------------------------------------------------------- TOML output


def _toml_key(key: str) -> str:
    return key if _BARE_KEY.match(key) else json.dumps(key, ensure_ascii=False)


def toml_value(value: Any) -> str:
    """A TOML literal: strings (JSON escapes are TOML's), numbers, booleans, arrays, inline tables."""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int | float):
        return repr(value)
    if isinstance(value, str):
        return json.dumps(value, ensure_ascii=False)
    if isinstance(value, Path):
        return json.dumps(str(value), ensure_ascii=False)
    if isinstance(value, list | tuple):
        return "[" + ", ".join(toml_value(v) for v in value) + "]"
    if isinstance(value, dict):
        if not value:
            return "{}"
        return "{ " + ", ".join(f"{_toml_key(str(k))} = {toml_value(v)}" for k, v in value.items()) + " }"
    raise TypeError(f"cannot write {type(value).__name__} to TOML")


def _comment(text: str) -> list[str]:
    return [f"# {line}" if line else "#" for line in text.splitlines()]


def _key_lines(keys: dict[str, Any], notes: dict[str, str], prefix: str = "") -> list[str]:
    lines: list[str] = []
    for key, value in keys.items():
        if isinstance(value, dict) and value and not prefix:
            continue  # written as a sub-table after the scalars
        note = notes.get(prefix + key)
        if note:
            lines.extend(_comment(note))
        lines.append(f"{_toml_key(key)} = {toml_value(value)}")
    return lines


@dataclass
class MappingPlan:
    """One mapping to write: its core keys and the connector's starter."""

    name: str
    connector: str
    database: str
    data_source: str | None
    starter: Starter
    cls: type[Connector[Any, Any]] | None


def render_config(
    *,
    notion: dict[str, Any],
    mappings: Sequence[MappingPlan],
    services: dict[str, tuple[dict[str, Any], dict[str, str]]],
    source_name: str,
) -> str:
    """The whole starter file, with comments."""
    today = datetime.now(UTC).date().isoformat()
    lines = [
        f"# notion-sync configuration, written by `notion-sync init` on {today} for {source_name!r}.",
        "# The guesses are marked; read them, then run:",
        "#   notion-sync check             # token, database, properties, targets",
        "#   notion-sync run --dry-run     # what would be written; writes nothing",
        "# `notion-sync schema <database>` lists the properties you can use.",
        "",
        "[notion]",
    ]
    token_env = notion["token_env"]
    lines.extend(
        _comment(
            f"the integration token is read from ${token_env} (export {token_env}=ntn_...); "
            "never write the token itself here"
        )
    )
    lines.append(f"token_env = {toml_value(token_env)}")
    if notion.get("base_url") and notion["base_url"] != DEFAULT_BASE_URL:
        lines.append(f"base_url = {toml_value(notion['base_url'])}")
    lines += [
        "",
        "[state]",
        "# links between rows and items; keep it between runs (a lost file is recovered, see docs/running.md)",
        'path = "notion-sync.sqlite3"',
    ]
    for name, (keys, notes) in services.items():
        if keys:
            lines += ["", f"[{_toml_key(name)}]", *_key_lines(keys, notes)]
    for m in mappings:
        lines += [
            "",
            "[[mappings]]",
            f"name = {toml_value(m.name)}",
            f"connector = {toml_value(m.connector)}",
            f"database = {toml_value(m.database)}",
        ]
        if m.data_source:
            lines.append(f"data_source = {toml_value(m.data_source)}")
        modes = m.cls.on_delete_modes if m.cls is not None else ("delete",)
        lines.append(
            f"# on_delete = {toml_value(modes[0])}   # when a row is trashed or leaves the filter"
            + (f"; or: {', '.join(modes[1:])}" if len(modes) > 1 else "")
        )
        keys = m.starter.mapping
        if not keys:
            lines.extend(_mapping_keys_comment(m.cls, m.connector))
            continue
        lines.extend(_key_lines(keys, m.starter.notes))
        for key, value in keys.items():
            if isinstance(value, dict) and value:
                lines += ["", f"[mappings.{_toml_key(key)}]"]
                lines.extend(_key_lines(value, m.starter.notes, prefix=f"{key}."))
    return "\n".join(lines) + "\n"


# --------------------------------------------------------------------------- the command


class Prompter(Protocol):
    """What ``init`` needs to ask questions (typer's ``prompt``/``confirm`` in the CLI)."""

    def ask(self, question: str, default: str | None = None, *, secret: bool = False) -> str: ...

    def confirm(self, question: str, default: bool = True) -> bool: ...


@dataclass
class InitOptions:
    """The flags of ``notion-sync init``. Unset values are asked for, unless ``yes``."""

    database: str | None = None
    targets: list[str] = field(default_factory=list)
    out: Path = Path("notion-sync.toml")
    token_env: str = "NOTION_TOKEN"
    base_url: str | None = None
    data_source: str | None = None
    values: list[str] = field(default_factory=list)
    """``CONNECTOR.KEY=VALUE`` settings for a mapping's keys or the connector's table."""
    yes: bool = False
    force: bool = False


def _slug(text: str) -> str:
    return re.sub(r"[^a-z0-9]+", "-", text.lower()).strip("-") or "notion"


_SECRET_KEY = re.compile(r"(^|_)(token|secret|password|api_key|key)$")


def _parse_values(values: Sequence[str], targets: Sequence[str]) -> dict[str, dict[str, str]]:
    parsed: dict[str, dict[str, str]] = {}
    problems = []
    for item in values:
        key, eq, value = item.partition("=")
        connector, dot, name = key.strip().partition(".")
        name = name.strip()
        if not eq or not dot or not name:
            problems.append(
                ConfigProblem(
                    "--set",
                    f"{key.strip()!r} is not CONNECTOR.KEY=VALUE (a key of the mapping or of the [CONNECTOR] table)",
                )
            )
        elif _SECRET_KEY.search(name.rsplit(".", 1)[-1]):
            # A secret on the command line ends up in shell history and in the file: refuse it.
            problems.append(
                ConfigProblem(
                    "--set",
                    f"{connector}.{name} would put a secret in the file; "
                    f"set {connector}.{name}_env=VARIABLE (or {name}_file) instead",
                )
            )
        elif connector not in targets:
            problems.append(ConfigProblem("--set", f"{connector}.{name} names {connector!r}, which is not a --target"))
        else:
            parsed.setdefault(connector, {})[name] = value.strip()
    if problems:
        raise ConfigError(problems)
    return parsed


def _token(options: InitOptions, prompter: Prompter | None) -> Secret:
    if not _ENV_NAME.match(options.token_env):
        # Someone pasted the token where its variable's name goes: never echo it back.
        raise ConfigError(
            [
                ConfigProblem(
                    "--token-env",
                    "takes the NAME of an environment variable, such as NOTION_TOKEN, not the token itself",
                )
            ]
        )
    if os.environ.get(options.token_env) is not None or prompter is None:
        token = resolve_secret("notion.token", env=options.token_env)
        assert token is not None
        return token
    raw = prompter.ask(
        f"Notion token (${options.token_env} is not set; used now, never written to the file)", secret=True
    )
    REDACTOR.register(raw)
    value, _ = clean_secret(raw)
    if not value:
        raise ConfigError([ConfigProblem("notion.token", "no token given")])
    REDACTOR.register(value)
    return Secret(value, "the prompt")


def _resolve(source: NotionSource, options: InitOptions, prompter: Prompter | None) -> SchemaView:
    assert options.database is not None
    try:
        return read_schema(source, options.database, options.data_source)
    except ConfigError as exc:
        if prompter is None or options.data_source or "--data-source" not in str(exc):
            raise
        prompter_note = str(exc).replace("pick one with --data-source NAME", "which one?")
        options.data_source = prompter.ask(f"{prompter_note}\nData source name or id")
        return read_schema(source, options.database, options.data_source)


def _choose_targets(options: InitOptions, discovery: Discovery, prompter: Prompter | None) -> list[str]:
    installed = sorted(discovery.connectors)
    targets = list(dict.fromkeys(options.targets))
    if not targets and prompter is not None:
        # Offer a connector shipped with notion-sync first: it is there in every install.
        shipped = [n for n in installed if discovery.origins.get(n, "").startswith(_SHIPPED)]
        default = (shipped or installed or [""])[0]
        answer = prompter.ask(f"Targets, comma-separated ({', '.join(installed) or 'none installed'})", default)
        targets = list(dict.fromkeys(t.strip() for t in answer.split(",") if t.strip()))
    if not targets:
        raise ConfigError(
            [
                ConfigProblem(
                    "--target", f"name at least one target connector: {', '.join(installed) or 'none is installed'}"
                )
            ]
        )
    problems = []
    for t in targets:
        if t not in discovery.connectors:
            why = f" (it failed to load: {discovery.broken[t]})" if t in discovery.broken else ""
            problems.append(
                ConfigProblem(
                    "--target",
                    f"no connector named {t!r}{why}; installed: "
                    f"{', '.join(installed) or 'none'} (see `notion-sync connectors`)",
                )
            )
    if problems:
        raise ConfigError(problems)
    return targets


def _nested_set(keys: dict[str, Any], path: str, value: str) -> None:
    head, dot, rest = path.partition(".")
    if dot:
        sub = keys.setdefault(head, {})
        if isinstance(sub, dict):
            _nested_set(sub, rest, value)
        return
    keys[head] = value


def _print_next_steps(out: Output, path: Path, token_env: str, env_lines: list[str]) -> None:
    config = "" if path == Path("notion-sync.toml") else f" --config {path}"
    out.line(f"wrote {path}")
    out.line("next:")
    for line in [f"export {token_env}=ntn_...   # if it is not set yet", *env_lines]:
        out.line(f"  {line}")
    out.line(f"  notion-sync check{config}")
    out.line(f"  notion-sync run --dry-run{config}")
    out.line(f"  notion-sync run{config}")


def run_init(
    out: Output, options: InitOptions, *, prompter: Prompter | None = None, discovery: Discovery | None = None
) -> int:
    """The body of ``notion-sync init``. ``prompter`` None means non-interactive (``--yes``)."""
    if options.out.exists() and not options.force:
        raise ConfigError(
            [
                ConfigProblem(
                    str(options.out),
                    "exists already; init does not overwrite it. Pass --force to replace it, or --out OTHER.toml",
                )
            ]
        )
    discovery = discovery or discover()
    if options.database is None:
        if prompter is None:
            raise ConfigError(
                [ConfigProblem("--database", "is required with --yes: the database's URL (••• → Copy link) or id")]
            )
        options.database = prompter.ask("Notion database URL or id (in Notion: ••• → Copy link)").strip()
    token = _token(options, prompter)
    settings = NotionConfig.model_validate(
        {"token_env": options.token_env, "base_url": options.base_url or DEFAULT_BASE_URL}
    )
    with open_source(NotionAccess(token, settings, None)) as source:
        view = _resolve(source, options, prompter)
    schema = view.properties
    if prompter is not None:
        out.show(schema_table(view))
    else:
        out.line(f"read data source {view.data_source.name!r}: {len(schema)} properties")

    targets = _choose_targets(options, discovery, prompter)
    values = _parse_values(options.values, targets)
    base = _slug(view.data_source.name)
    plans: list[MappingPlan] = []
    services: dict[str, tuple[dict[str, Any], dict[str, str]]] = {}
    for name in targets:
        cls = discovery.connectors[name]
        starter = starter_for(cls, schema)
        service = service_starter(name, cls, starter)
        given = values.get(name, {})
        for key, value in given.items():
            top = key.split(".")[0]
            # A key of the [<connector>] table goes there, anything else to the mapping; a key both
            # have goes to the table while the table still holds a placeholder for it.
            is_service = top in cls.Settings.model_fields and (
                top not in cls.MappingSettings.model_fields or str(service[0].get(top, "")).startswith("<")
            )
            _nested_set(service[0] if is_service else starter.mapping, key, value)
        if prompter is not None:
            for question in starter.questions:
                if question.key not in given:
                    _nested_set(starter.mapping, question.key, prompter.ask(question.prompt, question.default))
        services[name] = service
        plans.append(
            MappingPlan(
                f"{base}-to-{name.replace('_', '-')}", name, options.database, options.data_source, starter, cls
            )
        )

    text = render_config(
        notion={"token_env": options.token_env, "base_url": settings.base_url},
        mappings=plans,
        services=services,
        source_name=view.data_source.name,
    )
    if prompter is not None and not options.yes:
        out.line(text)
        if not prompter.confirm(f"Write {options.out}?", True):
            out.line("nothing written")
            return EXIT_OK
    if options.out.exists() and not options.force:
        raise ConfigError([ConfigProblem(str(options.out), "appeared while init was running; not overwritten")])
    options.out.parent.mkdir(parents=True, exist_ok=True)
    options.out.write_text(text, encoding="utf-8")

    env_lines = [
        f"export {v}=...   # [{n}] {k}"
        for n, (keys, _) in services.items()
        for k, v in keys.items()
        if k.endswith("_env") and isinstance(v, str)
    ]
    try:
        load_config(options.out, discovery=discovery)
    except ConfigError as exc:
        out.problem(f"{options.out} was written, but it needs edits before it loads:\n{exc}")
        _print_next_steps(out, options.out, options.token_env, env_lines)
        return EXIT_CONFIG
    _print_next_steps(out, options.out, options.token_env, env_lines)
    return EXIT_OK
