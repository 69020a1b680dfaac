"""`notion-sync emulate` as a user starts it: a subprocess with a seed file, driven only over
HTTP, by the official clients (notion-client at 2022-06-28 and 2025-09-03, slack_sdk, the
Google discovery client) and by `notion-sync run --config` on the `--config-out` file."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import notion_client
import pytest
from google.auth.credentials import AnonymousCredentials
from googleapiclient.discovery import build
from slack_sdk import WebClient

from notion_sync.core.errors import EXIT_CONFIG, EXIT_OK

SEED = """
[notion]
token = "ntn_emulate_test_token_not_a_secret_1111"

[[notion.users]]
name = "Ada"
email = "ada@example.com"

[[notion.databases]]
title = "Tasks"
properties = { Name = { type = "title" }, Due = { type = "date" }, Done = { type = "checkbox" } }

[[notion.databases.rows]]
properties = { Name = "One", Due = "{today+1}" }
blocks = [
  { type = "paragraph", text = "first" },
  { type = "toggle", text = "more", children = [{ type = "to_do", text = "nested", checked = true }] },
  { type = "paragraph", text = "third" },
]

[[notion.databases.rows]]
properties = { Name = "Two", Due = "{today+2}" }

[[notion.databases.rows]]
properties = { Name = "Three", Due = "{today+3}" }

[[notion.databases]]
title = "Two sources"
properties = { Name = { type = "title" } }
data_sources = [{ name = "Current" }, { name = "Archive" }]

[google_calendar]
calendars = [{ id = "berlin@group.calendar.google.com", summary = "Berlin", time_zone = "Europe/Berlin" }]

[trello]
boards = [{ name = "Roadmap", lists = ["Later", "Now"], labels = [{ name = "Bug", color = "red" }] }]

