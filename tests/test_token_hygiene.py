"""Token files and `token rotate` when something is wrong: what is wrong and where, the
exit code, and never the secret or a traceback."""

from __future__ import annotations

import logging
import os

import pytest
from typer.testing import CliRunner

from notion_sync.core.cli import app
from notion_sync.core.sandbox import DEMO_TOKEN, NOTION_TOKEN_ENV
from tests.support.failure_cases import assert_clean_failure
from tests.support.memo import with_memo

runner = CliRunner()
NEW = "ntn_rotated_emulator_token_0000000002"


def cli(*args: str, input: str | None = None):
    return runner.invoke(app, list(args), input=input, catch_exceptions=False, obj=with_memo())


def use_token_file(box, path):
    data = box.config_data()
    data["notion"] = {**data["notion"], "token_file": str(path)}
    data["notion"].pop("token_env")
    box.write_config(data)


def token_file(box, text=DEMO_TOKEN):
    path = box.workdir / "notion.token"
    path.write_text(text)
    path.chmod(0o600)
    use_token_file(box, path)
    return path


# -- token files -------------------------------------------------------------------------------


def test_one_trailing_newline_in_a_token_file_is_normal_and_not_warned_about(box):
    token_file(box, DEMO_TOKEN + "\n")  # what `$EDITOR` leaves
    result = cli("run", "--config", str(box.config_path))
    assert result.exit_code == 0, result.output
    assert "removed surrounding whitespace" not in result.output


def test_more_than_one_trailing_newline_is_still_said(box):
    token_file(box, DEMO_TOKEN + "\n\n")
    result = cli("run", "--config", str(box.config_path))
    assert result.exit_code == 0 and "removed surrounding whitespace or newlines" in result.output


@pytest.mark.failure_case("token_file is a directory", "config error naming the key and the path", 2)
def test_a_token_file_that_is_a_directory(box):
    folder = box.workdir / "tokens"
    folder.mkdir()
    use_token_file(box, folder)
    for command in ("run", "check"):
        result = cli(command, "--config", str(box.config_path))
        assert_clean_failure(result, 2, "is a directory, not a file")


@pytest.mark.parametrize(
    ("token", "said"),
    [
        pytest.param(
            DEMO_TOKEN[:20] + "\n" + DEMO_TOKEN[20:],
            "a line break inside, at character 21 of",
            marks=pytest.mark.failure_case(
                "token with a line break inside", "config error: where, which character, never the token", 2
            ),
            id="newline",
        ),
        pytest.param(
            DEMO_TOKEN[:20] + "é" + DEMO_TOKEN[20:],
            "a non-ASCII character (U+00E9) inside",
            marks=pytest.mark.failure_case(
                "token with a non-ASCII character inside", "config error: where, which character, never the token", 2
            ),
            id="non-ascii",
        ),
    ],
)
@pytest.mark.parametrize("source", ["env", "file"])
def test_a_token_with_a_bad_character_inside_says_what_and_where(box, monkeypatch, token, said, source):
    if source == "env":
        monkeypatch.setenv(NOTION_TOKEN_ENV, token)
        where = f"environment variable {NOTION_TOKEN_ENV}"
    else:
        path = token_file(box, token)
        where = f"file {path}"
    result = cli("run", "--config", str(box.config_path))
    text = assert_clean_failure(result, 2, said, where, "notion.token")
    assert DEMO_TOKEN[:20] not in text and DEMO_TOKEN[21:] not in text
    assert box.notion.server.request_count(r".*") == 0  # said before any request, not after retries


@pytest.mark.failure_case(
    "inline Slack and Trello secrets in a config others can read", "warning naming each, with chmod 600 <config>", 2
)
def test_every_inline_secret_in_a_readable_config_gets_the_chmod_advice(tmp_path, caplog):
    path = tmp_path / "notion-sync.toml"
    path.write_text(
        '[trello]\napi_key = "key-inline-0000000000"\ntoken = "tok-inline-00000000000"\n\n'
        '[slack]\ntoken = "xoxb-inline-000000000000"\n\n'
        '[[mappings]]\nname = "m"\nconnector = "slack"\ndatabase = "8a1c2b3d4e5f40718293a4b5c6d7e8f9"\n'
        'channel = "C0123456789"\nfields = { text = "{Name}" }\n'
    )
    path.chmod(0o644)
    with caplog.at_level(logging.WARNING):
        result = cli("check", "--config", str(path))
    # check then stops at the Notion token (none is set): that is the exit code 2
    text = assert_clean_failure(result, 2) + caplog.text
    assert f"chmod 600 {path}" in text
    for key in ("trello.api_key", "trello.token", "slack.token"):
        assert key in text
    path.chmod(0o600)
    caplog.clear()
    with caplog.at_level(logging.WARNING):
        assert "chmod 600" not in cli("check", "--config", str(path)).output + caplog.text


