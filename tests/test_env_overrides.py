"""Environment overrides of every table (plugins' too), unknown NOTION_SYNC_* variables,
errors that name the variable, every problem at once, and runs with nothing to do."""

from __future__ import annotations

import json
import textwrap

import pytest
from typer.testing import CliRunner

from notion_sync.core.cli import app
from notion_sync.core.config import load_config
from notion_sync.core.errors import ConfigError
from notion_sync.core.plugins import Discovery
from tests.support.failure_cases import assert_clean_failure
from tests.support.memo import MemoConnector, with_memo

runner = CliRunner()
DISCOVERY = Discovery.of([MemoConnector])
GOOD = """
[memo]
base_url = "http://127.0.0.1:1"

[[mappings]]
name = "deadlines"
connector = "memo"
database = "8a1c2b3d4e5f40718293a4b5c6d7e8f9"
fields = { text = "{Name}" }
"""


def cli(*args: str):
    return runner.invoke(app, list(args), catch_exceptions=False, obj=with_memo())


def write(tmp_path, text=GOOD):
    path = tmp_path / "notion-sync.toml"
    path.write_text(textwrap.dedent(text))
    return path


def problems_of(path) -> str:
    with pytest.raises(ConfigError) as info:
        load_config(path, discovery=DISCOVERY)
    return assert_clean_failure(info.value, 2)


def test_a_connector_table_is_overridden_from_the_environment_plugins_included(tmp_path, monkeypatch):
    monkeypatch.setenv("NOTION_SYNC_MEMO__TOKEN_ENV", "NOPE")  # memo is a plugin here, not a built-in
    monkeypatch.setenv("NOTION_SYNC_MEMO__BASE_URL", "http://127.0.0.1:2")
    cfg = load_config(write(tmp_path), discovery=DISCOVERY)
    assert cfg.services["memo"].token_env == "NOPE"
    assert cfg.services["memo"].base_url == "http://127.0.0.1:2"


def test_a_builtin_connector_table_is_overridden_too(tmp_path, monkeypatch):
    monkeypatch.setenv("NOTION_SYNC_SLACK__TOKEN_ENV", "NOPE")
    path = write(tmp_path, '[slack]\ntoken_env = "SLACK_BOT_TOKEN"\n')
    assert load_config(path).services["slack"].token_env == "NOPE"


def test_a_mapping_key_and_the_whole_list_can_come_from_the_environment(tmp_path, monkeypatch):
    monkeypatch.setenv("NOTION_SYNC_MAPPINGS__0__ENABLED", "false")
    monkeypatch.setenv("NOTION_SYNC_MAPPINGS__0__FIELDS__TEXT", "{Name} (env)")
    cfg = load_config(write(tmp_path), discovery=DISCOVERY)
    assert cfg.mappings[0].config.enabled is False and cfg.mappings[0].settings.fields.text == "{Name} (env)"
    other = {"name": "env", "connector": "memo", "database": "8a1c2b3d4e5f40718293a4b5c6d7e8f9"}
    monkeypatch.delenv("NOTION_SYNC_MAPPINGS__0__ENABLED")
    monkeypatch.delenv("NOTION_SYNC_MAPPINGS__0__FIELDS__TEXT")
    monkeypatch.setenv("NOTION_SYNC_MAPPINGS", json.dumps([other]))
    assert [m.name for m in load_config(write(tmp_path), discovery=DISCOVERY).mappings] == ["env"]


@pytest.mark.failure_case(
    "unknown NOTION_SYNC_* variable (NOTION_SYNC_STATE_PATH)", "config error naming the variable, did-you-mean", 2
)
def test_an_unknown_variable_is_an_error_with_a_did_you_mean(tmp_path, monkeypatch):
    monkeypatch.setenv("NOTION_SYNC_STATE_PATH", "/tmp/x.sqlite3")
    text = problems_of(write(tmp_path))
    assert "environment variable NOTION_SYNC_STATE_PATH" in text and "did you mean NOTION_SYNC_STATE__PATH?" in text
    result = cli("run", "--config", str(write(tmp_path)))
    assert_clean_failure(result, 2, "NOTION_SYNC_STATE_PATH")


def test_variables_the_tool_reads_on_purpose_and_named_secrets_are_not_flagged(tmp_path, monkeypatch):
    for name in (
        "NOTION_SYNC_CONFIG",
        "NOTION_SYNC_RETRY_SCALE",
        "NOTION_SYNC_DEMO_NOTION_TOKEN",
        "NOTION_SYNC_DEMO_SLACK_TOKEN",
        "NOTION_SYNC_SOAK_RUNS",
        "NOTION_SYNC_BENCH_TOKEN",
        "NOTION_SYNC_SHARED",
        "NOTION_SYNC_MY_MEMO_TOKEN",  # named by the config as a secret's *_env
    ):
        monkeypatch.setenv(name, "1")
    text = GOOD.replace('base_url = "http://127.0.0.1:1"', 'base_url = "x"\ntoken_env = "NOTION_SYNC_MY_MEMO_TOKEN"')
    assert load_config(write(tmp_path, text), discovery=DISCOVERY).services["memo"].token_env


