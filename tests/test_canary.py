"""A canary secret through every command and failure path, then a search of all output and files.

Each secret (Notion's, and each connector's) is replaced in turn by a canary the service
does not accept, so every run fails on auth, the path where secrets most often leak:
error messages, tracebacks (-v), JSON logs, dry runs, check, audit, history.
"""

from __future__ import annotations

import pytest
from typer.testing import CliRunner

from notion_sync.core.cli import app
from notion_sync.core.sandbox import NOTION_TOKEN_ENV, Sandbox

runner = CliRunner()
COMMANDS = (
    ["run"],
    ["run", "-v"],
    ["run", "--dry-run"],
    ["run", "--log-format", "json", "-v"],
    ["check"],
    ["check", "--log-format", "json"],
    ["audit"],
    ["audit", "--json"],
    ["history"],
    ["history", "--failed"],
    ["connectors"],
)


def canary(name: str) -> str:
    return f"canary{name.replace('_', '')}" + "Q7xZ" * 8


@pytest.fixture
def box(tmp_path):
    with Sandbox(tmp_path) as sandbox:
        yield sandbox


def secret_envs(box: Sandbox) -> list[str]:
    names = [NOTION_TOKEN_ENV]
    for target in box.targets.values():
        names.extend(target.env)
    return names


def every_command(box: Sandbox):
    """Each command of COMMANDS run on the box's config: (args, result)."""
    for args in COMMANDS:
        yield (
            args,
            runner.invoke(
                app,
                [*args, "--config", str(box.config_path)] if args != ["connectors"] else args,
                catch_exceptions=False,
            ),
        )


def test_no_canary_in_any_output_or_file(box, monkeypatch):
    assert set(box.targets) == {"google_calendar", "trello", "slack"}
    box.run()  # a working state first, so history has lines
    envs = secret_envs(box)
    assert len(envs) >= 3
    leaks = []
    for env in envs:
        secret = canary(env)
        with monkeypatch.context() as m:
            m.setenv(env, f"  Bearer {secret}\n")
            for args, result in every_command(box):
                for text in (result.stdout, result.stderr):
                    if secret in text or secret[-16:] in text:
                        leaks.append((env, args, text[:300]))
        for path in box.workdir.rglob("*"):
            if path.is_file() and secret.encode() in path.read_bytes():
                leaks.append((env, "file", str(path)))
    assert leaks == []


def test_the_canary_runs_did_fail_on_auth(box, monkeypatch):
    """The test above is only meaningful if the canaries reached the services and were refused."""
    for env in secret_envs(box):
        with monkeypatch.context() as m:
            m.setenv(env, canary(env))
            result = runner.invoke(app, ["run", "--config", str(box.config_path)], catch_exceptions=False)
            assert result.exit_code in (1, 3), (env, result.output)


def test_no_canary_in_serve_output(box, monkeypatch, tmp_path_factory):
    """``serve``: a canary Notion token stops it at the start (exit 3) without showing it; a
    canary verification token arrives by the handshake and signs events, and shows nowhere
    but in its own file."""
    from tests.test_serve import Serve, event

    secret = canary(NOTION_TOKEN_ENV)
    with monkeypatch.context() as m:
        m.setenv(NOTION_TOKEN_ENV, f"  Bearer {secret}\n")
        for args in (["serve"], ["serve", "-v"], ["serve", "--log-format", "json", "-v"]):
            result = runner.invoke(app, [*args, "--config", str(box.config_path)], catch_exceptions=False)
            assert result.exit_code == 3, result.output
            assert secret not in result.output and secret[-16:] not in result.output

    token_file = tmp_path_factory.mktemp("secrets") / "webhook-token"
    server = Serve(box, token_file, installed=True).start()
    hook = "secret_" + canary("webhook")
    import httpx

    assert httpx.post(server.url + "/notion/webhook", json={"verification_token": hook}).status_code == 200
    row = box.database.pages["Fix login timeout"]
    box.notion.update_page(row, {"Name": "Canary edit"})
    assert server.send(event(box, row), token=hook).status_code == 200
    assert server.send(event(box, row), token="secret_wrong").status_code == 401
    assert httpx.post(server.url + "/notion/webhook", json={"verification_token": hook + "x"}).status_code == 409
    metrics = httpx.get(server.url + "/metrics").text + httpx.get(server.url + "/healthz").text
    assert server.stop() == 0
    for text in (server.stderr, metrics):
        assert hook not in text and hook[-16:] not in text
    for path in box.workdir.rglob("*"):
        if path.is_file():
            assert hook.encode() not in path.read_bytes(), path
    assert token_file.read_text().strip() == hook


def test_no_state_url_password_in_any_output_file_or_state(tmp_path, pg_url, monkeypatch):
    """A PostgreSQL state URL carries a password: through every command, on success (the real
    password) and on failure (a wrong one, refused by the server), it shows nowhere."""
    from urllib.parse import urlsplit

    import psycopg

    password = urlsplit(pg_url).password
    wrong = "canarystatepassword" + "Q7xZ" * 4
    monkeypatch.setenv("NS_CANARY_STATE_URL", pg_url)
    with Sandbox(tmp_path) as box:
        data = box.config_data()
        data["state"] = {"url_env": "NS_CANARY_STATE_URL"}
        box.write_config(data)
        box.run()
        leaks = []
        for secret, url in ((password, pg_url), (wrong, pg_url.replace(f":{password}@", f":{wrong}@"))):
            monkeypatch.setenv("NS_CANARY_STATE_URL", url)
            for args, result in every_command(box):
                for text in (result.stdout, result.stderr):
                    if secret in text or url in text:
                        leaks.append((secret[:6], args, text[:300]))
                if secret == wrong and args == ["run"]:
                    assert result.exit_code == 75 and "the state database" in result.stderr, result.output
            for path in box.workdir.rglob("*"):
                if path.is_file() and secret.encode() in path.read_bytes():
                    leaks.append((secret[:6], "file", str(path)))
        with psycopg.connect(pg_url) as conn:
            tables = [r[0] for r in conn.execute("SELECT tablename FROM pg_tables WHERE schemaname = 'public'")]
            for table in tables:
                for row in conn.execute(f"SELECT * FROM {table}"):
                    if password in repr(row):
                        leaks.append(("state", table, ""))
        assert tables and leaks == []
