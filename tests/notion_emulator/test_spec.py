"""The emulator against Notion's OpenAPI spec and real recorded traffic (skipped without /work/shared).

The OpenAPI file describes few response bodies (``users/me`` and the 400 error), so most shape
checks compare with the recordings instead: same keys in the same order, same value formats.
"""

from __future__ import annotations

import json
import re
from typing import Any

import httpx
import notion_client
import pytest
import yaml

from notion_sync.core.emulator.notion import ROUTES, Database, NotionEmulator
from notion_sync.core.emulator.notion_values import slug_url

from .conftest import shared_reference

# ---------------------------------------------------------------- helpers


@pytest.fixture(scope="module")
def spec() -> dict[str, Any]:
    return json.loads((shared_reference() / "specs" / "notion-openapi-2025-09-03.json").read_text())


@pytest.fixture(scope="module")
def recorded() -> dict[str, list[dict[str, Any]]]:
    """Recorded interactions by file stem: (method, uri, status, headers, parsed body)."""
    folder = shared_reference() / "recorded" / "notion"
    result: dict[str, list[dict[str, Any]]] = {}
    for path in sorted(folder.glob("*.yaml")):
        cassette = yaml.safe_load(path.read_text())
        result[path.stem] = [
            {
                "method": it["request"]["method"],
                "uri": it["request"]["uri"],
                "status": it["response"]["status"]["code"],
                "headers": {k.lower(): v for k, v in it["response"]["headers"].items()},
                "body": json.loads(it["response"]["body"]["string"]),
            }
            for it in cassette["interactions"]
        ]
    return result


def find(
    recorded: dict[str, list[dict[str, Any]]], method: str, uri_pattern: str, status: int | None = None
) -> dict[str, Any]:
    for interactions in recorded.values():
        for it in interactions:
            if it["method"] == method and re.search(uri_pattern, it["uri"]) and status in (None, it["status"]):
                return it
    raise AssertionError(f"no recording of {method} {uri_pattern}")


def resolve(spec: dict[str, Any], schema: dict[str, Any]) -> dict[str, Any]:
    while "$ref" in schema:
        node: Any = spec
        for part in schema["$ref"].lstrip("#/").split("/"):
            node = node[part]
        schema = node
    return schema


def validate(spec: dict[str, Any], schema: dict[str, Any], value: Any, where: str = "$") -> list[str]:
    """A small JSON-schema check (type, properties, required, enum, items, $ref): enough for this spec."""
    schema = resolve(spec, schema)
    errors: list[str] = []
    types = {"object": dict, "array": list, "string": str, "integer": int, "number": (int, float), "boolean": bool}
    kind = schema.get("type")
    if kind in types and not (
        isinstance(value, types[kind]) and not (kind in ("integer", "number") and isinstance(value, bool))
    ):
        return [f"{where}: expected {kind}, got {type(value).__name__}"]
    if "enum" in schema and value not in schema["enum"]:
        errors.append(f"{where}: {value!r} not in {schema['enum']}")
    if isinstance(value, dict):
        errors += [f"{where}: missing {key}" for key in schema.get("required", []) if key not in value]
        for key, sub in schema.get("properties", {}).items():
            if key in value:
                errors += validate(spec, sub, value[key], f"{where}.{key}")
    if isinstance(value, list) and "items" in schema:
        for index, item in enumerate(value):
            errors += validate(spec, schema["items"], item, f"{where}[{index}]")
    return errors


def response_schema(spec: dict[str, Any], method: str, path: str, status: str) -> dict[str, Any]:
    return spec["paths"][path][method.lower()]["responses"][status]["content"]["application/json"]["schema"]


def raw_get(emu: NotionEmulator, path: str) -> httpx.Response:
    return httpx.get(
        f"{emu.url}{path}", headers={"Authorization": f"Bearer {emu.token}", "Notion-Version": "2025-09-03"}
    )


# ---------------------------------------------------------------- the OpenAPI spec


def test_every_route_is_in_the_spec(spec: dict[str, Any]) -> None:
    for method, template in ROUTES:
        assert template in spec["paths"], template
        assert method.lower() in spec["paths"][template], (method, template)


def test_users_me_matches_the_spec_schema(spec: dict[str, Any], client: notion_client.Client) -> None:
    schema = response_schema(spec, "GET", "/v1/users/me", "200")
    assert validate(spec, schema, client.users.me()) == []
    assert validate(spec, schema, {"object": 1}) != []  # the checker itself can fail


