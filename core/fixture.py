"""Seed fixtures: what the emulators hold when they start, from a TOML or JSON file.

``notion-sync emulate --seed FILE`` loads one; without ``--seed`` it loads the demo's
(``notion_sync/core/fixtures/demo.toml``), which is also what ``notion-sync demo`` syncs.
The format (docs/emulators.md, "Seed fixtures")::

    [notion]
    token = "ntn_..."                     # optional: the token the emulator accepts
    [[notion.users]]                      # workspace members (people properties find them by email)
    name = "Ada"
    email = "ada@example.com"
    [[notion.databases]]
    title = "Team tasks"
    properties = { Name = { type = "title" }, Due = { type = "date" } }   # the schema
    [[notion.databases.rows]]             # rows of its (first) data source
    properties = { Name = "Ship it", Due = "{today+1}" }
    blocks = [{ type = "paragraph", text = "The page body" }]
    [[notion.databases.data_sources]]     # or: several data sources, each with its rows
    name = "Archive"

    [<connector>]                         # a connector's own section, in its emulator's format
    ...                                   # (docs/emulators.md lists the built-in ones)

``{today}``, ``{today+N}`` and ``{today-N}`` in a string are dates relative to the day the
emulators start, so a fixture stays "upcoming". A top-level table other than ``notion``
names a connector; its emulator validates it (``EmulatedTarget.seed_model``).
Every problem is reported at once, with the file, the key path and the fix.
"""

from __future__ import annotations

import json
import re
import tomllib
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import date, timedelta
from importlib.resources import files
from pathlib import Path
from typing import TYPE_CHECKING, Any

from pydantic import BaseModel, ConfigDict, Field, ValidationError, model_validator

from notion_sync.core.config import validation_problems
from notion_sync.core.errors import ConfigError, ConfigProblem

if TYPE_CHECKING:
    from notion_sync.core.adapter import EmulatedTarget
    from notion_sync.core.emulator.notion import NotionEmulator

__all__ = [
    "DEMO_FIXTURE",
    "BlockSeed",
    "DatabaseSeed",
    "Fixture",
    "NotionSeed",
    "RowSeed",
    "SeededDatabase",
    "apply_fixture",
    "expand_dates",
    "load_fixture",
    "read_fixture",
]

DEMO_FIXTURE = "demo.toml"
"""The fixture shipped in ``notion_sync/core/fixtures/``: the demo's task database."""

_TODAY = re.compile(r"\{today(?:([+-])(\d+))?\}")


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid")


class UserSeed(_Strict):
    """A workspace member."""

    name: str
    email: str | None = None


class BlockSeed(_Strict):
    """A block of a page body: ``type`` (paragraph, heading_1..3, to_do, bulleted_list_item,
    numbered_list_item, quote, callout, toggle, code), its ``text``, ``checked`` for a to_do,
    and nested ``children``."""

    type: str = "paragraph"
    text: str = ""
    checked: bool | None = None
    children: list[BlockSeed] = Field(default_factory=list)


class RowSeed(_Strict):
    """A row: simple property values (the emulator's ``add_page`` forms), a body, maybe trashed."""

    id: str | None = None
    properties: dict[str, Any]
    blocks: list[BlockSeed] = Field(default_factory=list)
    in_trash: bool = False


class DataSourceSeed(_Strict):
    """A data source of a database: its name, its schema (default: the database's) and rows."""

    name: str
    properties: dict[str, dict[str, Any]] | None = None
    rows: list[RowSeed] = Field(default_factory=list)


class DatabaseSeed(_Strict):
    """A database: a title, a schema, and rows (of its one data source) or data sources."""

    title: str
    id: str | None = None
    properties: dict[str, dict[str, Any]] | None = None
    rows: list[RowSeed] = Field(default_factory=list)
    data_sources: list[DataSourceSeed] = Field(default_factory=list)
    shared: bool = True
    """False: the integration cannot see it (a 404 naming the integration), as before sharing."""

    @model_validator(mode="after")
    def _shape(self) -> DatabaseSeed:
        if self.data_sources and self.rows:
            raise ValueError("give rows under each of data_sources, or rows without data_sources, not both")
        if self.properties is None and (not self.data_sources or any(d.properties is None for d in self.data_sources)):
            raise ValueError('no schema: add properties = { Name = { type = "title" }, ... }')
        for name, spec in {**(self.properties or {})}.items():
            if not isinstance(spec.get("type"), str):
                raise ValueError(f'property {name!r} needs a type, e.g. {{ type = "rich_text" }}')
        return self


