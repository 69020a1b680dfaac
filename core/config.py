"""The configuration: a TOML file, with environment overrides, validated all at once.

``load_config(path)`` reads ``notion-sync.toml``, then applies the ``NOTION_SYNC_*``
environment variables on top (``__`` separates nested keys:
``NOTION_SYNC_STATE__PATH=/var/lib/notion-sync.sqlite3``; see ``env_overrides``). Every
problem is reported together, each with its key path, the line or the variable it comes
from, and the fix; an unknown key or variable is an error, so a typo never goes unnoticed.

Connector settings are validated by each connector's own models: ``[<connector>]``
with its ``Settings``, and the connector's keys on a mapping with its ``MappingSettings``.
"""

from __future__ import annotations

import difflib
import hashlib
import json
import logging
import os
import re
import tomllib
from dataclasses import dataclass, field
from functools import cached_property
from pathlib import Path
from typing import Any, Literal
from urllib.parse import urlsplit

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator

from notion_sync.core.adapter import Connector, MappingSettings, ServiceSettings
from notion_sync.core.env_overrides import EnvOverrides, apply_env_overrides
from notion_sync.core.errors import ConfigError, ConfigProblem
from notion_sync.core.notion_ids import parse_notion_id
from notion_sync.core.plugins import Discovery, discover
from notion_sync.core.secrets import REDACTOR, Secret, config_relative, resolve_secret

__all__ = [
    "Config",
    "MappingConfig",
    "NotionConfig",
    "ServeConfig",
    "StateConfig",
    "CeleryConfig",
    "check_schedule",
    "state_url",
    "broker_url",
    "shared_limits_url",
    "DEFAULT_CONFIG",
    "config_path",
    "load_config",
    "parse_duration",
]

log = logging.getLogger(__name__)
DEFAULT_CONFIG = "notion-sync.toml"
_DURATION = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*(s|m|h|d)?\s*$")


def parse_duration(value: str | int | float) -> float:
    """``"90s"``, ``"30m"``, ``"1h"``, ``"2d"`` or a number of seconds, as seconds."""
    if isinstance(value, int | float):
        return float(value)
    match = _DURATION.match(value)
    if not match:
        raise ValueError(f'{value!r} is not a duration: write e.g. "30m", "1h" or "1d"')
    number, unit = float(match.group(1)), match.group(2) or "s"
    return number * {"s": 1, "m": 60, "h": 3600, "d": 86400}[unit]


class NotionConfig(BaseModel):
    """``[notion]``: where the integration token comes from, and the API's address."""

    model_config = ConfigDict(extra="forbid")

    token_env: str | None = Field("NOTION_TOKEN", description="environment variable holding the token")
    token_file: Path | None = Field(None, description="file holding the token (mode 600)")
    token_keyring: str | None = Field(
        None, description='OS keyring entry "service/name" (pip install notion-sync[keyring])'
    )
    token: str | None = Field(None, description="the token itself: works, with a warning; prefer token_env")
    rotate_after_days: int = Field(90, ge=1, description="warn on every run once the token is older than this")
    base_url: str = Field("https://api.notion.com", description="a proxy or a local emulator")
    requests_per_second: float = Field(3.0, gt=0, description="pace of Notion requests (Notion allows ~3/s)")
    timeout: float = Field(60.0, gt=0, description="seconds before a Notion request times out")


class StateConfig(BaseModel):
    """``[state]``: where links and cursors are remembered: a SQLite file, or a PostgreSQL database."""

    model_config = ConfigDict(extra="forbid")

    path: Path = Field(Path("notion-sync.sqlite3"), description="relative paths are relative to the config file")
    url_env: str | None = Field(
        None, description="environment variable holding a postgresql:// URL (pip install notion-sync[postgres])"
    )
    url_file: Path | None = Field(None, description="file holding the PostgreSQL URL (mode 600)")
    url_keyring: str | None = Field(None, description='OS keyring entry "service/name" holding the PostgreSQL URL')
    url: str | None = Field(None, description="the PostgreSQL URL itself, without a password (use url_env for one)")

    @property
    def on_postgres(self) -> bool:
        """Whether the state is a PostgreSQL database rather than the SQLite file."""
        return bool(self.url_env or self.url_file or self.url_keyring or self.url)