def test_error_bodies_match_the_spec_schema(spec: dict[str, Any], emu: NotionEmulator, ds_id: str) -> None:
    schema = response_schema(spec, "POST", "/v1/data_sources/{data_source_id}/query", "400")
    reply = httpx.post(
        f"{emu.url}/v1/data_sources/{ds_id}/query",
        json={"page_size": 1000},
        headers={"Authorization": f"Bearer {emu.token}", "Notion-Version": "2025-09-03"},
    )
    assert reply.status_code == 400
    assert validate(spec, schema, reply.json()) == []
    assert set(schema["properties"]) <= set(reply.json())


def test_query_accepts_every_body_key_of_the_spec(
    spec: dict[str, Any], ds_id: str, client: notion_client.Client
) -> None:
    body_schema = spec["paths"]["/v1/data_sources/{data_source_id}/query"]["post"]["requestBody"]
    keys = set(body_schema["content"]["application/json"]["schema"]["properties"])
    assert keys == {"filter", "sorts", "start_cursor", "page_size", "archived", "in_trash"}
    body = {
        "filter": {"property": "Urgent", "checkbox": {"equals": True}},
        "sorts": [{"property": "Name", "direction": "ascending"}],
        "page_size": 10,
        "archived": False,
        "in_trash": False,
    }
    sort_schema = spec["components"]["schemas"]["sortObject"]
    assert validate(spec, sort_schema, body["sorts"][0]) == []
    assert client.request(path=f"data_sources/{ds_id}/query", method="POST", body=body)["object"] == "list"


def test_search_filter_values_are_the_spec_enum(spec: dict[str, Any], client: notion_client.Client) -> None:
    search = spec["paths"]["/v1/search"]["post"]["requestBody"]["content"]["application/json"]["schema"]
    for value in search["properties"]["filter"]["properties"]["value"]["enum"]:
        assert client.search(filter={"property": "object", "value": value})["object"] == "list"
    with pytest.raises(notion_client.APIResponseError):
        client.search(filter={"property": "object", "value": "database"})  # gone since 2025-09-03


# ---------------------------------------------------------------- the recordings


def test_users_me_has_the_recorded_keys(recorded: dict[str, Any], client: notion_client.Client) -> None:
    real = find(recorded, "GET", r"/v1/users/me$")["body"]
    ours = client.users.me()
    assert list(ours) == list(real)
    assert list(ours["bot"]) == list(real["bot"])
    assert ours["bot"]["owner"] == real["bot"]["owner"]
    assert ours["bot"]["workspace_limits"] == real["bot"]["workspace_limits"]


def test_database_has_the_recorded_keys(recorded: dict[str, Any], demo: Database, client: notion_client.Client) -> None:
    real = find(recorded, "GET", r"/v1/databases/")["body"]
    ours = client.databases.retrieve(demo.id)
    assert list(ours) == list(real)
    assert list(ours["data_sources"][0]) == list(real["data_sources"][0])
    assert list(ours["title"][0]) == list(real["title"][0])
    stamp = re.compile(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}\+00:00$")
    assert stamp.match(real["created_time"]) and stamp.match(ours["created_time"])
    assert re.sub(r"[0-9a-f]{32}", "X", ours["url"]) == re.sub(r"[0-9a-f]{32}", "X", real["url"])


def test_data_source_has_the_recorded_keys(recorded: dict[str, Any], ds_id: str, client: notion_client.Client) -> None:
    real = find(recorded, "GET", r"/v1/data_sources/[^/]+$")["body"]
    ours = client.data_sources.retrieve(ds_id)
    assert list(ours) == list(real)
    assert ours["properties"]["Name"] == real["properties"]["Name"]  # both: a title property named Name
    assert list(ours["parent"]) == list(real["parent"])
    assert ours["created_time"].endswith(":00.000Z") and real["created_time"].endswith(":00.000Z")


def test_page_has_the_recorded_keys_and_formats(
    recorded: dict[str, Any], emu: NotionEmulator, ds_id: str, client: notion_client.Client
) -> None:
    real = find(recorded, "GET", r"/v1/pages/[0-9a-f-]+$", status=200)["body"]
    title = real["properties"]["title"]["title"][0]["plain_text"]
    page_id = emu.add_page(ds_id, {"Name": title})
    ours = client.pages.retrieve(page_id)
    assert list(ours) == list(real)
    for key in ("created_time", "last_edited_time"):
        assert re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:00\.000Z", real[key])
        assert re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:00\.000Z", ours[key])
    assert ours["created_by"].keys() == real["created_by"].keys()
    assert ours["properties"]["Name"]["title"] == real["properties"]["title"]["title"]
    assert slug_url(title, real["id"]) == real["url"]  # the recorded url is rebuilt exactly
    assert ours["url"] == slug_url(title, page_id)
    for key in ("in_trash", "is_archived", "is_locked", "archived", "public_url", "cover", "icon"):
        assert ours[key] == real[key], key


