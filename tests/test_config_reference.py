"""docs/configuration.md is generated from the settings models and must match them."""

from pathlib import Path

from notion_sync.core.config_reference import render_reference

DOC = Path(__file__).resolve().parents[1] / "docs" / "configuration.md"


def test_committed_reference_matches_the_models():
    assert DOC.read_text() == render_reference(), (
        "docs/configuration.md is stale: run `python -m notion_sync.core.config_reference > docs/configuration.md`"
    )


def test_reference_lists_every_section_and_templates():
    text = render_reference()
    for heading in ("[notion]", "[state]", "[[mappings]]", "[google_calendar]", "[trello]", "[slack]"):
        assert heading in text
    assert "| `fields.summary` | template |" in text
    assert "property (date / formula / rollup)" in text
