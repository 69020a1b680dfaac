"""Token handling: sources, hygiene, fingerprints, age, rotation, audit, history."""

from __future__ import annotations

import json
import logging
from datetime import UTC, datetime, timedelta

import keyring
import keyring.backend
import pytest
from typer.testing import CliRunner

from notion_sync.core.cli import app
from notion_sync.core.engine import MappingReport, RowFailure
from notion_sync.core.errors import ConfigError
from notion_sync.core.output import Output, setup_logging
from notion_sync.core.planner import Action
from notion_sync.core.sandbox import DEMO_TOKEN, NOTION_TOKEN_ENV
from notion_sync.core.secrets import REDACTOR, RedactingFilter, clean_secret, fingerprint, resolve_secret
from notion_sync.core.state import StateStore
from tests.support.failure_cases import assert_clean_failure
from tests.support.memo import with_memo

runner = CliRunner()


class MemoryKeyring(keyring.backend.KeyringBackend):
    priority = 1  # type: ignore[assignment]

    def __init__(self) -> None:
        super().__init__()
        self.store: dict[tuple[str, str], str] = {}

    def get_password(self, service, username):
        return self.store.get((service, username))

    def set_password(self, service, username, password):
        self.store[(service, username)] = password

    def delete_password(self, service, username):
        self.store.pop((service, username), None)


@pytest.fixture
def memory_keyring():
    previous = keyring.get_keyring()
    backend = MemoryKeyring()
    keyring.set_keyring(backend)
    yield backend
    keyring.set_keyring(previous)


def cli(*args, input=None):
    return runner.invoke(app, list(args), input=input, catch_exceptions=False, obj=with_memo())


@pytest.mark.parametrize(
    "pasted, notes",
    [
        ("  ntn_abc123def456\n", ["removed surrounding whitespace or newlines"]),
        ('"ntn_abc123def456"', ["removed surrounding quotes"]),
        ("Bearer ntn_abc123def456", ["removed a pasted 'Bearer ' prefix"]),
        (
            " 'Bearer ntn_abc123def456'\r\n",
            [
                "removed surrounding whitespace or newlines",
                "removed surrounding quotes",
                "removed a pasted 'Bearer ' prefix",
            ],
        ),
        ("ntn_abc123def456\n", []),  # one trailing newline: what every editor leaves in a file
        ("ntn_abc123def456\r\n", []),
    ],
)
def test_pasted_junk_is_stripped_and_said(pasted, notes):
    assert clean_secret(pasted) == ("ntn_abc123def456", notes)


def test_fingerprint_shows_prefix_last_four_and_a_hash_only():
    fp = fingerprint("ntn_4567890123456789abcd")
    assert fp.startswith("ntn_…abcd (sha256:") and "4567890123" not in fp


@pytest.mark.failure_case("secret file readable by others", "config error with the chmod 600 to run", 2)
def test_group_readable_secret_file_is_refused_with_the_chmod(tmp_path):
    path = tmp_path / "token"
    path.write_text("ntn_filetoken000000")
    path.chmod(0o640)
    with pytest.raises(ConfigError) as info:
        resolve_secret("notion.token", file=path)
    assert_clean_failure(info.value, 2, f"chmod 600 {path}")
    path.chmod(0o600)
    assert resolve_secret("notion.token", file=path).reveal() == "ntn_filetoken000000"


def test_inline_secret_works_with_a_warning(caplog):
    secret = resolve_secret("trello.token", inline="abcdef123456")
    assert secret.reveal() == "abcdef123456"
    assert "written inline in the config file" in caplog.text


@pytest.mark.failure_case("keyring entry that does not exist", "config error with the keyring set to run", 2)
@pytest.mark.failure_case("token_keyring without service/name", "config error showing the form", 2)
def test_keyring_source(memory_keyring):
    memory_keyring.set_password("notion-sync", "acme", "ntn_fromkeyring0000")
    assert resolve_secret("notion.token", keyring="notion-sync/acme").reveal() == "ntn_fromkeyring0000"
    with pytest.raises(ConfigError) as info:
        resolve_secret("notion.token", keyring="notion-sync/missing")
    assert_clean_failure(info.value, 2, "keyring set notion-sync missing")
    with pytest.raises(ConfigError) as info:
        resolve_secret("notion.token", keyring="no-slash")
    assert_clean_failure(info.value, 2, "service/name")