# -- token rotate ------------------------------------------------------------------------------


@pytest.mark.failure_case("token rotate with no terminal and no --stdin", "config error: use --stdin or --from-file", 2)
def test_rotate_without_a_terminal_says_how_to_give_the_token(box):
    token_file(box)
    result = cli("token", "rotate", "--config", str(box.config_path))  # the runner's stdin is no TTY
    assert_clean_failure(result, 2, "no terminal", "--stdin")
    assert "GetPassWarning" not in result.output


@pytest.mark.failure_case("token rotate --from-file with a missing file", "config error naming the file", 2)
def test_rotate_from_a_missing_file(box):
    token_file(box)
    missing = box.workdir / "nope.txt"
    result = cli("token", "rotate", "--config", str(box.config_path), "--from-file", str(missing))
    assert_clean_failure(result, 2, f"--from-file {missing}: the file does not exist")


@pytest.mark.failure_case("token rotate with --stdin and --from-file", "usage error: not both", 2)
def test_rotate_refuses_stdin_and_from_file_together(box):
    path = token_file(box)
    new_file = box.workdir / "new.txt"
    new_file.write_text(NEW)
    result = cli(
        "token", "rotate", "--config", str(box.config_path), "--stdin", "--from-file", str(new_file), input=NEW
    )
    assert_clean_failure(result, 2, "not both")
    assert path.read_text() == DEMO_TOKEN


@pytest.mark.failure_case("token rotate with token_env: cannot store", "config error before asking for the secret", 2)
def test_rotate_with_token_env_says_so_before_asking(box):
    result = cli("token", "rotate", "--config", str(box.config_path), input=NEW + "\n")
    assert_clean_failure(result, 2, "switch to token_file")
    assert "New Notion token" not in result.output


@pytest.mark.failure_case("token rotate into an unwritable token folder", "config error: nothing changed, the fix", 2)
def test_rotate_into_an_unwritable_place_changes_nothing(box):
    blocker = box.workdir / "blocker"
    blocker.write_text("a file where the token's folder should be")
    use_token_file(box, blocker / "notion.token")
    os.environ[NOTION_TOKEN_ENV] = DEMO_TOKEN
    box.notion.add_token(NEW, regenerated_from=DEMO_TOKEN)
    # the old token cannot be read (its file is missing): the new one is still checked first
    result = cli("token", "rotate", "--config", str(box.config_path), "--stdin", input=NEW)
    text = assert_clean_failure(result, 2, "cannot be written to", "nothing was changed")
    assert NEW not in text


@pytest.mark.failure_case(
    "token rotate with a bad character in the new token", "config error: where, never the token", 2
)
def test_rotate_refuses_a_new_token_with_a_line_break_inside(box):
    path = token_file(box)
    result = cli("token", "rotate", "--config", str(box.config_path), "--stdin", input=NEW[:10] + "\n" + NEW[10:])
    assert_clean_failure(result, 2, "the new token", "a line break inside")
    assert path.read_text() == DEMO_TOKEN


def test_rotate_writes_through_a_symlinked_token_file(box):
    real = box.workdir / "secrets" / "notion.token"
    real.parent.mkdir()
    real.write_text(DEMO_TOKEN)
    real.chmod(0o600)
    link = box.workdir / "notion.token"
    link.symlink_to(real)
    use_token_file(box, link)
    box.notion.add_token(NEW, regenerated_from=DEMO_TOKEN)
    result = cli("token", "rotate", "--config", str(box.config_path), "--stdin", input=NEW)
    assert result.exit_code == 0, result.output
    assert link.is_symlink() and real.read_text().strip() == NEW
    assert f"through the link {link}" in result.output
    assert oct(real.stat().st_mode & 0o777) == "0o600"
