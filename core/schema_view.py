"""``notion-sync schema DATABASE``: what a user needs on screen to write a mapping.

It resolves the database (URL or id) to its data source through the same
``NotionSource`` the engine reads with, and shows every property with its type and,
for select, multi-select and status properties, its options (status options with
their group). As a table, or as JSON with ``--json``.

The token comes from the config file's ``[notion]`` section when there is a config
file; only that section is read, so ``schema`` works while the mappings are still
being written. Without a config file it comes from ``$NOTION_TOKEN`` (or the
variable named by ``--token-env``) and the API address from ``--base-url``.
"""

from __future__ import annotations

import tomllib
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from pydantic import ValidationError
from rich.table import Table

from notion_sync.core.config import DEFAULT_CONFIG, Config, NotionConfig, StateConfig, config_path
from notion_sync.core.engine import notion_token
from notion_sync.core.errors import EXIT_OK, ConfigError, ConfigProblem
from notion_sync.core.notion_source import DataSource, NotionSource
from notion_sync.core.output import Output
from notion_sync.core.plugins import Discovery
from notion_sync.core.secrets import Secret

__all__ = [
    "NotionAccess",
    "SchemaView",
    "describe_properties",
    "notion_access",
    "open_source",
    "read_schema",
    "schema_json",
    "schema_table",
    "show_schema",
]

OPTION_TYPES = ("select", "multi_select", "status")

_USES: dict[str, str] = {
    "title": "the item's title: {%s}",
    "date": "a date key (start, due); or {%s}",
    "status": "Trello list_from, a colour key; or {%s}",
    "select": "Trello list_from or labels, a colour key; or {%s}",
    "multi_select": "Trello labels; or {%s}",
    "checkbox": "Trello due_complete; or {%s}",
    "formula": "a date key if it gives a date; or {%s}",
    "rollup": "a date key if it gives a date; or {%s}",
}


@dataclass(frozen=True)
class NotionAccess:
    """Where to reach Notion and with which token: from ``[notion]``, or from flags and the environment."""

    token: Secret
    settings: NotionConfig
    config_file: Path | None
    """The config file whose ``[notion]`` section was used, if any."""


def _notion_section(path: Path) -> NotionConfig:
    source = str(path)
    try:
        data = tomllib.loads(path.read_text(encoding="utf-8"))
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError([ConfigProblem("", f"this is not valid TOML: {exc}")], source=source) from None
    except OSError as exc:
        raise ConfigError([ConfigProblem("", f"cannot read the file: {exc.strerror}")], source=source) from None
    section = data.get("notion", {})
    if not isinstance(section, dict):
        raise ConfigError([ConfigProblem("notion", "must be a table: [notion]")], source=source)
    try:
        return NotionConfig.model_validate(section)
    except ValidationError as exc:
        problems = [ConfigProblem("notion." + ".".join(str(p) for p in err["loc"]), err["msg"]) for err in exc.errors()]
        raise ConfigError(problems, source=source) from None


def notion_access(
    config: Path | None = None, *, base_url: str | None = None, token_env: str = "NOTION_TOKEN"
) -> NotionAccess:
    """The token and API settings for a one-off read of Notion.

    With a config file (``--config``, ``$NOTION_SYNC_CONFIG`` or ``./notion-sync.toml``) its
    ``[notion]`` section decides; a config file named explicitly must exist. Without one,
    the token is read from the environment variable ``token_env``. ``base_url``, when
    given, overrides the address either way.
    """
    path = config_path(config)
    explicit = config is not None or path != Path(DEFAULT_CONFIG)
    if path.exists():
        settings = _notion_section(path)
        file: Path | None = path
    elif explicit:
        raise ConfigError(
            [
                ConfigProblem(
                    "",
                    "the config file does not exist; pass the right --config PATH, "
                    "or leave --config out to use $NOTION_TOKEN",
                )
            ],
            source=str(path),
        )
    else:
        settings = NotionConfig.model_validate({"token_env": token_env})
        file = None
    if base_url:
        settings = settings.model_copy(update={"base_url": base_url})
    # notion_token only reads config.notion and resolves token_file against the config's folder.
    holder = Config(file, settings, StateConfig.model_validate({}), [], {}, Discovery())
    return NotionAccess(notion_token(holder), settings, file)


@contextmanager
def open_source(access: NotionAccess) -> Iterator[NotionSource]:
    """A ``NotionSource`` for ``access``, closed afterwards."""
    n = access.settings
    source = NotionSource(
        access.token, base_url=n.base_url, timeout=n.timeout, requests_per_second=n.requests_per_second
    )
    try:
        yield source
    finally:
        source.close()