def test_whitespace_padded_token_still_works_and_is_reported(box, monkeypatch):
    monkeypatch.setenv(NOTION_TOKEN_ENV, f"  Bearer {DEMO_TOKEN}\n")
    result = cli("run", "--config", str(box.config_path))
    assert result.exit_code == 0, result.output
    assert "removed a pasted 'Bearer ' prefix" in result.stderr


def test_token_without_known_prefix_warns(box, monkeypatch):
    odd = "abcdefabcdef0123456789"
    box.notion.add_token(odd)
    box.notion.share(box.database.database_id, odd)
    monkeypatch.setenv(NOTION_TOKEN_ENV, odd)
    result = cli("run", "--config", str(box.config_path))
    assert result.exit_code == 0 and "neither 'ntn_' nor 'secret_'" in result.stderr
    assert odd not in result.output


@pytest.mark.failure_case("Notion token without the Read content capability", "access error naming the capability", 3)
def test_missing_capability_is_explained(box, monkeypatch):
    weak = "ntn_no_read_capability_emulator_0000"
    box.notion.add_token(weak, capabilities=frozenset({"insert_content"}))
    box.notion.share(box.database.database_id, weak)
    monkeypatch.setenv(NOTION_TOKEN_ENV, weak)
    result = cli("run", "--config", str(box.config_path))
    assert_clean_failure(result, 3, "Read content")


def test_token_age_is_recorded_and_warned_about(box, caplog):
    assert cli("run", "--config", str(box.config_path), "-q").exit_code == 0
    state = StateStore.open(box.state_path)
    state.conn.execute("UPDATE tokens SET first_seen = ?", ((datetime.now(UTC) - timedelta(days=120)).isoformat(),))
    state.close()
    result = cli("run", "--config", str(box.config_path))
    assert "first seen 120 days ago" in result.stderr and "notion-sync token rotate" in result.stderr
    check = cli("check", "--config", str(box.config_path))
    assert check.exit_code == 2 and "token rotate" in check.stdout


def token_file_config(box, tmp_path):
    token_file = tmp_path / "notion.token"
    token_file.write_text(DEMO_TOKEN)
    token_file.chmod(0o600)
    data = box.config_data()
    data["notion"] = {**data["notion"], "token_file": str(token_file)}
    data["notion"].pop("token_env")
    box.write_config(data)
    return token_file


def test_rotate_accepts_a_token_of_the_same_integration(box, tmp_path):
    token_file = token_file_config(box, tmp_path)
    new = "ntn_rotated_emulator_token_0000000001"
    box.notion.add_token(new, regenerated_from=DEMO_TOKEN)
    result = cli("token", "rotate", "--config", str(box.config_path), "--stdin", input=f"  {new}\n")
    assert result.exit_code == 0, result.output
    assert token_file.read_text().strip() == new
    assert oct(token_file.stat().st_mode & 0o777) == "0o600"
    assert new not in result.output and "rotated:" in result.output
    state = StateStore.open(box.state_path, readonly=True)
    retired = [r for r in state.tokens() if r["retired_at"]]
    state.close()
    assert len(retired) == 1
    assert cli("run", "--config", str(box.config_path), "-q").exit_code == 0


@pytest.mark.failure_case("token rotate to another integration's token", "access error: nothing changed", 3)
@pytest.mark.failure_case("token rotate to a token that misses a database", "access error listing the mappings", 3)
def test_rotate_refuses_another_integration_or_missing_access(box, tmp_path):
    token_file = token_file_config(box, tmp_path)
    other = "ntn_other_integration_emulator_00000001"
    box.notion.add_token(other, bot_name="Someone else")
    box.notion.share(box.database.database_id, other)
    result = cli("token", "rotate", "--config", str(box.config_path), "--stdin", input=other)
    assert_clean_failure(result, 3, "another integration")
    unshared = "ntn_same_bot_but_unshared_emulator_0001"
    box.notion.add_token(unshared, regenerated_from=DEMO_TOKEN)
    box.notion.share(box.database.database_id, unshared, shared=False)
    result = cli("token", "rotate", "--config", str(box.config_path), "--stdin", input=unshared)
    assert_clean_failure(result, 3, "cannot reach every mapped database")
    assert token_file.read_text() == DEMO_TOKEN


