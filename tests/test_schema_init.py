"""``notion-sync schema`` and ``notion-sync init`` against the Notion emulator."""

from __future__ import annotations

import json
import tomllib
from pathlib import Path
from typing import Any

import pytest
from typer.testing import CliRunner

from notion_sync.connectors.google_calendar.connector import GoogleCalendarConnector
from notion_sync.connectors.slack.connector import SlackConnector
from notion_sync.connectors.trello.connector import TrelloConnector
from notion_sync.core.cli import app
from notion_sync.core.config import load_config
from notion_sync.core.demo_data import DEMO_SCHEMA
from notion_sync.core.init_wizard import MappingPlan, render_config, starter_for
from notion_sync.core.plugins import discover
from notion_sync.core.sandbox import DEMO_TOKEN, Sandbox
from notion_sync.sdk import Starter
from tests.support.failure_cases import assert_clean_failure
from tests.support.memo import MemoConnector, with_memo

runner = CliRunner()


class StarterMemo(MemoConnector):
    """The memo connector with its own ``starter_mapping``: init must use it."""

    @classmethod
    def starter_mapping(cls, schema: dict[str, dict[str, Any]]) -> dict[str, Any]:
        status = next(n for n, p in schema.items() if p["type"] == "status")
        return {"fields": {"text": "{Name} [starter]", "tag": status}}


@pytest.fixture
def env_token(monkeypatch, tmp_path):
    """No config file in the working folder; the token in $NOTION_TOKEN."""
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    monkeypatch.chdir(elsewhere)
    monkeypatch.delenv("NOTION_SYNC_CONFIG", raising=False)
    monkeypatch.setenv("NOTION_TOKEN", DEMO_TOKEN)


def cli(*args: str, input: str | None = None, memo: type[MemoConnector] = MemoConnector):
    return runner.invoke(app, list(args), input=input, catch_exceptions=False, obj=with_memo(memo))


def fresh(tmp_path: Path) -> Path:
    """Where init writes: a new folder (the sandbox's own config is in tmp_path)."""
    folder = tmp_path / "new"
    folder.mkdir(exist_ok=True)
    return folder / "notion-sync.toml"


def init_args(box: Sandbox, out: Path, *extra: str) -> list[str]:
    return ["init", "--database", box.database.url, "--base-url", box.notion.url, "--out", str(out), *extra]


# --------------------------------------------------------------------------- schema


def test_schema_table_shows_types_options_and_status_groups(box):
    result = cli("schema", box.database.url, "--config", str(box.config_path))
    assert result.exit_code == 0, result.output
    text = result.stdout
    for name, spec in DEMO_SCHEMA.items():
        assert name in text and spec["type"] in text
    assert "To-do: Not started" in text and "Complete: Done" in text
    assert "Bug, Feature, Docs" in text and "High, Medium, Low" in text
    assert box.database.data_source_id in text


def test_schema_json_lists_every_property_with_options(box):
    result = cli("schema", box.database.url, "--config", str(box.config_path), "--json")
    assert result.exit_code == 0, result.output
    doc = json.loads(result.stdout)
    assert doc["data_source"] == {"id": box.database.data_source_id, "name": "Team tasks"}
    assert doc["database_id"] == box.database.database_id
    props = {p["name"]: p for p in doc["properties"]}
    assert list(props) == list(DEMO_SCHEMA)
    assert {n: p["type"] for n, p in props.items()} == {n: s["type"] for n, s in DEMO_SCHEMA.items()}
    assert props["Status"]["options"] == [
        {"name": "Not started", "color": "default", "group": "To-do"},
        {"name": "In progress", "color": "blue", "group": "In progress"},
        {"name": "Done", "color": "green", "group": "Complete"},
    ]
    assert [o["name"] for o in props["Tags"]["options"]] == ["Bug", "Feature", "Docs"]
    assert "group" not in props["Priority"]["options"][0]
    assert "options" not in props["Due"]