class CeleryConfig(BaseModel):
    """``[celery]``: the worker fleet's broker and default schedule (pip install notion-sync[celery])."""

    model_config = ConfigDict(extra="forbid")

    broker_url_env: str | None = Field(
        None, description="environment variable holding the broker URL (redis://host:6379/0)"
    )
    broker_url: str | None = Field(None, description="the broker URL itself, without a password")
    default_schedule: str = Field("10m", description='how often beat queues a mapping: "90s", "10m" or a cron line')
    visibility_timeout: float = Field(
        600.0, gt=0, description="seconds before the sync of a worker that vanished is handed to another worker"
    )

    @field_validator("default_schedule")
    @classmethod
    def _schedule(cls, v: str) -> str:
        check_schedule(v)
        return v


_CRON_FIELD = re.compile(r"^[0-9A-Za-z*/,-]+$")


def check_schedule(value: str) -> None:
    """Accept a duration ("90s", "10m") or a five-field cron line; raise ValueError naming the fix."""
    if len(value.split()) == 5 and all(_CRON_FIELD.match(f) for f in value.split()):
        return
    try:
        parse_duration(value)
    except ValueError:
        raise ValueError(
            f'{value!r} is neither a duration ("90s", "10m", "1h") nor a cron line ("*/5 * * * *")'
        ) from None


class ServeConfig(BaseModel):
    """``[serve]``: ``notion-sync serve``, the receiver of Notion's webhooks."""

    model_config = ConfigDict(extra="forbid")

    host: str = Field("127.0.0.1", description="the address to listen on (put a reverse proxy with HTTPS in front)")
    port: int = Field(8787, ge=1, le=65535, description="the port to listen on")
    path: str = Field("/notion/webhook", description="the webhook URL's path")
    verification_token_file: Path | None = Field(
        Path("~/.config/notion-sync/webhook-token"),
        description="where serve writes the verification token of Notion's handshake (mode 600), and reads it",
    )
    verification_token_env: str | None = Field(
        None, description="environment variable holding the verification token (instead of the file)"
    )
    verification_token_keyring: str | None = Field(
        None, description='OS keyring entry "service/name" holding the verification token'
    )
    debounce: str | float = Field("2s", description="events for one mapping within this window become one sync")
    reconcile_interval: str | float = Field(
        "15m", description="the normal sync of every mapping, as `run` does it, on this interval"
    )

    @field_validator("debounce", "reconcile_interval")
    @classmethod
    def _duration(cls, v: str | float) -> str | float:
        parse_duration(v)
        return v

    @field_validator("path")
    @classmethod
    def _path(cls, v: str) -> str:
        if not v.startswith("/") or v in ("/healthz", "/metrics"):
            raise ValueError(f'{v!r} must start with "/" and not be /healthz or /metrics, e.g. "/notion/webhook"')
        return v

    @property
    def debounce_seconds(self) -> float:
        return parse_duration(self.debounce)

    @property
    def reconcile_seconds(self) -> float:
        return parse_duration(self.reconcile_interval)


AUTO = "auto"
ON_DELETE_ALL = ("delete", "archive", "keep", "strike")