def test_rotate_refuses_when_the_token_comes_from_the_environment(box):
    result = cli("token", "rotate", "--config", str(box.config_path), "--stdin", input="ntn_whatever_000000")
    assert result.exit_code == 2 and "switch to token_file" in result.stderr


def test_rotate_into_the_keyring(box, memory_keyring):
    memory_keyring.set_password("notion-sync", "demo", DEMO_TOKEN)
    data = box.config_data()
    data["notion"] = {**data["notion"], "token_keyring": "notion-sync/demo"}
    data["notion"].pop("token_env")
    box.write_config(data)
    new = "ntn_rotated_into_keyring_emulator_0001"
    box.notion.add_token(new, regenerated_from=DEMO_TOKEN)
    assert cli("token", "rotate", "--config", str(box.config_path), "--stdin", input=new).exit_code == 0
    assert memory_keyring.get_password("notion-sync", "demo") == new


def test_audit_lists_unused_databases_and_capabilities(box):
    other = box.notion.create_database("Old experiments", {"Name": {"type": "title"}})
    result = cli("audit", "--config", str(box.config_path), "--json")
    assert result.exit_code == 0, result.output
    data = json.loads(result.stdout)
    assert data["unused"] == [other.data_sources[0].id]  # rows of the used database count as used
    assert "Read content" in data["capabilities_needed"]
    text = cli("audit", "--config", str(box.config_path)).stdout
    assert "Old experiments" in text and "Connections" in text


@pytest.mark.failure_case("history --since that is not a time", "usage error: e.g. 2d, 6h or a date", 2)
def test_history_and_retry(box):
    box.targets["memo"].emulator.server.faults.schedule(400, count=1, path="/memos", method="POST")
    cli("run", "--config", str(box.config_path))
    result = cli("history", "--config", str(box.config_path), "--log-format", "json")
    lines = [json.loads(line) for line in result.stdout.splitlines()]
    assert {line["action"] for line in lines} == {"created", "failed"}
    assert all(line["token_fingerprint"].startswith("ntn_…") for line in lines)
    failed = cli("history", "--config", str(box.config_path), "--failed")
    assert "retrying" in failed.stdout
    assert cli("history", "--config", str(box.config_path), "--since", "1d").exit_code == 0
    assert_clean_failure(cli("history", "--config", str(box.config_path), "--since", "yesterday-ish"), 2, "--since")
    assert "re-queued 0" in cli("retry", "--config", str(box.config_path)).stdout


def test_connector_secrets_come_from_keyring_files_relative_to_the_config_or_inline(box, memory_keyring, caplog):
    """Every service secret takes the same sources as the Notion token."""
    from notion_sync.connectors.slack.settings import SlackSettings
    from notion_sync.connectors.trello.settings import TrelloSettings
    from notion_sync.core.secrets import secret_setting

    memory_keyring.set_password("notion-sync", "slack", "xoxb-from-keyring-000")
    assert (
        secret_setting(SlackSettings(token_keyring="notion-sync/slack"), "token", "slack.token").reveal()
        == "xoxb-from-keyring-000"
    )
    (box.workdir / "trello-key").write_text("key-from-file-0000")
    (box.workdir / "trello-key").chmod(0o600)
    settings = TrelloSettings(api_key_file="trello-key", token="inline-token-00000").relative_to(box.workdir)
    assert secret_setting(settings, "api_key", "trello.api_key").reveal() == "key-from-file-0000"
    assert secret_setting(settings, "token", "trello.token").reveal() == "inline-token-00000"
    assert "trello.token is written inline in the config file" in caplog.text


# -- redaction, one layer at a time -------------------------------------------------------------
# A secret that reaches output as a plain string (an error message quoting a URL, a library's
# exception text) is never wrapped in ``Secret``: only the redactor it was registered with can
# mask it. Each test below takes one layer alone, so another layer cannot hide its loss.
LOOSE = "ntn_loose" + "R7kq2" * 6


@pytest.fixture
def loose_secret() -> str:
    REDACTOR.register(LOOSE)
    return LOOSE


@pytest.fixture
def root_logging():
    """setup_logging replaces the root logger's handlers: put pytest's back afterwards."""
    root = logging.getLogger()
    handlers, level = list(root.handlers), root.level
    yield root
    for h in list(root.handlers):
        root.removeHandler(h)
    for h in handlers:
        root.addHandler(h)
    root.setLevel(level)