def test_trashed_then_restored_page_flags(
    recorded: dict[str, Any], emu: NotionEmulator, ds_id: str, client: notion_client.Client
) -> None:
    real_trashed = find(recorded, "DELETE", r"/v1/blocks/")["body"]  # a trashed block: both flags true
    restored = find(recorded, "PATCH", r"/v1/pages/")["body"]
    page_id = emu.add_page(ds_id, {"Name": "x"})
    trashed = client.pages.update(page_id, in_trash=True)
    assert (trashed["in_trash"], trashed["archived"]) == (real_trashed["in_trash"], real_trashed["archived"])
    back = client.pages.update(page_id, archived=False)
    assert (back["in_trash"], back["archived"], back["is_archived"]) == (
        restored["in_trash"],
        restored["archived"],
        restored["is_archived"],
    )


def test_query_envelope_is_the_recorded_one(recorded: dict[str, Any], ds_id: str, client: notion_client.Client) -> None:
    real = find(recorded, "POST", r"/query$")["body"]
    ours = client.data_sources.query(ds_id)
    assert list(ours) == list(real)
    assert {k: v for k, v in ours.items() if k != "request_id"} == {k: v for k, v in real.items() if k != "request_id"}


def test_search_envelope_is_the_recorded_one(recorded: dict[str, Any], client: notion_client.Client) -> None:
    real = find(recorded, "POST", r"/v1/search$")["body"]
    ours = client.search(query="nothing matches this")
    assert {k: v for k, v in ours.items() if k != "request_id"} == {k: v for k, v in real.items() if k != "request_id"}


def test_property_item_list_is_the_recorded_one(
    recorded: dict[str, Any], emu: NotionEmulator, ds_id: str, client: notion_client.Client
) -> None:
    real = find(recorded, "GET", r"/properties/title$")["body"]
    title = real["results"][0]["title"]["plain_text"]
    ours = client.pages.properties.retrieve(emu.add_page(ds_id, {"Name": title}), "title")
    assert list(ours) == list(real)
    assert {k: v for k, v in ours.items() if k != "request_id"} == {k: v for k, v in real.items() if k != "request_id"}


def test_error_bodies_are_the_recorded_ones(recorded: dict[str, Any], emu: NotionEmulator) -> None:
    invalid = find(recorded, "GET", r"/v1/invalid$")
    ours = raw_get(emu, "/v1/invalid")
    assert ours.status_code == invalid["status"]
    assert {k: v for k, v in ours.json().items() if k != "request_id"} == {
        k: v for k, v in invalid["body"].items() if k != "request_id"
    }
    assert ours.headers["content-type"] == invalid["headers"]["content-type"][0]

    unauthorized = find(recorded, "GET", r"/v1/users$")
    reply = httpx.get(
        f"{emu.url}/v1/users/me", headers={"Authorization": "Bearer ntn_wrong", "Notion-Version": "2025-09-03"}
    )
    assert reply.status_code == unauthorized["status"] == 401
    assert {k: v for k, v in reply.json().items() if k != "request_id"} == {
        k: v for k, v in unauthorized["body"].items() if k != "request_id"
    }

    missing = find(recorded, "GET", r"/v1/pages/00000000-0000-0000-0000-000000000000$")
    reply = raw_get(emu, "/v1/pages/00000000-0000-0000-0000-000000000000")
    real_body, ours_body = missing["body"], reply.json()
    assert reply.status_code == missing["status"] == 404
    assert list(ours_body) == list(real_body)
    assert ours_body["message"].replace('"notion-sync demo"', '"notion-sdk-py"') == real_body["message"]
    assert list(ours_body["additional_data"]) == list(real_body["additional_data"])


def test_every_recorded_response_is_json_with_a_request_id(recorded: dict[str, Any]) -> None:
    # Guards the assumption the emulator relies on: every reply, error or not, carries request_id.
    for interactions in recorded.values():
        for it in interactions:
            assert re.fullmatch(r"[0-9a-f-]{36}", it["body"]["request_id"])
            assert it["headers"]["content-type"] == ["application/json; charset=utf-8"]