class MappingConfig(BaseModel):
    """One ``[[mappings]]`` entry: the core keys. The connector's own keys are kept in ``extra``."""

    model_config = ConfigDict(extra="allow")

    name: str = Field(description="unique name of the mapping; it keys its state")
    connector: str = Field(description="which connector writes it: one `notion-sync connectors` lists")
    database: str = Field(description="the Notion database URL or id")
    data_source: str | None = Field(None, description="name or id of the data source, if the database has several")
    filter: dict[str, Any] | None = Field(None, description="a Notion query filter, passed through unchanged")
    on_delete: str | None = Field(
        None, description="what to do when a row leaves: delete, archive, keep... (per connector)"
    )
    full_scan_interval: str | float = Field(
        "auto",
        description='how often a full reconcile runs (finds trashed rows); "auto": every run for data sources '
        "of up to 1,000 rows (10 query pages), hourly for larger ones",
    )
    enabled: bool = Field(True, description="false skips the mapping")
    max_attempts: int = Field(5, ge=1, description="failed writes of an item before it is parked (see `retry`)")
    max_delete_fraction: float = Field(
        0.5, gt=0, le=1, description="a run that would remove more of the items than this stops (with 10+ items)"
    )
    write_back: list[str] = Field(
        default_factory=list,
        description='target fields that flow back into Notion, e.g. ["list", "due"] (two-way; see `connectors`)',
    )
    conflict: Literal["notion", "target", "newest"] = Field(
        "notion", description="who wins a field changed on both sides: notion, target, or newest"
    )
    schedule: str | None = Field(
        None, description='with [celery]: how often beat queues it ("90s", "10m", a cron line); default_schedule'
    )

    @field_validator("schedule")
    @classmethod
    def _check_schedule(cls, v: str | None) -> str | None:
        if v is not None:
            check_schedule(v)
        return v

    @field_validator("name")
    @classmethod
    def _name(cls, v: str) -> str:
        if not v.strip():
            raise ValueError("must not be empty")
        return v

    @field_validator("database")
    @classmethod
    def _database(cls, v: str) -> str:
        if parse_notion_id(v) is None:
            raise ValueError(f"{v!r} is not a Notion database URL or id: copy the database's link (••• → Copy link)")
        return v

    @field_validator("full_scan_interval")
    @classmethod
    def _interval(cls, v: str | float) -> str | float:
        if v != AUTO:
            parse_duration(v)
        return v

    @property
    def database_id(self) -> str:
        found = parse_notion_id(self.database)
        assert found is not None
        return found

    @property
    def full_scan_seconds(self) -> float | None:
        """The interval in seconds, or None for ``"auto"`` (the planner's ``scan_interval`` decides)."""
        return None if self.full_scan_interval == AUTO else parse_duration(self.full_scan_interval)

    def connector_keys(self) -> dict[str, Any]:
        return dict(self.model_extra or {})


@dataclass
class ResolvedMapping:
    """A validated mapping: core keys, its connector class, and the connector's typed settings."""

    config: MappingConfig
    connector: type[Connector[Any, Any]]
    settings: MappingSettings
    on_delete: str

    @property
    def name(self) -> str:
        return self.config.name

    def config_hash(self) -> str:
        """Changes when anything that decides the mapping's output changes: forces a full scan."""
        data = {
            "core": self.config.model_dump(
                mode="json",
                exclude={"enabled", "full_scan_interval", "max_attempts", "max_delete_fraction", "schedule"},
            ),
            "settings": self.settings.model_dump(mode="json"),
        }
        return hashlib.sha256(json.dumps(data, sort_keys=True).encode()).hexdigest()[:16]


