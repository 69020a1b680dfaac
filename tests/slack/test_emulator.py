"""The emulator answers like Slack: checked against the official Web API spec
(``../shared/reference/specs/slack-web-openapi-v2.json``) and the API notes."""

from __future__ import annotations

import json
import urllib.request
from typing import Any

import pytest
from slack_sdk import WebClient
from slack_sdk.errors import SlackApiError

from notion_sync.connectors.slack.emulator import SlackEmulator

from .spec import load_spec, response_schema, validate


@pytest.fixture(scope="module")
def spec() -> dict[str, Any]:
    return load_spec()


@pytest.fixture
def client(emu: SlackEmulator) -> WebClient:
    return WebClient(token=emu.token, base_url=emu.api_url)


def conforms(spec: dict[str, Any], method: str, body: dict[str, Any], ok: bool = True) -> None:
    problems = validate(body, response_schema(spec, method, ok), spec)
    assert problems == [], f"{method}: {problems}"


def error_of(call: Any) -> dict[str, Any]:
    with pytest.raises(SlackApiError) as info:
        call()
    return dict(info.value.response.data)


def without_metadata(body: dict[str, Any]) -> dict[str, Any]:
    """Message metadata (2022) postdates the spec (2020): checked on its own, per the API notes."""
    return {**body, "messages": [{k: v for k, v in m.items() if k != "metadata"} for m in body["messages"]]}


def test_success_responses_match_the_spec(spec, emu, client):
    channel = emu.add_channel("general")
    emu.add_user("ada@example.com", "ada", "Ada Lovelace")
    conforms(spec, "auth.test", client.auth_test().data)
    posted = client.chat_postMessage(
        channel=channel,
        text="hi",
        blocks=[{"type": "divider"}],
        metadata={"event_type": "e", "event_payload": {"k": "v"}},
    )
    conforms(spec, "chat.postMessage", posted.data)
    client.chat_postMessage(channel=channel, text="reply", thread_ts=posted["ts"])
    conforms(spec, "chat.update", client.chat_update(channel=channel, ts=posted["ts"], text="edited").data)
    conforms(spec, "conversations.info", client.conversations_info(channel=channel).data)
    conforms(spec, "conversations.list", client.conversations_list().data)
    history = client.conversations_history(channel=channel, include_all_metadata=True).data
    conforms(spec, "conversations.history", without_metadata(history))
    conforms(spec, "users.lookupByEmail", client.users_lookupByEmail(email="ada@example.com").data)
    conforms(spec, "chat.delete", client.chat_delete(channel=channel, ts=posted["ts"]).data)


def test_the_validator_catches_what_breaks_the_spec(spec):
    problems = validate({"ok": True, "team": 3, "extra": 1}, response_schema(spec, "auth.test", True), spec)
    assert any("missing required 'url'" in p for p in problems)
    assert any("'extra'" in p for p in problems) and any("team" in p for p in problems)


def test_error_responses_match_the_spec(spec, emu, client):
    channel = emu.add_channel("general", member=False)
    cases = [
        ("chat.postMessage", lambda: client.chat_postMessage(channel=channel, text="x"), "not_in_channel"),
        ("chat.postMessage", lambda: client.chat_postMessage(channel="C0MISSING01", text="x"), "channel_not_found"),
        ("conversations.info", lambda: client.conversations_info(channel="C0MISSING01"), "channel_not_found"),
        ("users.lookupByEmail", lambda: client.users_lookupByEmail(email="no@example.com"), "users_not_found"),
    ]
    emu.set_member(channel, True)
    for method, call, code in cases[1:]:
        body = error_of(call)
        assert body["error"] == code
        conforms(spec, method, body, ok=False)
    emu.set_member(channel, False)
    body = error_of(cases[0][1])
    assert body == {"ok": False, "error": "not_in_channel"}
    conforms(spec, "chat.postMessage", body, ok=False)
    emu.set_member(channel, True)
    ts = client.chat_postMessage(channel=channel, text="x")["ts"]
    client.chat_delete(channel=channel, ts=ts)
    for method, call in [
        ("chat.delete", lambda: client.chat_delete(channel=channel, ts=ts)),
        ("chat.update", lambda: client.chat_update(channel=channel, ts=ts, text="y")),
    ]:
        body = error_of(call)
        assert body["error"] == "message_not_found"
        conforms(spec, method, body, ok=False)


def test_errors_are_http_200_with_ok_false(emu, client):
    with pytest.raises(SlackApiError) as info:
        client.conversations_info(channel="C0MISSING01")
    assert info.value.response.status_code == 200


def test_auth_errors(emu):
    for token, code in [("xoxb-nope", "invalid_auth"), ("", "not_authed")]:
        body = error_of(WebClient(token=token or None, base_url=emu.api_url).auth_test)
        assert body["error"] == code
    emu.revoked.add(emu.token)
    assert error_of(lambda: WebClient(token=emu.token, base_url=emu.api_url).auth_test())["error"] == "token_revoked"


def raw_post(emu: SlackEmulator, method: str, body: bytes, content_type: str, bearer: bool = True) -> dict[str, Any]:
    headers = {"Content-Type": content_type}
    if bearer:
        headers["Authorization"] = f"Bearer {emu.token}"
    request = urllib.request.Request(emu.api_url + method, data=body, headers=headers, method="POST")
    with urllib.request.urlopen(request) as response:
        return json.loads(response.read())