class NotionSeed(_Strict):
    """The Notion emulator's content."""

    token: str | None = None
    users: list[UserSeed] = Field(default_factory=list)
    databases: list[DatabaseSeed] = Field(default_factory=list)


class Fixture(BaseModel):
    """A whole seed file: ``notion`` plus one table per connector (validated by its emulator)."""

    model_config = ConfigDict(extra="allow")

    notion: NotionSeed = Field(default_factory=NotionSeed)

    def connector_sections(self) -> dict[str, Any]:
        """The tables other than ``notion``: connector name → its raw section."""
        return dict(self.model_extra or {})


@dataclass
class SeededDatabase:
    """A database the fixture created: ids, url, and each row's page id by its title."""

    database_id: str
    data_source_id: str
    url: str
    title: str
    pages: dict[str, str] = field(default_factory=dict)


@dataclass
class ReadFixture:
    """A fixture file read and validated, with where it came from (for error messages)."""

    fixture: Fixture
    source: str
    text: str
    problems: list[ConfigProblem] = field(default_factory=list)
    """What is wrong with its ``notion`` table (then left empty): reported by ``apply_fixture``."""


def expand_dates(value: Any, today: date) -> Any:
    """``value`` with ``{today}``, ``{today+N}``, ``{today-N}`` replaced by ISO dates, in any nesting."""
    if isinstance(value, str):

        def day(match: re.Match[str]) -> str:
            sign, n = match.group(1), int(match.group(2) or 0)
            return (today + timedelta(days=-n if sign == "-" else n)).isoformat()

        return _TODAY.sub(day, value)
    if isinstance(value, list):
        return [expand_dates(v, today) for v in value]
    if isinstance(value, dict):
        return {k: expand_dates(v, today) for k, v in value.items()}
    return value


def read_fixture(path: Path | None) -> ReadFixture:
    """Read and validate a fixture file (None: the demo's). Raises ``ConfigError`` naming the
    file when it cannot be read or parsed; problems in its content are kept in ``problems``
    for ``apply_fixture`` to report with the connector tables' own, all at once."""
    if path is None:
        text = files("notion_sync.core").joinpath("fixtures", DEMO_FIXTURE).read_text(encoding="utf-8")
        source = f"<notion-sync>/core/fixtures/{DEMO_FIXTURE}"
    else:
        source = str(path)
        try:
            text = Path(path).expanduser().read_text(encoding="utf-8")
        except OSError as exc:
            raise ConfigError(
                f"cannot read the seed file: {exc.strerror}; pass an existing .toml or .json file to --seed",
                source=source,
            ) from None
    suffix = Path(source).suffix.lower()
    try:
        if suffix == ".json":
            data = json.loads(text)
        elif suffix == ".toml":
            data = tomllib.loads(text)
        else:
            raise ConfigError("a seed file ends in .toml or .json (see docs/emulators.md)", source=source)
    except (ValueError, tomllib.TOMLDecodeError) as exc:
        kind = "JSON" if suffix == ".json" else "TOML"
        raise ConfigError(f"this is not valid {kind}: {exc}", source=source) from None
    if not isinstance(data, dict):
        raise ConfigError("a seed file holds one object (a table) at the top", source=source)
    try:
        return ReadFixture(Fixture.model_validate(data), source, text)
    except ValidationError as exc:
        # Keep the connector tables: apply_fixture reports their problems with these, all at once.
        rest = Fixture.model_validate({k: v for k, v in data.items() if k != "notion"})
        return ReadFixture(rest, source, text, validation_problems(exc, "", Fixture, text))


def load_fixture(path: Path | None) -> Fixture:
    """The validated fixture at ``path`` (None: the demo's); raises ``ConfigError`` on any problem."""
    read = read_fixture(path)
    if read.problems:
        raise ConfigError(read.problems, source=read.source)
    return read.fixture


