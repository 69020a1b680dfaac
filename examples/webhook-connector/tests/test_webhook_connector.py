"""The webhook connector against its emulator, through httpx and the real notion-sync engine."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from notion_sync_webhook.connector import WebhookConnector
from notion_sync_webhook.emulator import WebhookEmulator
from notion_sync_webhook.settings import WebhookMapping, WebhookSettings
from pydantic import ValidationError
from starlette.applications import Starlette
from starlette.responses import JSONResponse
from starlette.routing import Route

from notion_sync.core.sandbox import Sandbox
from notion_sync.sdk import (
    DEMO_SCHEMA,
    AccessError,
    DesiredItem,
    EmulatorServer,
    ExternalRef,
    FatalError,
    ItemError,
    Link,
    MappingContext,
)

TOKEN_ENV = "WEBHOOK_TEST_TOKEN"


@pytest.fixture
def box(tmp_path: Path) -> Iterator[Sandbox]:
    with Sandbox(tmp_path, connectors={"webhook": WebhookConnector}) as sandbox:
        yield sandbox


def hook(box: Sandbox) -> WebhookEmulator:
    return box.targets["webhook"].emulator


@pytest.fixture
def connector(emulator: WebhookEmulator, monkeypatch: pytest.MonkeyPatch) -> Iterator[WebhookConnector]:
    monkeypatch.setenv(TOKEN_ENV, emulator.token or "")
    c = WebhookConnector(WebhookSettings(url=emulator.url, token_env=TOKEN_ENV))
    yield c
    c.close()


MAPPING = MappingContext("tasks", WebhookMapping(), "delete")


def item(page: str, title: str) -> DesiredItem:
    page_id = f"{page:0>8}-0000-4000-8000-000000000000"
    return DesiredItem("tasks", page_id, f"https://www.notion.so/{page_id.replace('-', '')}", title, {"title": title})


def test_documents_carry_the_row_its_dates_and_its_marker(box: Sandbox) -> None:
    report = box.run()
    assert report.exit_code == 0, report.mappings[0].error
    docs = {d["title"]: d for d in hook(box).items.values()}
    assert len(docs) == len(box.database.pages)
    release = docs["Ship the release notes"]
    assert release["mapping"] == box.mapping_name("webhook")
    assert release["page_id"] == box.database.pages["Ship the release notes"]
    assert release["page_url"].startswith("https://")
    assert release["body"].startswith("Draft is in the wiki")
    assert release["date"]["all_day"] is True and len(release["date"]["start"]) == 10
    assert release["properties"] == {"Status": "In progress", "Tags": "Docs"}
    call = docs["Customer call: Acme"]["date"]
    assert call["all_day"] is False and call["start"].endswith("-05:00") and call["end"].endswith("-05:00")
    assert docs["Triage backlog"]["date"] is None


def test_edits_are_sent_with_put_and_trashed_rows_deleted(box: Sandbox) -> None:
    box.run()
    pages = box.database.pages
    box.notion.update_page(pages["Fix login timeout"], {"Status": "Done"})
    box.notion.trash_page(pages["Triage backlog"])
    rep = box.run(full=True).mappings[0]
    assert (rep.counts["updated"], rep.counts["deleted"], rep.counts["created"]) == (1, 1, 0)
    server = hook(box).server
    assert server.request_count(r"^PUT /hooks/notion/wh_\d+$") == 1
    assert server.request_count(r"^DELETE /hooks/notion/wh_\d+$") == 1
    docs = {d["title"]: d for d in hook(box).items.values()}
    assert docs["Fix login timeout"]["properties"]["Status"] == "Done" and "Triage backlog" not in docs


def test_keep_leaves_the_item_of_a_trashed_row(tmp_path: Path) -> None:
    with Sandbox(
        tmp_path, connectors={"webhook": WebhookConnector}, mapping_overrides={"webhook": {"on_delete": "keep"}}
    ) as box:
        box.run()
        box.notion.trash_page(box.database.pages["Triage backlog"])
        rep = box.run(full=True).mappings[0]
        assert rep.status == "ok" and rep.counts["deleted"] == 0
        assert box.database.pages["Triage backlog"] in box.targets["webhook"].items()
        assert hook(box).server.request_count("^DELETE") == 0


def test_a_wrong_token_is_an_access_error_and_never_shown(box: Sandbox, monkeypatch: pytest.MonkeyPatch) -> None:
    wrong = "wrong-token-" + "q" * 20
    monkeypatch.setenv("NOTION_SYNC_DEMO_WEBHOOK_TOKEN", wrong)
    report = box.run()
    rep = report.mappings[0]
    assert report.exit_code == 3, rep.error
    assert "token" in rep.error and wrong not in rep.error
    assert hook(box).items == {}


def test_a_rate_limited_create_is_retried(connector: WebhookConnector, emulator: WebhookEmulator) -> None:
    emulator.server.faults.schedule(429, count=2, method="POST")
    ref = connector.create(item("1", "One"), MAPPING)
    assert emulator.items[ref.id]["title"] == "One"
    assert emulator.server.faults.injected["429"] == 2 and len(emulator.items) == 1


def test_a_rejected_document_fails_the_item_with_the_reply(connector: WebhookConnector) -> None:
    with pytest.raises(ItemError, match=r"422.*missing: title"):
        connector.create(item("1", ""), MAPPING)


def test_a_reply_without_id_stops_the_mapping(monkeypatch: pytest.MonkeyPatch) -> None:
    app = Starlette(routes=[Route("/h", lambda request: JSONResponse({"ok": True}), methods=["POST"])])
    with EmulatorServer(app) as server:
        c = WebhookConnector(WebhookSettings(url=server.url + "/h"))
        with pytest.raises(FatalError, match='without an "id"'):
            c.create(item("1", "One"), MAPPING)
        c.close()


def test_update_of_an_item_removed_remotely_puts_it_back(
    connector: WebhookConnector, emulator: WebhookEmulator
) -> None:
    ref = connector.create(item("1", "One"), MAPPING)
    emulator.items.clear()
    new = connector.update(Link(item("1", "").page_id, ref, None), item("1", "One again"), MAPPING)
    assert new.id != ref.id and emulator.items[new.id]["title"] == "One again"


def test_delete_of_an_item_already_gone_is_done(connector: WebhookConnector, emulator: WebhookEmulator) -> None:
    assert connector.delete(Link("p", ExternalRef("wh_999"), None), "delete", MAPPING) is None
    assert emulator.server.request_count("^DELETE") == 1


def test_recover_reads_every_page_of_the_listing_once(
    connector: WebhookConnector, emulator: WebhookEmulator, monkeypatch: pytest.MonkeyPatch
) -> None:
    written = {f"{n}": connector.create(item(str(n), f"Row {n}"), MAPPING).id for n in range(5)}
    other = MappingContext("other", WebhookMapping(), "delete")
    connector.create(item("9", "Elsewhere"), other)
    fresh = WebhookConnector(connector.settings)
    wanted = [item(str(n), f"Row {n}") for n in range(6)]
    found = fresh.recover(wanted, MAPPING)
    assert {pid: ref.id for pid, ref in found.items()} == {item(n, "").page_id: i for n, i in written.items()}
    assert emulator.server.request_count("^GET") == 3, "page size 2: three pages for five items"
    fresh.recover(wanted, MAPPING)
    assert emulator.server.request_count("^GET") == 3, "the listing is read once per run"
    fresh.close()


def test_check_passes_and_explains_a_refused_token(
    connector: WebhookConnector, emulator: WebhookEmulator, monkeypatch: pytest.MonkeyPatch
) -> None:
    [ok] = connector.check(MAPPING)
    assert ok.ok
    monkeypatch.setenv(TOKEN_ENV, "not-the-token")
    refused = WebhookConnector(connector.settings)
    [bad] = refused.check(MAPPING)
    assert not bad.ok and bad.access and "401" in bad.detail and "not-the-token" not in bad.detail
    refused.close()


def test_settings_want_an_http_url() -> None:
    with pytest.raises(ValidationError, match="not an http"):
        WebhookSettings(url="hooks.example.com/notion")
    assert WebhookSettings(url="https://hooks.example.com/notion/").url == "https://hooks.example.com/notion"


def test_starter_mapping_for_init_is_valid() -> None:
    schema = {name: {"type": spec["type"]} for name, spec in DEMO_SCHEMA.items()}
    keys = WebhookConnector.starter(schema).mapping
    assert keys == {"fields": {"title": "{Name}", "body": "{Notes}", "date": "Due"}}
    WebhookMapping.model_validate(keys)


def test_access_error_class_for_403() -> None:
    import httpx
    from notion_sync_webhook.errors import classify

    response = httpx.Response(403, request=httpx.Request("GET", "https://h.example/x"))
    assert isinstance(classify(httpx.HTTPStatusError("no", request=response.request, response=response)), AccessError)