@pytest.mark.parametrize(
    ("name", "value", "said"),
    [
        pytest.param(
            "NOTION_SYNC_NOTION__REQUESTS_PER_SECOND",
            "abc",
            "notion.requests_per_second (from the environment variable NOTION_SYNC_NOTION__REQUESTS_PER_SECOND)",
            marks=pytest.mark.failure_case(
                "env override with a bad value (requests_per_second=abc)", "config error naming the variable", 2
            ),
            id="bad-number",
        ),
        pytest.param(
            "NOTION_SYNC_MAPPINGS",
            "not json",
            "environment variable NOTION_SYNC_MAPPINGS: must be a JSON list of mapping tables",
            marks=pytest.mark.failure_case(
                "NOTION_SYNC_MAPPINGS that is not JSON", "config error naming the variable, with an example", 2
            ),
            id="mappings-not-json",
        ),
        pytest.param(
            "NOTION_SYNC_STATE__PTH",
            "x",
            "state.pth (from the environment variable NOTION_SYNC_STATE__PTH): unknown key 'pth'; did you mean 'path'",
            marks=pytest.mark.failure_case(
                "env override of an unknown key (STATE__PTH)", "config error naming the variable, did-you-mean", 2
            ),
            id="unknown-key",
        ),
        pytest.param(
            "NOTION_SYNC_MAPPINGS__3__ENABLED",
            "false",
            "after MAPPINGS__ comes a mapping's index: 0 to 0 here",
            marks=pytest.mark.failure_case(
                "env override of a mapping that does not exist", "config error naming the variable", 2
            ),
            id="no-such-mapping",
        ),
    ],
)
def test_environment_errors_name_the_variable_not_a_line_of_the_file(tmp_path, monkeypatch, name, value, said):
    monkeypatch.setenv(name, value)
    text = problems_of(write(tmp_path))
    assert said in text and "(line " not in text
    assert_clean_failure(cli("run", "--config", str(write(tmp_path))), 2, name)


@pytest.mark.failure_case("a config with five different mistakes", "config error listing all five", 2)
def test_five_mistakes_are_reported_together(tmp_path):
    path = write(
        tmp_path,
        """
        [notion]
        tokn_env = "NOTION_TOKEN"

        [memo]
        base_url = "http://127.0.0.1:1"

        [[mappings]]
        name = "a"
        connector = "memo"
        database = "8a1c2b3d4e5f40718293a4b5c6d7e8f9"
        enabled = "x"
        on_delete = "nah"

        [[mappings]]
        name = "a"
        connector = "memo"
        """,
    )
    text = problems_of(path)
    assert "5 problems" in text
    for said in (
        "notion.tokn_env (line 3): unknown key 'tokn_env'; did you mean 'token_env'?",
        "mappings[0] (a).enabled (line 12)",
        "mappings[0] (a).on_delete: 'nah' is not supported by memo",
        "mappings[1] (a): the name 'a' is used by two mappings",
        "mappings[1] (a).database: this key is required",
    ):
        assert said in text
    assert_clean_failure(cli("check", "--config", str(path)), 2, "5 problems")


@pytest.mark.parametrize(
    ("text", "env", "said"),
    [
        pytest.param(
            "[memo]\nbase_url = 'x'\n",
            {},
            "has no [[mappings]]",
            marks=pytest.mark.failure_case("a config with no mappings", "note: nothing is configured to run", 0),
            id="none",
        ),
        pytest.param(
            GOOD.replace("[[mappings]]", "[[mappings]]\nenabled = false"),
            {},
            "every mapping of",
            marks=pytest.mark.failure_case("every mapping enabled = false", "note: nothing is configured to run", 0),
            id="disabled",
        ),
        pytest.param(
            GOOD,
            {"NOTION_SYNC_MAPPINGS": "[]"},
            "NOTION_SYNC_MAPPINGS sets no mappings",
            marks=pytest.mark.failure_case("NOTION_SYNC_MAPPINGS='[]'", "note: nothing is configured to run", 0),
            id="env-empty",
        ),
    ],
)
def test_a_run_with_nothing_to_do_says_so(tmp_path, monkeypatch, text, env, said):
    for key, value in env.items():
        monkeypatch.setenv(key, value)
    path = write(tmp_path, text)
    result = cli("run", "--config", str(path))
    assert_clean_failure(result, 0, "nothing is configured to run", said)
    assert cli("run", "--config", str(path), "--quiet").output == ""  # cron: still quiet
    line = json.loads(cli("run", "--config", str(path), "--log-format", "json").stdout.splitlines()[0])
    assert line["event"] == "notice" and "nothing is configured to run" in line["message"]
