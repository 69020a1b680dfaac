"""The sample database used by ``notion-sync demo``, the conformance suite and benchmarks.

Its content is the seed fixture shipped as ``notion_sync/core/fixtures/demo.toml``, which
``notion-sync emulate`` also loads by default; this module gives it to Python callers.
"""

from __future__ import annotations

import tomllib
from dataclasses import dataclass, field
from datetime import date
from importlib.resources import files
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from notion_sync.core.emulator.notion import NotionEmulator

__all__ = ["DEMO_SCHEMA", "DemoDatabase", "demo_rows", "seed_demo_database"]


def _demo_database() -> dict[str, Any]:
    text = files("notion_sync.core").joinpath("fixtures", "demo.toml").read_text(encoding="utf-8")
    database: dict[str, Any] = tomllib.loads(text)["notion"]["databases"][0]
    return database


DEMO_SCHEMA: dict[str, dict[str, Any]] = _demo_database()["properties"]
"""The demo database's schema (name -> spec for ``NotionEmulator.create_database``)."""


def demo_rows(today: date | None = None) -> list[dict[str, Any]]:
    """Realistic tasks: all-day, timed with offsets, a range, one without a date."""
    from notion_sync.core.fixture import expand_dates

    rows = [row["properties"] for row in _demo_database()["rows"]]
    return [expand_dates(row, today or date.today()) for row in rows]


@dataclass
class DemoDatabase:
    """The seeded database: its id, its data source and the page id of each row by name."""

    database_id: str
    data_source_id: str
    url: str
    pages: dict[str, str] = field(default_factory=dict)


def seed_demo_database(
    notion: NotionEmulator, rows: list[dict[str, Any]] | None = None, title: str = "Team tasks"
) -> DemoDatabase:
    """Seed ``notion`` with the demo fixture (``rows`` replaces its rows; ``title`` its database's title)."""
    from notion_sync.core.fixture import apply_fixture, read_fixture

    read = read_fixture(None)
    read.fixture.notion.databases[0].title = title
    seeded = apply_fixture(read, notion, rows=rows)[0]
    return DemoDatabase(seeded.database_id, seeded.data_source_id, seeded.url, seeded.pages)