@dataclass
class Config:
    """The whole validated configuration."""

    path: Path | None
    notion: NotionConfig
    state: StateConfig
    mappings: list[ResolvedMapping]
    services: dict[str, ServiceSettings]
    discovery: Discovery
    inline_secrets: list[str] = field(default_factory=list)
    serve: ServeConfig = field(default_factory=lambda: ServeConfig.model_validate({}))
    celery: CeleryConfig | None = None

    @property
    def base_dir(self) -> Path:
        return self.path.parent if self.path else Path.cwd()

    def resolve_path(self, value: Path) -> Path:
        value = value.expanduser()
        return value if value.is_absolute() else self.base_dir / value

    @property
    def state_path(self) -> Path:
        return self.resolve_path(self.state.path)

    @cached_property
    def state_location(self) -> Path | Secret:
        """Where the state is: the SQLite file's path, or the PostgreSQL URL (a secret: it may
        carry a password)."""
        if not self.state.on_postgres:
            return self.state_path
        return state_url(self.state, self.base_dir)

    def nothing_to_run(self) -> str | None:
        """Why a plain ``run`` would do nothing (no mapping, or every one disabled), or None."""
        where = str(self.path) if self.path else "the config"
        if any(m.config.enabled for m in self.mappings):
            return None
        if not self.mappings:
            why = (
                "the environment variable NOTION_SYNC_MAPPINGS sets no mappings"
                if os.environ.get("NOTION_SYNC_MAPPINGS") is not None
                else f"{where} has no [[mappings]]"
            )
            return f"nothing is configured to run: {why}; add a mapping (notion-sync init writes one)"
        names = ", ".join(m.name for m in self.mappings)
        return (
            f"nothing is configured to run: every mapping of {where} has enabled = false ({names}); "
            "set enabled = true, or run one anyway with --mapping NAME"
        )

    def mapping(self, name: str) -> ResolvedMapping:
        for m in self.mappings:
            if m.name == name:
                return m
        names = ", ".join(m.name for m in self.mappings) or "none"
        raise ConfigError(f"there is no mapping named {name!r}; the mappings are: {names}")


def config_path(explicit: str | Path | None) -> Path:
    """The config file to use: ``--config``, else ``$NOTION_SYNC_CONFIG``, else ``./notion-sync.toml``."""
    if explicit:
        return Path(explicit)
    env = os.environ.get("NOTION_SYNC_CONFIG")
    return Path(env) if env else Path(DEFAULT_CONFIG)


def _loc(loc: tuple[Any, ...], prefix: str = "") -> str:
    out = prefix
    for part in loc:
        if isinstance(part, int):
            out += f"[{part}]"
        else:
            out += f".{part}" if out else str(part)
    return out


def _line_of(text: str, key: str) -> int | None:
    pattern = re.compile(rf"^\s*\"?{re.escape(key)}\"?\s*=|^\s*\[+\s*{re.escape(key)}\s*\]+", re.M)
    match = pattern.search(text)
    return text.count("\n", 0, match.start()) + 1 if match else None


def _problems(
    exc: ValidationError,
    prefix: str,
    model: type[BaseModel] | None,
    text: str,
    also_known: tuple[str, ...] = (),
    *,
    path: tuple[str | int, ...] = (),
    env: EnvOverrides | None = None,
) -> list[ConfigProblem]:
    """One problem per validation error; ``path`` is where ``model`` sits in the config, so a
    value an environment variable set is blamed on the variable, not on a line of the file."""
    problems = []
    for err in exc.errors():
        loc = tuple(err["loc"])
        where = _loc(loc, prefix)
        variable = env.origin((*path, *loc)) if env is not None else None
        message = err["msg"]
        if err["type"] == "extra_forbidden":
            key = str(loc[-1])
            known = _known_keys(model, loc[:-1]) + (list(also_known) if len(loc) == 1 else [])
            hint = difflib.get_close_matches(key, known, n=1)
            message = f"unknown key {key!r}" + (f"; did you mean {hint[0]!r}?" if hint else "")
            if known:
                message += f" (known keys: {', '.join(sorted(known))})"
        elif err["type"] == "missing":
            message = "this key is required"
        elif message.startswith("Value error, "):
            message = message[len("Value error, ") :]
        if variable:
            problems.append(ConfigProblem(f"{where} (from the environment variable {variable})", message))
            continue
        # A missing key has no line; another key of the same name elsewhere would mislead.
        missing = err["type"] == "missing"
        line = _line_of(text, str(loc[-1])) if loc and not isinstance(loc[-1], int) and not missing else None
        problems.append(ConfigProblem(where + (f" (line {line})" if line else ""), message))
    return problems


