"""Error replies: Notion's status, code, message and body shape for each failure."""

from __future__ import annotations

import json
from typing import Any

import httpx
import notion_client
import pytest
from notion_client import APIErrorCode, APIResponseError

from notion_sync.core.emulator.notion import Database, NotionEmulator


def api_error(call: Any, *args: Any, **kwargs: Any) -> APIResponseError:
    with pytest.raises(APIResponseError) as caught:
        call(*args, **kwargs)
    return caught.value


def test_unknown_token_is_401(emu: NotionEmulator) -> None:
    with notion_client.Client(auth="ntn_not_a_token", base_url=emu.url) as bad:
        error = api_error(bad.users.me)
    assert error.status == 401 and error.code == APIErrorCode.Unauthorized
    assert str(error) == "API token is invalid."
    body = json.loads(error.body)
    assert list(body) == ["object", "status", "code", "message", "request_id"]


def test_missing_authorization_is_401(emu: NotionEmulator) -> None:
    with notion_client.Client(base_url=emu.url) as anonymous:
        assert api_error(anonymous.users.me).status == 401


def test_revoked_token_is_401(emu: NotionEmulator, client: notion_client.Client) -> None:
    client.users.me()
    emu.revoke_token(emu.token)
    assert api_error(client.users.me).code == APIErrorCode.Unauthorized


def test_unshared_database_is_404_naming_the_integration(emu: NotionEmulator, client: notion_client.Client) -> None:
    db = emu.create_database("Private", {"Name": {"type": "title"}}, shared_with=[])
    error = api_error(client.databases.retrieve, db.id.replace("-", ""))
    assert error.status == 404 and error.code == APIErrorCode.ObjectNotFound
    assert str(error) == (
        f"Could not find database with ID: {db.id}. Make sure the relevant pages and databases "
        'are shared with your integration "notion-sync demo".'
    )
    assert error.additional_data == {"integration_id": emu.bot_id}


def test_unshared_data_source_and_page_are_404(emu: NotionEmulator, client: notion_client.Client) -> None:
    db = emu.create_database("Private", {"Name": {"type": "title"}}, shared_with=[])
    ds_id = db.data_sources[0].id
    page_id = emu.add_page(ds_id, {"Name": "hidden"})
    assert str(api_error(client.data_sources.retrieve, ds_id)).startswith(
        f"Could not find data_source with ID: {ds_id}."
    )
    assert str(api_error(client.data_sources.query, ds_id)).startswith("Could not find data_source with ID")
    assert str(api_error(client.pages.retrieve, page_id)).startswith(f"Could not find page with ID: {page_id}.")
    assert api_error(client.pages.properties.retrieve, page_id, "title").status == 404
    assert client.search(query="hidden")["results"] == []
    emu.share(db.id)
    assert client.pages.retrieve(page_id)["id"] == page_id
    emu.share(db.id, shared=False)
    assert api_error(client.pages.retrieve, page_id).status == 404


def test_a_second_token_sees_only_what_is_shared_with_it(emu: NotionEmulator, demo: Database) -> None:
    emu.add_token("ntn_second", bot_name="Second")
    with notion_client.Client(auth="ntn_second", base_url=emu.url) as second:
        error = api_error(second.databases.retrieve, demo.id)
        assert 'integration "Second"' in str(error)
        emu.share(demo.id, "ntn_second")
        assert second.databases.retrieve(demo.id)["id"] == demo.id


def test_deleted_and_unknown_pages_are_404(emu: NotionEmulator, ds_id: str, client: notion_client.Client) -> None:
    page_id = emu.add_page(ds_id, {"Name": "x"})
    emu.delete_page(page_id)
    assert api_error(client.pages.retrieve, page_id).code == APIErrorCode.ObjectNotFound
    assert api_error(client.pages.retrieve, "00000000-0000-0000-0000-000000000000").status == 404


def test_missing_read_capability_is_403(emu: NotionEmulator, demo: Database) -> None:
    emu.add_token("ntn_blind", capabilities={"insert_content"})
    emu.share(demo.id, "ntn_blind")
    with notion_client.Client(auth="ntn_blind", base_url=emu.url) as blind:
        error = api_error(blind.data_sources.query, demo.data_sources[0].id)
        assert error.status == 403 and error.code == APIErrorCode.RestrictedResource
        assert blind.users.me()["name"] == "notion-sync demo"  # the bot itself stays readable


def test_missing_version_is_400(emu: NotionEmulator) -> None:
    reply = httpx.get(f"{emu.url}/v1/users/me", headers={"Authorization": f"Bearer {emu.token}"})
    assert reply.status_code == 400
    assert reply.json()["code"] == "missing_version"
    assert reply.json()["message"] == (
        "Notion-Version header failed validation: Notion-Version header should be defined, instead was `undefined`."
    )