def test_json_and_form_bodies_and_token_argument(emu):
    channel = emu.add_channel("general")
    as_json = raw_post(
        emu,
        "chat.postMessage",
        json.dumps({"channel": channel, "text": "j"}).encode(),
        "application/json; charset=utf-8",
    )
    as_form = raw_post(
        emu, "chat.postMessage", f"channel={channel}&text=f+%26+g".encode(), "application/x-www-form-urlencoded"
    )
    with_token = raw_post(
        emu, "auth.test", f"token={emu.token}".encode(), "application/x-www-form-urlencoded", bearer=False
    )
    assert as_json["ok"] and as_form["ok"] and with_token["ok"]
    assert [m.text for m in emu.messages(channel)] == ["j", "f & g"]
    assert raw_post(emu, "chat.postMessage", b"{not json", "application/json")["error"] == "invalid_json"


def test_metadata_only_with_include_all_metadata(emu, client):
    channel = emu.add_channel("general")
    meta = {"event_type": "notion_sync_row", "event_payload": {"mapping": "m", "page_id": "p"}}
    client.chat_postMessage(channel=channel, text="x", metadata=meta)
    assert "metadata" not in client.conversations_history(channel=channel)["messages"][0]
    assert client.conversations_history(channel=channel, include_all_metadata=True)["messages"][0]["metadata"] == meta
    bad = error_of(lambda: client.chat_postMessage(channel=channel, text="x", metadata={"event_payload": {}}))
    assert bad["error"] == "invalid_metadata_format"


def test_update_keeps_metadata_and_blocks_unless_given(emu, client):
    channel = emu.add_channel("general")
    meta = {"event_type": "e", "event_payload": {}}
    ts = client.chat_postMessage(channel=channel, text="x", blocks=[{"type": "divider"}], metadata=meta)["ts"]
    client.chat_update(channel=channel, ts=ts, text="y")
    [message] = emu.messages(channel)
    assert message.metadata == meta and message.blocks == [{"type": "divider"}]
    client.chat_update(channel=channel, ts=ts, text="z", blocks=[])
    assert emu.messages(channel)[0].blocks is None


def test_history_pages_newest_first_with_a_cursor(emu, client):
    channel = emu.add_channel("general")
    for i in range(5):
        client.chat_postMessage(channel=channel, text=str(i))
    first = client.conversations_history(channel=channel, limit=2)
    assert [m["text"] for m in first["messages"]] == ["4", "3"] and first["has_more"]
    cursor = first["response_metadata"]["next_cursor"]
    second = client.conversations_history(channel=channel, limit=2, cursor=cursor)
    assert [m["text"] for m in second["messages"]] == ["2", "1"]
    seen = []
    for page in client.conversations_history(channel=channel, limit=2):  # slack-sdk follows next_cursor
        seen.extend(m["text"] for m in page["messages"])
    assert seen == ["4", "3", "2", "1", "0"]


def test_threads_replies_stay_out_of_history(emu, client):
    channel = emu.add_channel("general")
    parent = client.chat_postMessage(channel=channel, text="parent")["ts"]
    client.chat_postMessage(channel=channel, text="reply", thread_ts=parent)
    [top] = client.conversations_history(channel=channel)["messages"]
    assert top["reply_count"] == 1 and top["thread_ts"] == parent
    assert [r.text for r in emu.replies(channel, parent)] == ["reply"]


@pytest.mark.filterwarnings("ignore:The top-level `text` argument is missing")
def test_membership_archive_and_empty_text(emu, client):
    outside = emu.add_channel("outside", member=False)
    archived = emu.add_channel("archived", archived=True)
    inside = emu.add_channel("inside")
    assert client.conversations_info(channel=outside)["channel"]["is_member"] is False
    assert error_of(lambda: client.conversations_history(channel=outside))["error"] == "not_in_channel"
    assert error_of(lambda: client.chat_postMessage(channel=archived, text="x"))["error"] == "is_archived"
    assert error_of(lambda: client.chat_postMessage(channel=inside, text=" "))["error"] == "no_text"
    names = [c["name"] for c in client.conversations_list(exclude_archived=True)["channels"]]
    assert names == ["outside", "inside"]


def test_long_text_is_cut_at_40000(emu, client):
    channel = emu.add_channel("general")
    client.chat_postMessage(channel=channel, text="y" * 40_010)
    assert len(emu.messages(channel)[0].text) == 40_000


def test_429_is_slacks_ratelimited_with_retry_after(emu):
    emu.faults.retry_after = 3
    emu.faults.schedule(429, path="auth.test")
    body = error_of(lambda: WebClient(token=emu.token, base_url=emu.api_url, retry_handlers=[]).auth_test())
    assert body == {"ok": False, "error": "ratelimited"}
    request = urllib.request.Request(
        emu.api_url + "auth.test", data=b"", method="POST", headers={"Authorization": f"Bearer {emu.token}"}
    )
    emu.faults.schedule(429, path="auth.test")
    with pytest.raises(urllib.error.HTTPError) as info:
        urllib.request.urlopen(request)
    assert info.value.code == 429 and info.value.headers["Retry-After"] == "3"


def test_scheduled_ok_false_errors(emu, client):
    channel = emu.add_channel("general")
    emu.fail_next("chat.postMessage", "msg_too_long")
    assert error_of(lambda: client.chat_postMessage(channel=channel, text="x"))["error"] == "msg_too_long"
    assert client.chat_postMessage(channel=channel, text="x")["ok"]


def test_lookup_by_email_needs_the_scope(emu, client):
    emu.scopes = "chat:write"
    body = error_of(lambda: client.users_lookupByEmail(email="a@example.com"))
    assert body["error"] == "missing_scope" and body["needed"] == "users:read.email"