def _known_keys(model: type[BaseModel] | None, loc: tuple[Any, ...]) -> list[str]:
    current: Any = model
    for part in loc:
        if isinstance(part, int) or current is None:
            continue
        info = current.model_fields.get(part) if hasattr(current, "model_fields") else None
        if info is None:
            return []
        annotation = info.annotation
        current = annotation if isinstance(annotation, type) and issubclass(annotation, BaseModel) else None
        if current is None:
            for arg in getattr(annotation, "__args__", ()):
                if isinstance(arg, type) and issubclass(arg, BaseModel):
                    current = arg
    return list(current.model_fields) if current is not None and hasattr(current, "model_fields") else []


def _warn_readable(file: Path, inline: list[str]) -> None:
    """Secrets written in a config file that other users can read: the same advice as for
    a secret file, for every one of them."""
    if os.name == "posix" and file.stat().st_mode & 0o077:
        log.warning(
            "%s holds %s and other users can read it: chmod 600 %s "
            "(better: move %s to the matching *_env or *_file key)",
            file,
            " and ".join(inline),
            file,
            "them" if len(inline) > 1 else "it",
        )


def _not_a_table(key: str, env: EnvOverrides) -> ConfigProblem:
    variable = env.origin((key,))
    shape = "a list of tables: [[mappings]]" if key == "mappings" else f"a table: [{key}]"
    return ConfigProblem(key + (f" (from the environment variable {variable})" if variable else ""), f"must be {shape}")