[slack]
channels = [{ name = "emulate-test" }]
members = [{ email = "ada@example.com", name = "ada" }]
"""


@dataclass
class Emulate:
    """A running `notion-sync emulate` and what it announced."""

    proc: subprocess.Popen[str]
    info: dict[str, Any]

    def url(self, service: str) -> str:
        return str(self.info["services"][service]["base_url"])

    def control(self, service: str, method: str, path: str, body: dict[str, Any] | None = None) -> Any:
        response = httpx.request(method, self.url(service) + "/_emulator/" + path, json=body, timeout=10)
        assert response.status_code == 200, response.text
        return response.json()

    def stop(self) -> int:
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
        return self.proc.wait(timeout=20)


def cli_command() -> list[str]:
    return [sys.executable, "-m", "notion_sync"]


def notion_sync(*args: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    """One `notion-sync …` command to its end."""
    return subprocess.run([*cli_command(), *args], env=env, capture_output=True, text=True, timeout=120)


def start_emulate(*args: str, cwd: Path) -> Emulate:
    proc = subprocess.Popen(
        [*cli_command(), "emulate", "--json", *args],
        cwd=cwd,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    assert proc.stdout is not None
    line = proc.stdout.readline()
    if not line:
        proc.wait(timeout=20)
        raise AssertionError(f"emulate exited {proc.returncode}: {proc.stderr.read() if proc.stderr else ''}")
    return Emulate(proc, json.loads(line))


@pytest.fixture(scope="module")
def emulate(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Emulate]:
    workdir = tmp_path_factory.mktemp("emulate")
    seed = workdir / "seed.toml"
    seed.write_text(SEED, encoding="utf-8")
    running = start_emulate("--seed", str(seed), cwd=workdir)
    yield running
    assert running.stop() == EXIT_OK


def notion(emulate: Emulate, version: str) -> notion_client.Client:
    token = emulate.info["services"]["notion"]["credentials"]["token"]
    return notion_client.Client(auth=token, base_url=emulate.url("notion"), notion_version=version)


def database(emulate: Emulate, title: str) -> dict[str, Any]:
    listing = emulate.control("notion", "GET", "databases")
    return next(db for db in listing["databases"] if db["title"] == title)


def test_the_first_line_lists_every_service_with_its_url_and_credentials(emulate: Emulate) -> None:
    services = emulate.info["services"]
    assert set(services) == {"notion", "google_calendar", "trello", "slack"}
    for service in services.values():
        assert service["base_url"].startswith("http://127.0.0.1:")
        assert service["control_url"] == service["base_url"] + "/_emulator/"
    assert services["notion"]["credentials"] == {"token": "ntn_emulate_test_token_not_a_secret_1111"}
    assert set(services["trello"]["credentials"]) == {"TRELLO_API_KEY", "TRELLO_TOKEN"}
    assert "env" not in emulate.info  # only with --config-out


def test_notion_2022_06_28_queries_databases_and_creates_and_updates_pages(emulate: Emulate) -> None:
    client = notion(emulate, "2022-06-28")
    tasks = database(emulate, "Tasks")
    db = client.databases.retrieve(tasks["id"])
    assert "data_sources" not in db and set(db["properties"]) == {"Name", "Due", "Done"}

    first = client.request(path=f"databases/{tasks['id']}/query", method="POST", body={"page_size": 2})
    assert len(first["results"]) == 2 and first["has_more"]
    rest = client.request(
        path=f"databases/{tasks['id']}/query", method="POST", body={"start_cursor": first["next_cursor"]}
    )
    names = {p["properties"]["Name"]["title"][0]["plain_text"] for p in first["results"] + rest["results"]}
    assert names >= {"One", "Two", "Three"} and not rest["has_more"]
    assert first["results"][0]["parent"] == {"type": "database_id", "database_id": tasks["id"]}

    created = client.pages.create(
        parent={"database_id": tasks["id"]}, properties={"Name": {"title": [{"text": {"content": "Legacy"}}]}}
    )
    assert created["parent"]["type"] == "database_id"
    updated = client.pages.update(created["id"], properties={"Done": {"checkbox": True}})
    assert updated["properties"]["Done"]["checkbox"] is True


def test_notion_2022_06_28_search_finds_databases(emulate: Emulate) -> None:
    client = notion(emulate, "2022-06-28")
    found = client.search(filter={"property": "object", "value": "database"})
    assert found["type"] == "page_or_database"
    assert [db["title"][0]["plain_text"] for db in found["results"]] == ["Tasks"]  # one source only
    assert "properties" in found["results"][0]
    with pytest.raises(notion_client.APIResponseError):
        client.search(filter={"property": "object", "value": "data_source"})


def test_notion_2022_06_28_refuses_a_database_with_two_data_sources(emulate: Emulate) -> None:
    client = notion(emulate, "2022-06-28")
    two = database(emulate, "Two sources")
    with pytest.raises(notion_client.APIResponseError) as caught:
        client.request(path=f"databases/{two['id']}/query", method="POST", body={})
    assert caught.value.status == 400 and "multiple data sources" in str(caught.value)
    with pytest.raises(notion_client.APIResponseError):
        client.databases.retrieve(two["id"])
    # 2025-09-03 has it, with both data sources, and no databases/{id}/query any more
    current = notion(emulate, "2025-09-03")
    assert [ds["name"] for ds in current.databases.retrieve(two["id"])["data_sources"]] == ["Current", "Archive"]
    with pytest.raises(notion_client.APIResponseError):
        current.request(path=f"databases/{two['id']}/query", method="POST", body={})


def test_notion_2025_09_03_queries_data_sources_and_creates_and_updates_pages(emulate: Emulate) -> None:
    client = notion(emulate, "2025-09-03")
    ds_id = database(emulate, "Tasks")["data_sources"][0]["id"]
    pages = list(
        notion_client.helpers.iterate_paginated_api(client.data_sources.query, data_source_id=ds_id, page_size=1)
    )
    assert {"One", "Two", "Three"} <= {p["properties"]["Name"]["title"][0]["plain_text"] for p in pages}
    assert pages[0]["parent"]["data_source_id"] == ds_id

    created = client.pages.create(
        parent={"data_source_id": ds_id},
        properties={"Name": {"title": [{"text": {"content": "Fresh"}}]}},
        children=[{"type": "paragraph", "paragraph": {"rich_text": [{"text": {"content": "body"}}]}}],
    )
    client.pages.update(created["id"], properties={"Name": {"title": [{"text": {"content": "Fresher"}}]}})
    again = client.pages.retrieve(created["id"])
    assert again["properties"]["Name"]["title"][0]["plain_text"] == "Fresher"
    body = client.blocks.children.list(created["id"])
    assert [b["paragraph"]["rich_text"][0]["plain_text"] for b in body["results"]] == ["body"]


def test_page_bodies_are_nested_paginated_and_editable(emulate: Emulate) -> None:
    client = notion(emulate, "2025-09-03")
    page_id = next(p["id"] for p in database(emulate, "Tasks")["data_sources"][0]["pages"] if p["title"] == "One")
    first = client.blocks.children.list(page_id, page_size=2)
    assert [b["type"] for b in first["results"]] == ["paragraph", "toggle"] and first["has_more"]
    rest = client.blocks.children.list(page_id, start_cursor=first["next_cursor"])
    assert [b["type"] for b in rest["results"]] == ["paragraph"] and not rest["has_more"]
    toggle = first["results"][1]
    assert toggle["has_children"] is True
    nested = client.blocks.children.list(toggle["id"])["results"]
    assert nested[0]["to_do"]["checked"] is True and nested[0]["parent"] == {
        "type": "block_id",
        "block_id": toggle["id"],
    }

    edited = client.blocks.update(first["results"][0]["id"], paragraph={"rich_text": [{"text": {"content": "edited"}}]})
    assert edited["paragraph"]["rich_text"][0]["plain_text"] == "edited"
    with pytest.raises(notion_client.APIResponseError):
        client.blocks.update(first["results"][0]["id"], to_do={"checked": True})  # a block keeps its type


def test_users_are_listed_and_retrieved(emulate: Emulate) -> None:
    client = notion(emulate, "2025-09-03")
    users = client.users.list(page_size=100)["results"]
    ada = next(u for u in users if u.get("name") == "Ada")
    assert client.users.retrieve(ada["id"])["person"]["email"] == "ada@example.com"
    assert any(u["type"] == "bot" for u in users)


def test_slack_messages_look_like_real_slacks(emulate: Emulate) -> None:
    token = emulate.info["services"]["slack"]["credentials"]["NOTION_SYNC_DEMO_SLACK_TOKEN"]
    slack = WebClient(token=token, base_url=emulate.url("slack") + "/api/")
    channel = next(
        c["id"] for c in emulate.control("slack", "GET", "channels")["channels"] if c["name"] == "emulate-test"
    )
    posted = slack.chat_postMessage(channel=channel, text="hello")
    assert posted["message"]["bot_id"] and posted["message"]["app_id"] == posted["message"]["bot_profile"]["app_id"]
    updated = slack.chat_update(channel=channel, ts=posted["ts"], text="hello again")
    assert updated["message"]["edited"]["user"] == posted["message"]["bot_id"]  # as Slack records a bot's edit
    later = slack.chat_postMessage(channel=channel, text="later")
    exclusive = slack.conversations_history(channel=channel, oldest=posted["ts"])["messages"]
    inclusive = slack.conversations_history(channel=channel, oldest=posted["ts"], inclusive=True)["messages"]
    assert [m["ts"] for m in exclusive] == [later["ts"]]
    assert [m["ts"] for m in inclusive] == [later["ts"], posted["ts"]]
    assert inclusive[1]["edited"]["ts"] and inclusive[1]["text"] == "hello again"


def test_google_answers_in_the_events_time_zone_and_a_put_restores_a_cancelled_event(emulate: Emulate) -> None:
    service = build(
        "calendar",
        "v3",
        credentials=AnonymousCredentials(),
        static_discovery=True,
        client_options={"api_endpoint": emulate.url("google_calendar") + "/calendar/v3/"},
    )
    cal = "berlin@group.calendar.google.com"
    body = {
        "summary": "standup",
        "start": {"dateTime": "2026-01-05T09:00:00Z", "timeZone": "Europe/Berlin"},
        "end": {"dateTime": "2026-01-05T09:15:00Z", "timeZone": "Europe/Berlin"},
    }
    event = service.events().insert(calendarId=cal, body=body).execute()
    assert event["start"]["dateTime"] == "2026-01-05T10:00:00+01:00"
    service.events().delete(calendarId=cal, eventId=event["id"]).execute()
    assert service.events().get(calendarId=cal, eventId=event["id"]).execute()["status"] == "cancelled"
    restored = service.events().update(calendarId=cal, eventId=event["id"], body=body).execute()
    assert restored["status"] == "confirmed"
    moved = emulate.control(
        "google_calendar",
        "POST",
        f"calendars/{cal}/events/{event['id']}/move",
        {"start": {"dateTime": "2026-01-06T09:00:00+01:00"}, "end": {"dateTime": "2026-01-06T09:30:00+01:00"}},
    )
    assert moved["start"]["dateTime"] == "2026-01-06T09:00:00+01:00"
    service.close()


def test_faults_clock_and_request_log_over_http(emulate: Emulate) -> None:
    client = notion(emulate, "2025-09-03")
    emulate.control("notion", "DELETE", "requests")
    emulate.control("notion", "POST", "faults", {"status": 429, "path": "^/v1/users/me$", "retry_after": None})
    headers = {"Authorization": f"Bearer {client.options.auth}", "Notion-Version": "2025-09-03"}
    response = httpx.get(emulate.url("notion") + "/v1/users/me", headers=headers)
    assert response.status_code == 429 and "retry-after" not in response.headers
    assert response.json()["code"] == "rate_limited"
    emulate.control("notion", "POST", "faults", {"status": 503, "count": 1})
    response = httpx.get(emulate.url("notion") + "/v1/users/me", headers=headers)
    assert response.status_code == 503 and response.json()["code"] == "service_unavailable"
    assert client.users.me()["type"] == "bot"
    log = emulate.control("notion", "GET", "requests")
    assert log["counts"]["GET /v1/users/me"] == 3 and log["injected"] == {"429": 1, "503": 1}
    assert log["total"] == 3 and log["log"][-1] == {"method": "GET", "path": "/v1/users/me", "injected": None}

    emulate.control("notion", "PATCH", "faults", {"latency": 0.0, "rate_limit": {"requests": 100, "seconds": 1}})
    assert emulate.control("notion", "GET", "faults")["rate_limit"] == {"requests": 100, "seconds": 1.0}
    emulate.control("notion", "DELETE", "faults")

    clock = emulate.control("notion", "POST", "clock", {"set": "2026-01-01T09:00:30Z"})
    assert clock == {"now": "2026-01-01T09:00:30Z", "frozen": True}
    assert emulate.control("notion", "POST", "clock", {"advance": 60})["now"] == "2026-01-01T09:01:30Z"
    emulate.control("notion", "POST", "clock", {"set": None})


def test_a_bad_control_request_says_what_to_send(emulate: Emulate) -> None:
    response = httpx.post(emulate.url("notion") + "/_emulator/faults", json={"status": "soon"})
    assert response.status_code == 400 and "status" in response.json()["error"]
    response = httpx.get(emulate.url("trello") + "/_emulator/nothing")
    assert response.status_code == 404 and "POST /_emulator/cards/{card_id}/move" in response.json()["endpoints"]


def test_config_out_then_run_syncs_edits_and_trashes(tmp_path: Path) -> None:
    config = tmp_path / "out" / "notion-sync.toml"
    running = start_emulate("--config-out", str(config), cwd=tmp_path)
    try:
        assert running.info["config"] == str(config)
        env = {**os.environ, **running.info["env"]}

        def run(*extra: str) -> subprocess.CompletedProcess[str]:
            return notion_sync("run", "--config", str(config), *extra, env=env)

        first = run()
        assert first.returncode == EXIT_OK, first.stderr
        assert "tasks-to-trello → trello: 6 created" in first.stdout
        assert "tasks-to-slack → slack: 6 created" in first.stdout
        assert "tasks-to-google-calendar → google_calendar: 5 created" in first.stdout  # one row has no date
        board = running.control("trello", "GET", "boards")["boards"][0]
        assert {c["name"] for c in board["cards"]} >= {"Fix login timeout", "Write onboarding guide"}

        rows = running.control("notion", "GET", "databases")["databases"][0]["data_sources"][0]["pages"]
        by_title = {r["title"]: r["id"] for r in rows}
        running.control(
            "notion", "PATCH", f"pages/{by_title['Fix login timeout']}", {"properties": {"Name": "Fix login timeout!"}}
        )
        running.control("notion", "POST", f"pages/{by_title['Write onboarding guide']}/trash")
        second = run("--full")
        assert second.returncode == EXIT_OK, second.stderr
        cards = running.control("trello", "GET", "boards")["boards"][0]["cards"]
        open_names = {c["name"] for c in cards if not c["closed"]}
        assert "Fix login timeout!" in open_names and "Write onboarding guide" not in open_names
        channel = running.control("slack", "GET", "channels")["channels"][0]["id"]
        texts = [m["text"] for m in running.control("slack", "GET", f"channels/{channel}/messages")["messages"]]
        assert any("Fix login timeout!" in t for t in texts)
        assert running.control("notion", "GET", "requests")["total"] > 0
    finally:
        assert running.stop() == EXIT_OK
    # A second start rewrites its own config and starts the state afresh: the run syncs again.
    again = start_emulate("--services", "notion,trello", "--config-out", str(config), cwd=tmp_path)
    try:
        rerun = notion_sync("run", "--config", str(config), env={**os.environ, **again.info["env"]})
        assert rerun.returncode == EXIT_OK, rerun.stderr
        assert len(again.control("trello", "GET", "boards")["boards"][0]["cards"]) == 6  # every demo row, once
    finally:
        assert again.stop() == EXIT_OK


@pytest.mark.failure_case("bad seed file", "names the file, the key path and the fix", EXIT_CONFIG)
def test_a_bad_seed_file_is_reported_with_its_key_path(tmp_path: Path) -> None:
    seed = tmp_path / "seed.toml"
    seed.write_text(
        '[[notion.databases]]\ntitle = "T"\nproperties = { Name = { type = "title" } }\n'
        '[[notion.databases.rows]]\nproperties = { Nmae = "x" }\n[[notion.databases.rows]]\nproperty = {}\n'
        '[slack]\nchannels = [{ nam = "releases" }]\n',
        encoding="utf-8",
    )
    result = notion_sync("emulate", "--seed", str(seed))
    assert result.returncode == EXIT_CONFIG
    assert str(seed) in result.stderr and "notion.databases[0].rows[1].property" in result.stderr
    assert "slack.channels[0].nam" in result.stderr and "did you mean 'name'" in result.stderr  # all at once
    assert "Traceback" not in result.stderr and "unexpected" not in result.stderr


@pytest.mark.failure_case("bad seed value", "names the row and the property", EXIT_CONFIG)
def test_a_seed_row_naming_an_unknown_property_is_reported(tmp_path: Path) -> None:
    seed = tmp_path / "seed.json"
    seed.write_text(
        json.dumps(
            {
                "notion": {
                    "databases": [
                        {
                            "title": "T",
                            "properties": {"Name": {"type": "title"}},
                            "rows": [{"properties": {"Nmae": "x"}}],
                        }
                    ]
                }
            }
        ),
        encoding="utf-8",
    )
    result = notion_sync("emulate", "--services", "notion", "--seed", str(seed))
    assert result.returncode == EXIT_CONFIG
    assert "notion.databases[0].rows[0].properties.Nmae" in result.stderr and "known: Name" in result.stderr


@pytest.mark.failure_case("unknown service", "lists the services to choose from", EXIT_CONFIG)
def test_an_unknown_service_lists_the_known_ones(tmp_path: Path) -> None:
    result = notion_sync("emulate", "--services", "notion,jira")
    assert result.returncode == EXIT_CONFIG
    assert "'jira'" in result.stderr and "google_calendar" in result.stderr and "Traceback" not in result.stderr


def test_without_json_it_prints_a_table_and_stops_cleanly_on_sigint(tmp_path: Path) -> None:
    proc = subprocess.Popen(
        [*cli_command(), "emulate", "--services", "notion,trello"],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    assert proc.stdout is not None
    lines = []
    while not any("serving until" in line for line in lines):
        line = proc.stdout.readline()
        assert line, proc.stderr.read() if proc.stderr else ""
        lines.append(line)
    text = "".join(lines)
    assert "notion" in text and "trello" in text and "/_emulator/" in text and "slack" not in text
    proc.send_signal(signal.SIGINT)
    out, _ = proc.communicate(timeout=20)
    assert proc.returncode == EXIT_OK and "requests served" in out


def test_the_pytest_fixture_gives_running_emulators(notion_sync_emulators: Any) -> None:
    services = notion_sync_emulators.listing()
    assert "notion" in services
    client = notion_client.Client(auth=notion_sync_emulators.notion.token, base_url=services["notion"]["base_url"])
    assert client.users.me()["type"] == "bot"
    assert notion_sync_emulators.databases[0].pages


def _free_port_pair() -> int:
    import socket

    for _ in range(50):
        with socket.socket() as first:
            first.bind(("127.0.0.1", 0))
            port = first.getsockname()[1]
        if port < 65000:
            with socket.socket() as second:
                try:
                    second.bind(("127.0.0.1", port + 1))
                except OSError:
                    continue
            return port
    raise AssertionError("no two free ports in a row")


@pytest.mark.failure_case("port taken", "names --port-base and the fix", EXIT_CONFIG)
def test_port_base_fixes_the_ports_and_a_taken_port_is_a_clear_error(tmp_path: Path) -> None:
    base = _free_port_pair()
    running = start_emulate("--services", "notion,trello", "--port-base", str(base), cwd=tmp_path)
    try:
        assert running.url("notion") == f"http://127.0.0.1:{base}"
        assert running.url("trello") == f"http://127.0.0.1:{base + 1}"
        assert running.control("trello", "GET", "boards")["boards"]
        again = notion_sync("emulate", "--services", "notion", "--port-base", str(base))
        assert again.returncode == EXIT_CONFIG
        assert "--port-base" in again.stderr and "Traceback" not in again.stderr
    finally:
        assert running.stop() == EXIT_OK


def test_a_plugins_emulator_is_served_too(capsys: pytest.CaptureFixture[str]) -> None:
    import threading

    from notion_sync.core.emulate import EmulateOptions, run_emulate
    from notion_sync.core.output import Output
    from notion_sync.core.plugins import Discovery
    from tests.support.memo import MemoConnector

    stop = threading.Event()
    codes: list[int] = []
    options = EmulateOptions(as_json=True)
    worker = threading.Thread(
        target=lambda: codes.append(run_emulate(Output("json"), options, Discovery.of([MemoConnector]), stop=stop))
    )
    worker.start()
    try:
        captured = ""
        for _ in range(400):
            captured += capsys.readouterr().out
            if captured or stop.wait(0.05):
                break
        assert captured, "emulate announced nothing"
        info = json.loads(captured.splitlines()[0])
        assert set(info["services"]) == {"notion", "memo"}
        memo = info["services"]["memo"]
        assert httpx.get(memo["control_url"] + "requests").json()["total"] == 0
    finally:
        stop.set()
        worker.join(timeout=20)
    assert codes == [EXIT_OK]


@pytest.mark.failure_case("config-out over a real config", "refuses and says how to fix it", EXIT_CONFIG)
def test_config_out_never_overwrites_a_config_it_did_not_write(tmp_path: Path) -> None:
    real = tmp_path / "notion-sync.toml"
    real.write_text('[notion]\ntoken_env = "NOTION_TOKEN"\n', encoding="utf-8")
    result = notion_sync("emulate", "--config-out", str(real))
    assert result.returncode == EXIT_CONFIG
    assert "--config-out" in result.stderr and "not written by notion-sync emulate" in result.stderr
    assert real.read_text(encoding="utf-8") == '[notion]\ntoken_env = "NOTION_TOKEN"\n'