def test_page_size_over_100_is_a_validation_error(ds_id: str, client: notion_client.Client) -> None:
    error = api_error(client.data_sources.query, ds_id, page_size=101)
    assert error.status == 400 and error.code == APIErrorCode.ValidationError
    assert "page_size should be less than or equal to `100`, instead was `101`" in str(error)
    assert api_error(client.data_sources.query, ds_id, page_size=0).code == APIErrorCode.ValidationError
    assert api_error(client.search, page_size=500).code == APIErrorCode.ValidationError
    assert "should be a number" in str(api_error(client.data_sources.query, ds_id, page_size="10"))


@pytest.mark.parametrize(
    ("body", "fragment"),
    [
        (
            {"filter": {"property": "Nope", "checkbox": {"equals": True}}},
            "Could not find property with name or id: Nope",
        ),
        ({"filter": {"property": "Status", "select": {"equals": "Done"}}}, "type `status`"),
        ({"filter": {"property": "Urgent", "checkbox": {"contains": True}}}, "checkbox"),
        ({"filter": {"property": "Estimate", "number": {"greater_than": "3"}}}, "number"),
        ({"filter": {"timestamp": "deleted_time", "deleted_time": {"after": "2026-01-01"}}}, "timestamp"),
        ({"filter": {"and": [{"or": [{"and": [{"property": "Urgent", "checkbox": {"equals": True}}]}]}]}}, "nested"),
        ({"sorts": [{"property": "Nope", "direction": "ascending"}]}, "Could not find sort property"),
        ({"sorts": [{"property": "Name", "direction": "up"}]}, "direction"),
        ({"start_cursor": "not-a-cursor"}, "start_cursor"),
        ({"query": "text"}, "body.query should be not present"),
    ],
)
def test_bad_query_bodies_are_validation_errors(
    ds_id: str, client: notion_client.Client, body: dict[str, Any], fragment: str
) -> None:
    error = api_error(client.request, path=f"data_sources/{ds_id}/query", method="POST", body=body)
    assert error.status == 400 and error.code == APIErrorCode.ValidationError
    assert fragment in str(error)


def test_invalid_json_and_unknown_url_and_malformed_id(
    emu: NotionEmulator, ds_id: str, client: notion_client.Client
) -> None:
    headers = {
        "Authorization": f"Bearer {emu.token}",
        "Notion-Version": "2025-09-03",
        "Content-Type": "application/json",
    }
    reply = httpx.post(f"{emu.url}/v1/data_sources/{ds_id}/query", content=b"{nope", headers=headers)
    assert (reply.status_code, reply.json()["code"]) == (400, "invalid_json")
    invalid = api_error(client.request, path="invalid", method="GET")
    assert (invalid.status, invalid.code, str(invalid)) == (400, APIErrorCode.InvalidRequestURL, "Invalid request URL.")
    malformed = api_error(client.pages.retrieve, "not-an-id")
    assert malformed.code == APIErrorCode.ValidationError and "path.page_id should be a valid uuid" in str(malformed)


def test_unserved_api_paths_say_so(emu: NotionEmulator, ds_id: str, client: notion_client.Client) -> None:
    page_id = emu.add_page(ds_id, {"Name": "x"})
    error = api_error(client.comments.list, block_id=page_id)
    assert error.code == APIErrorCode.InvalidRequest and "GET /v1/comments" in str(error)


def test_expired_cursors_are_rejected(
    emu: NotionEmulator, ds_id: str, client: notion_client.Client, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr("notion_sync.core.emulator.notion_http.MAX_CURSORS", 2)
    for n in range(5):
        emu.add_page(ds_id, {"Name": f"Row {n}"})
    first = client.data_sources.query(ds_id, page_size=1)
    for _ in range(2):
        client.data_sources.query(ds_id, page_size=1)
    error = api_error(client.data_sources.query, ds_id, page_size=1, start_cursor=first["next_cursor"])
    assert error.code == APIErrorCode.ValidationError and "start_cursor" in str(error)


def test_unknown_property_item_is_400(emu: NotionEmulator, ds_id: str, client: notion_client.Client) -> None:
    page_id = emu.add_page(ds_id, {"Name": "x"})
    error = api_error(client.pages.properties.retrieve, page_id, "zzzz")
    assert error.code == APIErrorCode.ValidationError and str(error) == "zzzz is not a property that exists."


def test_version_2026_03_11_drops_archived_and_rejects_in_trash(emu: NotionEmulator, ds_id: str) -> None:
    page_id = emu.add_page(ds_id, {"Name": "x"})
    with notion_client.Client(auth=emu.token, base_url=emu.url, notion_version="2026-03-11") as newest:
        page = newest.pages.retrieve(page_id)
        assert "archived" not in page and page["in_trash"] is False
        error = api_error(newest.data_sources.query, ds_id, in_trash=False)
        assert error.code == APIErrorCode.ValidationError and "in_trash" in str(error)
    with notion_client.Client(auth=emu.token, base_url=emu.url, notion_version="2021-08-16") as unknown:
        assert api_error(unknown.users.me).code == APIErrorCode.ValidationError