def test_schema_without_config_uses_the_env_token_and_base_url(box, env_token):
    undashed = box.database.database_id.replace("-", "")
    result = cli("schema", undashed, "--base-url", box.notion.url, "--json")
    assert result.exit_code == 0, result.output
    assert json.loads(result.stdout)["data_source"]["id"] == box.database.data_source_id


@pytest.mark.failure_case("schema with no token variable set", "usage error naming the variable", 2)
def test_schema_without_token_is_a_usage_error(box, env_token, monkeypatch):
    monkeypatch.delenv("NOTION_TOKEN")
    result = cli("schema", box.database.url, "--base-url", box.notion.url)
    assert_clean_failure(result, 2)
    assert "NOTION_TOKEN is not set" in result.stderr


@pytest.mark.failure_case("schema --config with a missing file", "usage error naming the file", 2)
def test_schema_with_a_missing_explicit_config_is_a_usage_error(box, tmp_path):
    result = cli("schema", box.database.url, "--config", str(tmp_path / "nope.toml"))
    assert_clean_failure(result, 2)
    assert "does not exist" in result.stderr


@pytest.mark.failure_case("schema of an unknown database id", "access error: share it (Connections)", 3)
def test_unknown_database_exits_3_and_says_to_share_it(box):
    result = cli("schema", "0123456789abcdef0123456789abcdef", "--config", str(box.config_path))
    assert_clean_failure(result, 3)
    assert "not shared with integration" in result.stderr and "Connections" in result.stderr
    assert "Traceback" not in result.output


@pytest.mark.failure_case("schema of an unshared database", "access error: share it (Connections)", 3)
def test_unshared_database_exits_3(box):
    box.notion.share(box.database.database_id, shared=False)
    result = cli("schema", box.database.url, "--config", str(box.config_path))
    assert_clean_failure(result, 3)
    assert "Connections" in result.stderr


@pytest.mark.failure_case("schema of a URL that is not Notion's", "usage error naming DATABASE", 2)
def test_not_a_database_url_is_a_usage_error(box):
    result = cli("schema", "https://example.com/nothing-here", "--config", str(box.config_path))
    assert_clean_failure(result, 2)
    assert "DATABASE" in result.stderr


@pytest.mark.failure_case(
    "database with several data sources, none named", "config error listing them, --data-source", 2
)
def test_several_data_sources_need_data_source(box):
    box.notion.add_data_source(box.database.database_id, "Archive")
    result = cli("schema", box.database.url, "--config", str(box.config_path))
    assert_clean_failure(result, 2)
    assert "--data-source" in result.stderr and "'Archive'" in result.stderr
    result = cli("schema", box.database.url, "--config", str(box.config_path), "--data-source", "Archive", "--json")
    assert result.exit_code == 0, result.output
    assert json.loads(result.stdout)["data_source"]["name"] == "Archive"


# --------------------------------------------------------------------------- init, from flags


def test_init_from_flags_writes_a_config_that_loads(box, env_token, tmp_path):
    out = fresh(tmp_path)
    result = cli(*init_args(box, out, "--target", "memo", "--yes"))
    assert result.exit_code == 0, result.output
    text = out.read_text()
    assert DEMO_TOKEN not in text and DEMO_TOKEN not in result.output
    data = tomllib.loads(text)
    assert data["notion"] == {"token_env": "NOTION_TOKEN", "base_url": box.notion.url}
    assert data["memo"]["token_env"] == "MEMO_TOKEN"
    assert data["mappings"][0]["database"] == box.database.url
    cfg = load_config(out, discovery=with_memo())
    assert [m.config.connector for m in cfg.mappings] == ["memo"]
    assert "notion-sync check" in result.stdout and "notion-sync run --dry-run" in result.stdout
    assert result.stdout.index("notion-sync check") < result.stdout.index("notion-sync run --dry-run")