def _masked(text: str, secret: str) -> bool:
    return secret not in text and secret[-16:] not in text and f"[secret {fingerprint(secret)}]" in text


@pytest.mark.parametrize("fmt", ["text", "json"])
def test_output_masks_a_registered_secret_given_as_a_plain_string(capsys, loose_secret, fmt):
    """Everything ``Output`` prints, to stdout and stderr, in text and JSON, is redacted.

    Catches: Output's redaction removed (``text = REDACTOR.redact(text)`` -> ``text = text``),
    which no other test sees, since the engine's errors mostly quote ``Secret`` fingerprints."""
    out = Output(fmt)
    secret = loose_secret
    out.line(f"line {secret}")
    out.problem(f"problem {secret}")
    out.json({"event": "x", "detail": f"json {secret}"})
    rep = MappingReport("m", "memo", status="failed", error=f"stopped {secret}")
    rep.counts["failed"] = 1
    rep.errors.append(RowFailure("page-1", "A row", f"row error {secret}"))
    out.mapping_summary(rep, dry_run=False)
    planned = MappingReport("m", "memo")
    planned.plan.append(Action("fail", "page-2", f"title {secret}", reason=f"reason {secret}"))
    out.plan(planned)
    captured = capsys.readouterr()
    for stream in (captured.out, captured.err):
        assert stream, "nothing printed on one stream: the test checks nothing there"
        assert secret not in stream and secret[-16:] not in stream, stream
    everything = captured.out + captured.err
    for word in ("line", "problem", "json", "stopped", "row error"):
        assert _masked(everything.split(word, 1)[1][:200], secret), (word, everything)


def _log_with_traceback(secret: str) -> None:
    log = logging.getLogger("notion_sync.test_redaction")
    log.error("plain %s and arg %s", f"message {secret}", secret)
    try:
        raise RuntimeError(f"GET https://api.example.com/?token={secret} failed")
    except RuntimeError:
        log.exception("with a traceback")


@pytest.mark.parametrize("fmt", ["text", "json"])
def test_log_formatter_alone_masks_messages_and_tracebacks(capsys, root_logging, loose_secret, fmt):
    """The formatter that setup_logging installs redacts the whole record it writes, traceback
    included, even without the handler's filter in front of it.

    Catches: the text or JSON log formatter's redaction removed (a traceback quoting a secret
    reaches stderr: the filter only scrubs the message)."""
    setup_logging(fmt, quiet=False, verbose=False)
    (handler,) = root_logging.handlers
    for f in list(handler.filters):
        handler.removeFilter(f)  # this layer alone
    _log_with_traceback(loose_secret)
    err = capsys.readouterr().err
    assert "RuntimeError" in err and "with a traceback" in err, err
    assert loose_secret not in err and loose_secret[-16:] not in err, err
    assert err.count(f"[secret {fingerprint(loose_secret)}]") >= 3, err
    if fmt == "json":
        lines = [json.loads(line) for line in err.splitlines()]
        assert len(lines) == 2 and "RuntimeError" in lines[1]["error"]


@pytest.mark.parametrize("fmt", ["text", "json"])
def test_log_formatter_masks_tracebacks_behind_the_filter(capsys, root_logging, loose_secret, fmt):
    """The same through the whole handler setup_logging installs (filter and formatter), as a
    run with ``-v`` or ``--log-format json`` writes it.

    Catches: the log formatter's redaction removed: the filter scrubs the message, not the
    traceback, so the exception text would leak."""
    setup_logging(fmt, quiet=False, verbose=True)
    _log_with_traceback(loose_secret)
    err = capsys.readouterr().err
    assert "RuntimeError" in err, err
    assert loose_secret not in err and loose_secret[-16:] not in err, err


def test_logging_filter_alone_masks_message_and_arguments(loose_secret):
    """The handler's filter scrubs a record's message and its arguments, with any formatter.

    Catches: RedactingFilter no longer redacting (a third-party handler with its own formatter
    would write the secret)."""
    record = logging.LogRecord("x", logging.ERROR, __file__, 1, "token %s in %s", (loose_secret, "a url"), None)
    assert RedactingFilter().filter(record) is True
    text = logging.Formatter("%(message)s").format(record)
    assert _masked(text, loose_secret), text
