"""Config loading: every problem at once, with key paths, lines and fixes."""

import textwrap

import pytest

from notion_sync.core.config import load_config, parse_duration
from notion_sync.core.errors import ConfigError
from notion_sync.core.plugins import Discovery
from tests.support.failure_cases import assert_clean_failure
from tests.support.memo import MemoConnector

DISCOVERY = Discovery.of([MemoConnector])
DB = "https://www.notion.so/acme/Deadlines-8a1c2b3d4e5f40718293a4b5c6d7e8f9?v=1234"

GOOD = f"""
[notion]
token_env = "NOTION_TOKEN"

[state]
path = "state/notion-sync.sqlite3"

[memo]
base_url = "http://127.0.0.1:1"

[[mappings]]
name = "deadlines"
connector = "memo"
database = "{DB}"
filter = {{ property = "Status", status = {{ does_not_equal = "Done" }} }}
on_delete = "archive"
fields = {{ text = "{{Name}} due {{Due}}" }}
"""


def write(tmp_path, text):
    path = tmp_path / "notion-sync.toml"
    path.write_text(textwrap.dedent(text))
    return path


def test_good_config_resolves_everything(tmp_path):
    cfg = load_config(write(tmp_path, GOOD), discovery=DISCOVERY)
    m = cfg.mapping("deadlines")
    assert m.connector is MemoConnector and m.on_delete == "archive"
    assert m.config.database_id == "8a1c2b3d-4e5f-4071-8293-a4b5c6d7e8f9"
    assert m.config.filter == {"property": "Status", "status": {"does_not_equal": "Done"}}
    assert m.settings.fields.text == "{Name} due {Due}"
    assert cfg.state_path == tmp_path / "state" / "notion-sync.sqlite3"
    assert cfg.services["memo"].base_url == "http://127.0.0.1:1"


def test_environment_overrides_the_file(tmp_path, monkeypatch):
    monkeypatch.setenv("NOTION_SYNC_STATE__PATH", "/var/lib/ns.sqlite3")
    monkeypatch.setenv("NOTION_SYNC_NOTION__BASE_URL", "http://proxy:8080")
    monkeypatch.setenv("NOTION_SYNC_CONFIG", "ignored-here.toml")
    cfg = load_config(write(tmp_path, GOOD), discovery=DISCOVERY)
    assert str(cfg.state_path) == "/var/lib/ns.sqlite3"
    assert cfg.notion.base_url == "http://proxy:8080"


@pytest.mark.failure_case("three typos in the config", "config error listing all, with lines and did-you-means", 2)
def test_every_problem_is_reported_at_once_with_paths_lines_and_hints(tmp_path):
    bad = (
        GOOD.replace('token_env = "NOTION_TOKEN"', 'tokn_env = "NOTION_TOKEN"')
        .replace('on_delete = "archive"', 'on_delete = "archive"\nfull_scan_intervall = "1h"')
        .replace("fields = { text", "fields = { txt")
    )
    with pytest.raises(ConfigError) as info:
        load_config(write(tmp_path, bad), discovery=DISCOVERY)
    text = assert_clean_failure(info.value, 2)
    assert "notion-sync.toml" in text
    assert "notion.tokn_env" in text and "did you mean 'token_env'" in text and "(line 3)" in text
    # the mapping's connector keys are validated by the connector's own model
    assert "mappings[0] (deadlines).full_scan_intervall" in text and "did you mean 'full_scan_interval'" in text
    assert "mappings[0] (deadlines).fields.txt" in text  # a connector key


@pytest.mark.failure_case("typo in a connector's field (fields.txt)", "config error: key path, did-you-mean", 2)
def test_connector_keys_typos_are_errors(tmp_path):
    bad = GOOD.replace('fields = { text = "{Name} due {Due}" }', 'fields = { txt = "x" }')
    with pytest.raises(ConfigError) as info:
        load_config(write(tmp_path, bad), discovery=DISCOVERY)
    text = assert_clean_failure(info.value, 2)
    assert "mappings[0] (deadlines).fields.txt" in text and "did you mean 'text'" in text


@pytest.mark.parametrize(
    "change, expected",
    [
        pytest.param(
            ('connector = "memo"', 'connector = "memoo"'),
            "no connector named 'memoo'; installed: memo",
            marks=pytest.mark.failure_case(
                "a connector that is not installed", "config error listing the installed", 2
            ),
        ),
        pytest.param(
            ('on_delete = "archive"', 'on_delete = "strike"'),
            "'strike' is not supported by memo; use one of: delete, archive, keep",
            marks=pytest.mark.failure_case("an on_delete the connector lacks", "config error listing the modes", 2),
        ),
        pytest.param(
            (f'database = "{DB}"', 'database = "not a url"'),
            "is not a Notion database URL or id",
            marks=pytest.mark.failure_case("database that is not a URL or id", "config error: copy the link", 2),
        ),
        pytest.param(
            ("[memo]", "[memo]\n[trelo]"),
            "unknown section 'trelo'",
            marks=pytest.mark.failure_case("unknown section ([trelo])", "config error with did-you-mean", 2),
        ),
        pytest.param(
            ('name = "deadlines"', 'name = "deadlines"\nfull_scan_interval = "soon"'),
            "is not a duration",
            marks=pytest.mark.failure_case("full_scan_interval that is not a duration", "config error: e.g. 30m", 2),
        ),
    ],
)
def test_specific_mistakes_are_named(tmp_path, change, expected):
    with pytest.raises(ConfigError) as info:
        load_config(write(tmp_path, GOOD.replace(*change)), discovery=DISCOVERY)
    assert_clean_failure(info.value, 2, expected)


@pytest.mark.failure_case("two mappings with the same name", "config error naming both", 2)
def test_duplicate_mapping_names(tmp_path):
    text = GOOD + GOOD[GOOD.index("[[mappings]]") :]
    with pytest.raises(ConfigError) as info:
        load_config(write(tmp_path, text), discovery=DISCOVERY)
    assert_clean_failure(info.value, 2, "used by two mappings")


@pytest.mark.failure_case("config that is not valid TOML", "config error with TOML's line and column", 2)
def test_missing_file_and_bad_toml(tmp_path):
    with pytest.raises(ConfigError, match="does not exist; create it from config.example.toml"):
        load_config(tmp_path / "nope.toml", discovery=DISCOVERY)
    with pytest.raises(ConfigError) as info:
        load_config(write(tmp_path, "[notion\n"), discovery=DISCOVERY)
    assert_clean_failure(info.value, 2, "not valid TOML")


def test_durations():
    assert parse_duration("90s") == 90 and parse_duration("30m") == 1800 and parse_duration("1h") == 3600
    assert parse_duration("2d") == 172800 and parse_duration(15) == 15
    with pytest.raises(ValueError):
        parse_duration("an hour")