def test_init_uses_the_connectors_starter_mapping_and_the_result_runs(box, env_token, tmp_path):
    out = fresh(tmp_path)
    memo = box.targets["memo"]
    # What only the user knows (where the memo service is), given with --set: it goes to [memo].
    result = cli(
        *init_args(
            box,
            out,
            "-t",
            "memo",
            "--yes",
            "--set",
            f"memo.base_url={memo.service_settings['base_url']}",
            "--set",
            f"memo.token_env={memo.service_settings['token_env']}",
        ),
        memo=StarterMemo,
    )
    assert result.exit_code == 0, result.output
    data = tomllib.loads(out.read_text())
    assert data["mappings"][0]["fields"] == {"text": "{Name} [starter]", "tag": "Status"}
    assert data["memo"] == memo.service_settings
    assert cli("check", "--config", str(out), memo=StarterMemo).exit_code == 0
    result = cli("run", "--config", str(out), memo=StarterMemo)
    assert result.exit_code == 0, result.output
    assert len(memo.items()) == len(box.database.pages)
    assert all(text.endswith("[starter]") for text in memo.items().values())


@pytest.mark.failure_case("init over an existing file", "usage error: --force", 2)
def test_init_refuses_to_overwrite_without_force(box, env_token, tmp_path):
    out = fresh(tmp_path)
    out.write_text("# mine\n")
    result = cli(*init_args(box, out, "-t", "memo", "--yes"))
    assert_clean_failure(result, 2)
    assert "--force" in result.stderr
    assert out.read_text() == "# mine\n"
    result = cli(*init_args(box, out, "-t", "memo", "--yes", "--force"))
    assert result.exit_code == 0, result.output
    assert "[[mappings]]" in out.read_text()


@pytest.mark.failure_case("init with an unknown --target", "usage error listing the installed connectors", 2)
def test_init_with_an_unknown_target_lists_the_installed_ones(box, env_token, tmp_path):
    result = cli(*init_args(box, tmp_path / "x.toml", "-t", "memp", "--yes"))
    assert_clean_failure(result, 2)
    assert "'memp'" in result.stderr and "memo" in result.stderr
    assert not (tmp_path / "x.toml").exists()


@pytest.mark.failure_case("init --yes without --database or --target", "usage error naming the flag", 2)
def test_init_with_yes_needs_the_database_and_a_target(box, env_token, tmp_path):
    result = cli("init", "--yes", "--out", str(tmp_path / "x.toml"))
    assert_clean_failure(result, 2)
    assert "--database" in result.stderr
    result = cli(*init_args(box, tmp_path / "x.toml", "--yes"))
    assert_clean_failure(result, 2)
    assert "--target" in result.stderr


@pytest.mark.failure_case(
    "init --token-env given the token itself", "usage error: the NAME of a variable, token not shown", 2
)
def test_init_refuses_a_token_given_as_token_env(box, env_token, tmp_path):
    result = cli(*init_args(box, tmp_path / "x.toml", "-t", "memo", "--yes", "--token-env", DEMO_TOKEN + "-x"))
    assert_clean_failure(result, 2)
    assert "NAME of an environment variable" in result.stderr
    assert DEMO_TOKEN not in result.output


@pytest.mark.failure_case("init --set with a secret", "usage error: use the *_env key", 2)
def test_init_refuses_secrets_in_set(box, env_token, tmp_path):
    out = fresh(tmp_path)
    result = cli(*init_args(box, out, "-t", "memo", "--yes", "--set", "memo.token=hunter2-secret-value"))
    assert_clean_failure(result, 2)
    assert "memo.token_env=VARIABLE" in result.stderr
    assert "hunter2-secret-value" not in result.output and not out.exists()
    result = cli(*init_args(box, out, "-t", "memo", "--yes", "--set", "trello.board=x"))
    assert_clean_failure(result, 2)
    assert "not a --target" in result.stderr