def load_config(
    path: str | Path | None = None, *, discovery: Discovery | None = None, require_file: bool = True
) -> Config:
    """Read, validate and resolve the configuration. Raises ``ConfigError`` listing every problem."""
    file = config_path(path)
    source = str(file)
    text = ""
    if file.exists():
        try:
            text = file.read_text(encoding="utf-8")
            tomllib.loads(text)
        except tomllib.TOMLDecodeError as exc:
            raise ConfigError([ConfigProblem("", f"this is not valid TOML: {exc}")], source=source) from None
        except OSError as exc:
            raise ConfigError([ConfigProblem("", f"cannot read the file: {exc.strerror}")], source=source) from None
    elif require_file:
        raise ConfigError(
            [
                ConfigProblem(
                    "",
                    "the config file does not exist; create it from config.example.toml, "
                    "or pass --config PATH (or set NOTION_SYNC_CONFIG)",
                )
            ],
            source=source,
        )

    discovery = discovery or discover()
    data: dict[str, Any] = tomllib.loads(text) if text else {}
    sections: dict[str, list[str]] = {
        "notion": list(NotionConfig.model_fields),
        "state": list(StateConfig.model_fields),
        "serve": list(ServeConfig.model_fields),
        "celery": list(CeleryConfig.model_fields),
        "mappings": [],
        # The specs, not the classes: naming every key must not import every connector.
        **{name: list(spec.Settings.model_fields) for name, spec in sorted(discovery.specs.items())},
        **{name: [] for name in discovery.broken},
    }
    env = apply_env_overrides(data, os.environ, sections)
    data = env.data
    problems: list[ConfigProblem] = list(env.problems)

    def part(model: type[BaseModel], value: Any, where: str, path: tuple[str | int, ...]) -> Any:
        try:
            return model.model_validate(value)
        except ValidationError as exc:
            problems.extend(_problems(exc, where, model, text, path=path, env=env))
            return None

    def table(key: str) -> dict[str, Any]:
        value = data.get(key, {})
        if isinstance(value, dict):
            return value
        problems.append(_not_a_table(key, env))
        return {}

    notion = part(NotionConfig, table("notion"), "notion", ("notion",))
    state = part(StateConfig, table("state"), "state", ("state",))
    serve = part(ServeConfig, table("serve"), "serve", ("serve",))
    celery = part(CeleryConfig, table("celery"), "celery", ("celery",)) if "celery" in data else None
    raw_mappings = data.get("mappings", [])
    if not isinstance(raw_mappings, list) or not all(isinstance(m, dict) for m in raw_mappings):
        problems.append(_not_a_table("mappings", env))
        raw_mappings = []

    services: dict[str, ServiceSettings] = {}
    for key, value in data.items():
        if key in ("notion", "state", "serve", "mappings", "celery"):
            continue
        cls = discovery.connectors.get(key)
        if cls is None:
            if key in discovery.broken:
                problems.append(
                    ConfigProblem(f"[{key}]", f"the connector {key!r} failed to load: {discovery.broken[key]}")
                )
                continue
            known = ["notion", "state", "serve", "celery", "mappings", *discovery.connectors]
            hint = difflib.get_close_matches(key, known, n=1)
            line = _line_of(text, key)
            problems.append(
                ConfigProblem(
                    f"[{key}]" + (f" (line {line})" if line else ""),
                    f"unknown section {key!r}"
                    + (f"; did you mean {hint[0]!r}?" if hint else "")
                    + f" (sections: {', '.join(known)})",
                )
            )
            continue
        if not isinstance(value, dict):
            problems.append(_not_a_table(key, env))
            continue
        settings = part(cls.Settings, value, key, (key,))
        if settings is not None:
            services[key] = settings

    mappings: list[ResolvedMapping] = []
    names = [m.get("name") for m in raw_mappings]
    for index, raw_mapping in enumerate(raw_mappings):
        name = raw_mapping.get("name")
        label = f"mappings[{index}]" + (f" ({name})" if name else "")
        at: tuple[str | int, ...] = ("mappings", index)
        # Each check below runs on the raw keys too, so that one mistake does not hide another.
        m = part(MappingConfig, raw_mapping, label, at)
        if isinstance(name, str) and names.index(name) != index:
            problems.append(ConfigProblem(label, f"the name {name!r} is used by two mappings; names must be unique"))
        connector = raw_mapping.get("connector")
        if not isinstance(connector, str):
            continue
        cls = discovery.connectors.get(connector)
        if cls is None:
            why = f" (it failed to load: {discovery.broken[connector]})" if connector in discovery.broken else ""
            installed = ", ".join(sorted(discovery.connectors)) or "none"
            problems.append(
                ConfigProblem(f"{label}.connector", f"no connector named {connector!r}{why}; installed: {installed}")
            )
            continue
        if connector not in services and connector not in data:
            try:
                services[connector] = cls.Settings.model_validate({})
            except ValidationError as exc:
                problems.extend(
                    ConfigProblem(f"[{connector}]" + (f" {p.where}" if p.where else ""), p.message)
                    for p in _problems(exc, "", cls.Settings, text, path=(connector,), env=env)
                )
                services[connector] = cls.Settings.model_construct()  # reported once, not per mapping
        keys = {k: v for k, v in raw_mapping.items() if k not in MappingConfig.model_fields}
        try:
            settings = cls.MappingSettings.model_validate(keys)
        except ValidationError as exc:
            problems.extend(
                _problems(exc, label, cls.MappingSettings, text, tuple(MappingConfig.model_fields), path=at, env=env)
            )
            settings = None
        chosen = raw_mapping.get("on_delete")
        on_delete = chosen if isinstance(chosen, str) else cls.default_on_delete(settings) if settings else None
        if on_delete is not None and on_delete not in cls.on_delete_modes:
            variable = env.origin((*at, "on_delete"))
            problems.append(
                ConfigProblem(
                    f"{label}.on_delete" + (f" (from the environment variable {variable})" if variable else ""),
                    f"{on_delete!r} is not supported by {connector}; use one of: {', '.join(cls.on_delete_modes)}",
                )
            )
            continue
        if m is not None and settings is not None and m.write_back:
            problems.extend(_write_back_problems(label, cls, settings, m.write_back))
        if m is not None and settings is not None and on_delete is not None:
            mappings.append(ResolvedMapping(m, cls, settings, on_delete))

    if problems:
        raise ConfigError(problems, source=source)
    inline = ["notion.token"] if notion.token else []
    for key, settings in services.items():
        fields = type(settings).model_fields
        inline += [f"{key}.{name}" for name in fields if f"{name}_env" in fields and getattr(settings, name, None)]
    if inline and text:
        _warn_readable(file, inline)
    base_dir = file.parent if text else None
    services = {key: settings.relative_to(base_dir) for key, settings in services.items()}
    return Config(file if text else None, notion, state, mappings, services, discovery, inline, serve, celery)


