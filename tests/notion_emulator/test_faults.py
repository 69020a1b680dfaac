"""Injected faults answer like Notion, and notion-client reacts to them as it does against the real API."""

from __future__ import annotations

import httpx
import notion_client
import pytest
from notion_client import APIErrorCode, APIResponseError
from notion_client.client import RetryOptions
from notion_client.errors import UnknownHTTPResponseError

from notion_sync.core.emulator.notion import NotionEmulator

HEADERS = {"Notion-Version": "2025-09-03"}


def test_429_carries_retry_after_and_notions_body(emu: NotionEmulator) -> None:
    emu.server.faults.retry_after = 2
    emu.server.faults.schedule(429, path=r"^/v1/users/me$")
    reply = httpx.get(f"{emu.url}/v1/users/me", headers={**HEADERS, "Authorization": f"Bearer {emu.token}"})
    assert reply.status_code == 429
    assert reply.headers["retry-after"] == "2"
    assert reply.headers["content-type"].startswith("application/json")
    body = reply.json()
    assert (body["object"], body["status"], body["code"]) == ("error", 429, "rate_limited")
    assert body["message"] and body["request_id"]


def test_529_carries_retry_after_too(emu: NotionEmulator) -> None:
    emu.server.faults.schedule(529)
    reply = httpx.get(f"{emu.url}/v1/users/me", headers={**HEADERS, "Authorization": f"Bearer {emu.token}"})
    assert reply.status_code == 529 and reply.headers["retry-after"] == "1"
    assert reply.json()["code"] == "service_overload"


def test_the_token_bucket_answers_notions_429(emu: NotionEmulator, client: notion_client.Client) -> None:
    emu.server.faults.rate_limit = (2, 60.0)
    no_retry = notion_client.Client(auth=emu.token, base_url=emu.url, retry=False)
    no_retry.users.me()
    no_retry.users.me()
    with pytest.raises(APIResponseError) as caught:
        no_retry.users.me()
    assert caught.value.code == APIErrorCode.RateLimited and caught.value.headers["retry-after"] == "1"
    no_retry.close()


def test_notion_client_retries_a_429_after_retry_after(
    emu: NotionEmulator, ds_id: str, client: notion_client.Client
) -> None:
    emu.add_page(ds_id, {"Name": "x"})
    emu.server.faults.retry_after = 0  # "0": the client retries at once, so the test stays fast
    emu.server.faults.schedule(429, count=2, path=r"/query$")
    assert len(client.data_sources.query(ds_id)["results"]) == 1
    assert emu.server.faults.injected["429"] == 2
    assert emu.server.request_count(r"/query$") == 3


def test_a_503_on_query_surfaces_because_posts_are_not_retried(
    emu: NotionEmulator, ds_id: str, client: notion_client.Client
) -> None:
    emu.server.faults.schedule(503, path=r"/query$")
    with pytest.raises(APIResponseError) as caught:
        client.data_sources.query(ds_id)
    assert caught.value.status == 503 and caught.value.code == APIErrorCode.ServiceUnavailable
    assert emu.server.request_count(r"/query$") == 1
    assert client.data_sources.query(ds_id)["object"] == "list"


def test_a_500_on_a_get_is_retried_by_the_client(emu: NotionEmulator) -> None:
    emu.server.faults.schedule(500, path=r"^/v1/users/me$")
    fast = notion_client.Client(
        auth=emu.token, base_url=emu.url, retry=RetryOptions(max_retries=2, initial_retry_delay_ms=1)
    )
    assert fast.users.me()["type"] == "bot"
    assert emu.server.request_count(r"^GET /v1/users/me$") == 2
    fast.close()


@pytest.mark.parametrize(
    ("status", "code", "known"),
    [
        (500, "internal_server_error", True),
        (502, "bad_gateway", False),
        (503, "service_unavailable", True),
        (504, "gateway_timeout", True),
        (529, "service_overload", False),
    ],
)
def test_server_errors_have_notions_codes(emu: NotionEmulator, ds_id: str, status: int, code: str, known: bool) -> None:
    emu.server.faults.schedule(status, path=r"/query$")
    with (
        notion_client.Client(auth=emu.token, base_url=emu.url, retry=False) as plain,
        pytest.raises(Exception) as caught,
    ):
        plain.data_sources.query(ds_id)
    error = caught.value
    # notion-client 3.1 knows neither bad_gateway nor service_overload: those become UnknownHTTPResponseError.
    assert isinstance(error, APIResponseError if known else UnknownHTTPResponseError)
    assert error.status == status  # type: ignore[attr-defined]
    assert f'"code":"{code}"' in error.body.replace(" ", "")  # type: ignore[attr-defined]


def test_a_dropped_connection_is_a_transport_error(emu: NotionEmulator, client: notion_client.Client) -> None:
    emu.server.faults.schedule(0, path=r"^/v1/users/me$")
    with pytest.raises(httpx.TransportError):
        client.users.me()
    assert client.users.me()["type"] == "bot"