@pytest.mark.failure_case("init --set a key the connector does not know", "config error: written, needs edits", 2)
def test_a_starter_that_does_not_load_is_written_and_explained(box, env_token, tmp_path):
    out = fresh(tmp_path)
    result = cli(*init_args(box, out, "-t", "memo", "--yes", "--set", "memo.fields.nope=1"))
    assert_clean_failure(result, 2)
    assert out.exists()
    assert "needs edits before it loads" in result.stderr and "nope" in result.stderr
    assert "notion-sync check" in result.stdout


@pytest.mark.failure_case("init on an unshared database", "access error: share it (Connections)", 3)
def test_init_on_an_unshared_database_exits_3(box, env_token, tmp_path):
    box.notion.share(box.database.database_id, shared=False)
    result = cli(*init_args(box, tmp_path / "x.toml", "-t", "memo", "--yes"))
    assert_clean_failure(result, 3)
    assert "Connections" in result.stderr
    assert not (tmp_path / "x.toml").exists()


@pytest.mark.parametrize("connector", ["google_calendar", "trello", "slack"])
def test_init_for_a_builtin_connector_loads_when_it_is_installed(box, env_token, tmp_path, connector):
    if connector not in discover().connectors:
        pytest.skip(f"the {connector} connector is not installed in this checkout")
    out = fresh(tmp_path)
    result = cli(*init_args(box, out, "-t", connector, "--yes"))
    assert result.exit_code == 0, result.output
    load_config(out, discovery=with_memo())


# --------------------------------------------------------------------------- init, interactive


def test_interactive_init_asks_and_writes(box, env_token, tmp_path):
    out = fresh(tmp_path)
    answers = f"{box.database.url}\nmemo\ny\n"
    result = cli("init", "--base-url", box.notion.url, "--out", str(out), input=answers, memo=StarterMemo)
    assert result.exit_code == 0, result.output
    assert "Notion database URL" in result.stdout and "Targets" in result.stdout
    assert "To-do: Not started" in result.stdout, "the schema is shown before the targets are asked"
    assert load_config(out, discovery=with_memo(StarterMemo)).mappings[0].config.connector == "memo"


def test_interactive_init_asks_for_a_missing_token_and_never_writes_it(box, env_token, tmp_path, monkeypatch):
    monkeypatch.delenv("NOTION_TOKEN")
    out = fresh(tmp_path)
    answers = f"{box.database.url}\n{DEMO_TOKEN}\nmemo\ny\n"
    result = cli("init", "--base-url", box.notion.url, "--out", str(out), input=answers)
    assert result.exit_code == 0, result.output
    assert "Notion token" in result.stdout
    assert DEMO_TOKEN not in result.output and DEMO_TOKEN not in out.read_text()
    assert 'token_env = "NOTION_TOKEN"' in out.read_text()


def test_interactive_init_asks_which_data_source(box, env_token, tmp_path):
    box.notion.add_data_source(box.database.database_id, "Archive")
    out = fresh(tmp_path)
    answers = f"{box.database.url}\nArchive\nmemo\ny\n"
    result = cli("init", "--base-url", box.notion.url, "--out", str(out), input=answers)
    assert result.exit_code == 0, result.output
    assert "'Archive'" in result.stdout
    assert tomllib.loads(out.read_text())["mappings"][0]["data_source"] == "Archive"
    load_config(out, discovery=with_memo())


def test_interactive_init_without_answers_says_how_to_run_without_questions(box, env_token, tmp_path):
    out = fresh(tmp_path)
    result = cli("init", "--base-url", box.notion.url, "--out", str(out), input="")
    assert_clean_failure(result, 2)
    assert "--yes" in result.stderr and "Traceback" not in result.output
    assert not out.exists()