@dataclass(frozen=True)
class SchemaView:
    """A resolved data source and its properties (name -> Notion's property object)."""

    database: str
    data_source: DataSource
    properties: dict[str, dict[str, Any]]


def _as_cli_problem(exc: ConfigError) -> ConfigError:
    # NotionSource words its problems for a mapping in the config; here they are about flags.
    problems = []
    for p in exc.problems:
        message = p.message.replace('name one with data_source = "<name or id>"', "pick one with --data-source NAME")
        where = (
            "--data-source" if p.where.endswith("data_source") else "DATABASE" if p.where.endswith("database") else ""
        )
        problems.append(ConfigProblem(where, message))
    return ConfigError(problems)


def read_schema(source: NotionSource, database: str, data_source: str | None = None) -> SchemaView:
    """Resolve ``database`` (URL or id) to its data source and read its properties."""
    try:
        ds = source.resolve(database, data_source, mapping="schema")
    except ConfigError as exc:
        raise _as_cli_problem(exc) from None
    return SchemaView(database, ds, source.schema(ds.id))


def options_of(prop: dict[str, Any]) -> list[dict[str, Any]]:
    """The options of a select, multi-select or status property; status options carry their ``group``."""
    kind = prop.get("type", "")
    if kind not in OPTION_TYPES:
        return []
    config = prop.get(kind) or {}
    group_of: dict[str, str] = {}
    for group in config.get("groups") or []:
        for option_id in group.get("option_ids") or []:
            group_of[option_id] = group.get("name", "")
    out = []
    for option in config.get("options") or []:
        item: dict[str, Any] = {"name": option.get("name", ""), "color": option.get("color", "default")}
        if kind == "status":
            item["group"] = group_of.get(option.get("id", ""), "")
        out.append(item)
    return out


def _details(prop: dict[str, Any]) -> dict[str, Any]:
    kind = prop.get("type", "")
    config = prop.get(kind) or {}
    if kind == "formula":
        return {"expression": config.get("expression", "")}
    if kind == "number":
        return {"format": config.get("format", "number")}
    if kind == "relation":
        return {"data_source_id": config.get("data_source_id") or config.get("database_id", "")}
    if kind == "rollup":
        return {k: config[k] for k in ("relation_property_name", "rollup_property_name", "function") if k in config}
    return {}


def describe_properties(properties: dict[str, dict[str, Any]]) -> list[dict[str, Any]]:
    """Each property as plain data: name, id, type, options and type-specific details."""
    described = []
    for name, prop in properties.items():
        item: dict[str, Any] = {"name": name, "id": prop.get("id", ""), "type": prop.get("type", "")}
        if item["type"] in OPTION_TYPES:
            item["options"] = options_of(prop)
        details = _details(prop)
        if details:
            item["details"] = details
        described.append(item)
    return described


def schema_json(view: SchemaView) -> dict[str, Any]:
    """The ``--json`` document."""
    return {
        "database": view.database,
        "database_id": view.data_source.database_id,
        "data_source": {"id": view.data_source.id, "name": view.data_source.name},
        "properties": describe_properties(view.properties),
    }


def _options_text(item: dict[str, Any]) -> str:
    options = item.get("options", [])
    if item["type"] != "status":
        return ", ".join(o["name"] for o in options)
    groups: dict[str, list[str]] = {}
    for o in options:
        groups.setdefault(o.get("group") or "?", []).append(o["name"])
    return "\n".join(f"{group}: {', '.join(names)}" for group, names in groups.items())


def schema_table(view: SchemaView) -> Table:
    """A rich table: property, type, options (status options by group), and how a mapping can use it."""
    ds = view.data_source
    table = Table(
        "property",
        "type",
        "options",
        "in a mapping",
        title_justify="left",
        title=f"data source {ds.name!r} ({ds.id}) of database {ds.database_id}",
    )
    for item in describe_properties(view.properties):
        options = _options_text(item)
        if not options and "details" in item:
            options = ", ".join(f"{k}: {v}" for k, v in item["details"].items())
        use = _USES.get(item["type"], "{%s} in a template") % item["name"]
        table.add_row(item["name"], item["type"], options, use)
    return table


def show_schema(
    out: Output,
    database: str,
    *,
    config: Path | None = None,
    data_source: str | None = None,
    base_url: str | None = None,
    token_env: str = "NOTION_TOKEN",
    as_json: bool = False,
) -> int:
    """The body of ``notion-sync schema``. Raises ``ConfigError`` (exit 2) or ``AccessError`` (exit 3)."""
    access = notion_access(config, base_url=base_url, token_env=token_env)
    with open_source(access) as source:
        view = read_schema(source, database, data_source)
    if as_json:
        out.json(schema_json(view))
    else:
        out.show(schema_table(view))
    return EXIT_OK
