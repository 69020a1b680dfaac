"""config.example.toml is valid with the built-in connectors, and the README points at real keys."""

from pathlib import Path

from notion_sync.core.config import load_config

REPO = Path(__file__).resolve().parents[1]


def test_example_config_loads_with_the_builtin_connectors():
    cfg = load_config(REPO / "config.example.toml")
    assert [m.name for m in cfg.mappings] == ["deadlines", "tasks-board", "tasks-channel"]
    assert {m.config.connector for m in cfg.mappings} == {"google_calendar", "trello", "slack"}
    assert cfg.discovery.broken == {}