def test_interactive_init_writes_nothing_when_declined(box, env_token, tmp_path):
    out = fresh(tmp_path)
    result = cli("init", "--base-url", box.notion.url, "--out", str(out), input=f"{box.database.url}\nmemo\nn\n")
    assert result.exit_code == 0 and "nothing written" in result.stdout
    assert not out.exists()


# --------------------------------------------------------------------------- the guesses


def schema_json() -> dict[str, dict[str, Any]]:
    """The demo schema as Notion returns it (read from a running emulator once)."""
    from notion_sync.core.emulator.notion import NotionEmulator

    emulator = NotionEmulator()
    db = emulator.create_database("Team tasks", DEMO_SCHEMA)
    return emulator.schema(db.data_sources[0].id)


@pytest.fixture(scope="module")
def demo_schema() -> dict[str, dict[str, Any]]:
    return schema_json()


def test_builtin_guesses_follow_the_schema(demo_schema):
    gcal = GoogleCalendarConnector.starter(demo_schema).mapping
    assert gcal["calendar_id"] == "primary"
    assert gcal["fields"] == {"summary": "{Name}", "start": "Due", "description": "{Notes}\n\n{url}"}
    trello = TrelloConnector.starter(demo_schema).mapping
    assert trello["list_from"] == "Status"
    assert trello["lists"] == {"Not started": "Not started", "In progress": "In progress", "Done": "Done"}
    assert trello["fields"]["name"] == "{Name}" and trello["fields"]["due"] == "Due"
    assert trello["fields"]["labels"] == "Tags"
    slack = SlackConnector.starter(demo_schema).mapping
    assert slack["channel"] == "#general" and slack["mode"] == "mirror"
    assert slack["fields"]["text"].startswith("{Name}")
    assert starter_for(MemoConnector, demo_schema).mapping == {}


def test_trello_guess_without_status_uses_a_select_then_a_default_list(demo_schema):
    no_status = {n: p for n, p in demo_schema.items() if p["type"] != "status"}
    assert TrelloConnector.starter(no_status).mapping["list_from"] == "Priority"
    bare = {n: p for n, p in demo_schema.items() if p["type"] not in ("status", "select")}
    keys = TrelloConnector.starter(bare).mapping
    assert "list_from" not in keys and keys["default_list"]


def test_rendered_starter_is_valid_toml_with_awkward_names(demo_schema):
    schema = {("Nom de la tâche" if n == "Name" else n): p for n, p in demo_schema.items()}
    schema["Status"]["status"]["options"][0]["name"] = 'À "faire"'
    plans = [
        MappingPlan(
            f"t-{c}",
            c,
            "https://www.notion.so/x-0123456789abcdef0123456789abcdef",
            None,
            cls.starter(schema),
            None,
        )
        for c, cls in (
            ("google_calendar", GoogleCalendarConnector),
            ("trello", TrelloConnector),
            ("slack", SlackConnector),
        )
    ]
    text = render_config(
        notion={"token_env": "NOTION_TOKEN"},
        mappings=plans,
        services={"trello": ({"token_env": "TRELLO_TOKEN"}, {})},
        source_name="Tâches",
    )
    data = tomllib.loads(text)
    assert data["mappings"][0]["fields"]["summary"] == "{Nom de la tâche}"
    assert data["mappings"][1]["lists"]['À "faire"'] == 'À "faire"'
    assert data["mappings"][1]["fields"]["desc"] == "{Notes}\n\n{url}"
    assert data["trello"] == {"token_env": "TRELLO_TOKEN"}


def test_a_connector_without_guesses_gets_a_comment_listing_its_keys(demo_schema):
    plan = MappingPlan("m", "memo", "0123456789abcdef0123456789abcdef", None, Starter(), MemoConnector)
    text = render_config(notion={"token_env": "NOTION_TOKEN"}, mappings=[plan], services={}, source_name="x")
    assert "# TODO: fill in memo's keys" in text and "fields (text, tag)" in text
    tomllib.loads(text)
