"""The sample database used by ``notion-sync demo``, the conformance suite and benchmarks."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, timedelta
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from notion_sync.core.emulator.notion import NotionEmulator

__all__ = ["DEMO_SCHEMA", "DemoDatabase", "demo_rows", "seed_demo_database"]

DEMO_SCHEMA: dict[str, dict[str, Any]] = {
    "Name": {"type": "title"},
    "Status": {
        "type": "status",
        "options": [
            {"name": "Not started", "color": "default", "group": "To-do"},
            {"name": "In progress", "color": "blue", "group": "In progress"},
            {"name": "Done", "color": "green", "group": "Complete"},
        ],
    },
    "Due": {"type": "date"},
    "Tags": {
        "type": "multi_select",
        "options": [
            {"name": "Bug", "color": "red"},
            {"name": "Feature", "color": "blue"},
            {"name": "Docs", "color": "green"},
        ],
    },
    "Notes": {"type": "rich_text"},
    "Owner": {"type": "people"},
    "Priority": {
        "type": "select",
        "options": [
            {"name": "High", "color": "red"},
            {"name": "Medium", "color": "yellow"},
            {"name": "Low", "color": "gray"},
        ],
    },
    "Urgent": {"type": "checkbox"},
}


def demo_rows(today: date | None = None) -> list[dict[str, Any]]:
    """Realistic tasks: all-day, timed with offsets, a range, one without a date."""
    d = today or date.today()

    def day(n: int) -> str:
        return (d + timedelta(days=n)).isoformat()

    return [
        {
            "Name": "Ship the release notes",
            "Status": "In progress",
            "Due": day(1),
            "Tags": ["Docs"],
            "Notes": "Draft is in the wiki; needs a review from Sam & Lee.",
            "Owner": [{"name": "Ada", "email": "ada@example.com"}],
            "Priority": "High",
            "Urgent": True,
        },
        {
            "Name": "Fix login timeout",
            "Status": "Not started",
            "Due": f"{day(2)}T09:30:00.000+01:00",
            "Tags": ["Bug"],
            "Notes": "Users in Berlin get logged out after 5 minutes.",
            "Priority": "High",
        },
        {
            "Name": "Customer call: Acme",
            "Status": "Not started",
            "Due": (f"{day(3)}T15:00:00.000-05:00", f"{day(3)}T16:00:00.000-05:00"),
            "Tags": ["Feature"],
            "Notes": "Agenda: <roadmap>, pricing.",
            "Owner": [{"name": "Grace", "email": "grace@example.com"}],
            "Priority": "Medium",
        },
        {
            "Name": "Offsite planning",
            "Status": "In progress",
            "Due": (day(7), day(9)),
            "Tags": ["Feature", "Docs"],
            "Notes": "Three days, venue TBD.",
            "Priority": "Low",
        },
        {
            "Name": "Write onboarding guide",
            "Status": "Done",
            "Due": day(-2),
            "Tags": ["Docs"],
            "Notes": "Published.",
            "Priority": "Medium",
        },
        {
            "Name": "Triage backlog",
            "Status": "Not started",
            "Due": None,
            "Tags": [],
            "Notes": "No date yet: calendar mappings skip it.",
            "Priority": "Low",
        },
    ]


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
    db = notion.create_database(title, DEMO_SCHEMA)
    ds = db.data_sources[0].id
    seeded = DemoDatabase(db.id, ds, db.url)
    for values in rows if rows is not None else demo_rows():
        seeded.pages[values["Name"]] = notion.add_page(ds, values)
    return seeded