def apply_fixture(
    read: ReadFixture,
    notion: NotionEmulator,
    targets: Mapping[str, EmulatedTarget] | None = None,
    *,
    today: date | None = None,
    rows: list[dict[str, Any]] | None = None,
) -> list[SeededDatabase]:
    """Put the fixture's content into running emulators: Notion's into ``notion``, each
    connector section into that connector's target. ``rows`` replaces the rows of the first
    database (the demo's sandbox). Raises ``ConfigError`` with every problem found."""
    day = today or date.today()
    problems: list[ConfigProblem] = list(read.problems)
    sections: list[tuple[EmulatedTarget, Any]] = []
    for name, section in read.fixture.connector_sections().items():
        target = (targets or {}).get(name)
        if target is None or target.seed_model is None:
            have = ", ".join(sorted(n for n, t in (targets or {}).items() if t.seed_model is not None)) or "none"
            problems.append(
                ConfigProblem(
                    name,
                    f"no running emulator takes a {name!r} section (connectors with a seed format: {have}); "
                    "remove it, or start that service (--services)",
                )
            )
            continue
        try:
            sections.append((target, target.seed_model.model_validate(expand_dates(section, day))))
        except ValidationError as exc:
            problems.extend(validation_problems(exc, name, target.seed_model, read.text))
    if problems:
        raise ConfigError(problems, source=read.source)
    seed = read.fixture.notion
    if seed.token and seed.token != notion.token:
        notion.add_token(seed.token)
    token = seed.token or notion.token
    for user in seed.users:
        notion.add_user(user.name, user.email)
    created: list[SeededDatabase] = []
    for i, db_seed in enumerate(seed.databases):
        where = f"notion.databases[{i}]"
        sources = db_seed.data_sources or [DataSourceSeed(name=db_seed.title, rows=db_seed.rows)]
        schema = db_seed.properties or sources[0].properties or {}
        try:
            db = notion.create_database(
                db_seed.title,
                expand_dates(schema, day),
                data_sources=[sources[0].name],
                database_id=db_seed.id,
                shared_with=[token] if db_seed.shared else [],
            )
        except (ValueError, KeyError, TypeError) as exc:
            problems.append(ConfigProblem(f"{where}.properties", f"{exc}; fix the schema"))
            continue
        ds_ids = [db.data_sources[0].id]
        for source in sources[1:]:
            ds_ids.append(notion.add_data_source(db.id, source.name, source.properties))
        record = SeededDatabase(db.id, ds_ids[0], db.url, db_seed.title)
        for j, (source, ds_id) in enumerate(zip(sources, ds_ids, strict=True)):
            row_where = f"{where}.rows" if not db_seed.data_sources else f"{where}.data_sources[{j}].rows"
            known = notion.schema(ds_id)
            source_rows = [RowSeed(properties=r) for r in rows] if rows is not None and i == 0 else source.rows
            for k, row in enumerate(source_rows):
                unknown = [name for name in row.properties if name not in known]
                if unknown:
                    problems.append(
                        ConfigProblem(
                            f"{row_where}[{k}].properties.{unknown[0]}",
                            f"no such property in the schema; known: {', '.join(known)}",
                        )
                    )
                    continue
                try:
                    page_id = notion.add_page(ds_id, expand_dates(row.properties, day), page_id=row.id)
                except (ValueError, KeyError, TypeError) as exc:
                    problems.append(ConfigProblem(f"{row_where}[{k}].properties", f"a value does not fit: {exc}"))
                    continue
                if row.blocks:
                    notion.add_blocks(page_id, [b.model_dump() for b in row.blocks])
                if row.in_trash:
                    notion.trash_page(page_id)
                if j == 0:
                    title = next((str(v) for n, v in row.properties.items() if known[n]["type"] == "title"), page_id)
                    record.pages[title] = page_id
        created.append(record)
    for target, validated in sections:
        try:
            target.seed(validated)
        except (ValueError, KeyError) as exc:
            problems.append(ConfigProblem(target.emulator.service_name or type(target).__name__, str(exc)))
    if problems:
        raise ConfigError(problems, source=read.source)
    return created