def _write_back_problems(
    label: str, cls: type[Connector[Any, Any]], settings: MappingSettings, fields: list[str]
) -> list[ConfigProblem]:
    """An impossible ``write_back``: a field the connector cannot carry back, or one the
    mapping's keys rule out (the schema's checks come before the first read)."""
    if not cls.write_back_fields:
        return [
            ConfigProblem(f"{label}.write_back", f"connector {cls.name} is one-way: it cannot write back to Notion")
        ]
    unknown = [f for f in fields if f not in cls.write_back_fields]
    if unknown:
        return [
            ConfigProblem(
                f"{label}.write_back",
                f"{', '.join(repr(f) for f in unknown)} cannot flow back from {cls.name}; "
                f"use some of: {', '.join(cls.write_back_fields)}",
            )
        ]
    if len(set(fields)) != len(fields):
        return [ConfigProblem(f"{label}.write_back", "a field is listed twice")]
    return [ConfigProblem(f"{label}.{p.key}", p.reason) for p in cls.write_back_problems(settings, fields, None)]


def broker_url(celery: CeleryConfig) -> Secret:
    """The Celery broker's URL from ``[celery] broker_url_env / broker_url``, as a secret."""
    if celery.broker_url:
        if urlsplit(celery.broker_url).password:
            raise ConfigError(
                [
                    ConfigProblem(
                        "celery.broker_url",
                        "the URL carries a password: move it to an environment variable and set "
                        "[celery] broker_url_env",
                    )
                ]
            )
        return Secret(celery.broker_url, "the config file")
    if not celery.broker_url_env:
        raise ConfigError([ConfigProblem("celery", "set broker_url_env (or broker_url): redis://host:6379/0")])
    found = resolve_secret("celery.broker_url", env=celery.broker_url_env)
    assert found is not None
    password = urlsplit(found.reveal()).password
    if password:
        REDACTOR.register(password)
    return found


def shared_limits_url(config: Config) -> str | None:
    """Where the fleet keeps its shared rate limits (the Redis broker), or None: pace per process."""
    if config.celery is None:
        return None
    url = broker_url(config.celery).reveal()
    return url if url.startswith(("redis://", "rediss://")) else None


def state_url(state: StateConfig, base_dir: Path) -> Secret:
    """The PostgreSQL URL from ``[state] url_env / url_file / url_keyring / url``, as a secret."""
    if state.url:
        url = Secret(state.url, "the config file")
    else:
        found = resolve_secret(
            "state.url",
            env=state.url_env if not state.url_file else None,
            file=config_relative(state.url_file, base_dir) if state.url_file else None,
            keyring=state.url_keyring,
        )
        assert found is not None  # required: resolve_secret raises instead
        url = found
    if not url.reveal().startswith(("postgresql://", "postgres://")):
        raise ConfigError(
            [
                ConfigProblem(
                    "state.url", f"{url.source} holds no postgresql:// URL; write postgresql://user:pass@host:5432/db"
                )
            ]
        )
    password = urlsplit(url.reveal()).password
    if password:
        # A driver's message may quote the URL's parts: the password alone is redacted too.
        REDACTOR.register(password)
    if state.url and password:
        raise ConfigError(
            [
                ConfigProblem(
                    "state.url",
                    "the URL carries a password, and the config file is no place for one: move the URL to "
                    "an environment variable and set [state] url_env (or url_file, url_keyring)",
                )
            ]
        )
    return url


def validation_problems(
    exc: ValidationError, prefix: str, model: type[BaseModel] | None, text: str
) -> list[ConfigProblem]:
    """A pydantic error as config problems, each with its key path (under ``prefix``), the line
    in ``text`` where the key is, and the fix: what the seed fixtures report too."""
    return _problems(exc, prefix, model, text)
