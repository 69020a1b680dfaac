"""The Slack connector driven through slack-sdk against the emulator."""

from __future__ import annotations

import logging

import pytest

from notion_sync.connectors.slack.connector import SlackConnector
from notion_sync.connectors.slack.emulator import SlackEmulator
from notion_sync.connectors.slack.settings import SlackSettings
from notion_sync.core.adapter import DesiredItem, Link
from notion_sync.core.errors import AccessError, ConfigError, FatalError, ItemError
from notion_sync.core.retry import RetryPolicy

from .conftest import TOKEN_ENV, MiniEngine, make_row, mapping


def texts(emu: SlackEmulator, channel: str) -> list[str]:
    return [m.text for m in emu.messages(channel)]


# -- mirror -------------------------------------------------------------------------
def test_mirror_posts_then_edits_in_place(emu, channel, connector):
    engine = MiniEngine(connector, mapping(fields={"text": "*{Name}* is {Status}"}))
    row = make_row("Ship it", status="In progress")
    engine.run([row])
    [message] = emu.messages(channel)
    assert message.text == "*Ship it* is In progress"
    assert message.metadata == {
        "event_type": "notion_sync_row",
        "event_payload": {"mapping": "tasks", "page_id": row.id},
    }

    engine.run([make_row("Ship it", page_id=row.id, status="Done")])
    [edited] = emu.messages(channel)
    assert edited.ts == message.ts and edited.text == "*Ship it* is Done"
    assert emu.server.request_count("chat.postMessage") == 1
    assert emu.server.request_count("chat.update") == 1


def test_mirror_rerun_writes_nothing(emu, channel, connector):
    engine = MiniEngine(connector, mapping())
    rows = [make_row("A"), make_row("B")]
    engine.run(rows)
    engine.writes.clear()
    engine.run(rows)
    assert engine.writes == []
    assert emu.server.request_count("chat.") == 2


def test_mirror_delete_removes_the_message(emu, channel, connector):
    engine = MiniEngine(connector, mapping())
    keep, gone = make_row("Keep"), make_row("Gone")
    engine.run([keep, gone])
    engine.run([keep])
    assert texts(emu, channel) == ["Keep"]
    assert gone.id not in engine.links


def test_delete_of_a_message_already_gone_is_done(emu, channel, connector):
    ctx = mapping()
    row = make_row("Gone")
    engine = MiniEngine(connector, ctx)
    engine.run([row])
    link = engine.links[row.id]
    emu.channels[channel].messages.clear()  # someone deleted it in Slack
    assert connector.delete(link, "delete", ctx) is None


def test_mirror_strike_keeps_a_struck_message_and_restores_it(emu, channel, connector):
    engine = MiniEngine(connector, mapping(on_delete="strike", fields={"text": "{Name}\n{Notes}"}))
    row = make_row("Old task", notes="two lines")
    engine.run([row])
    engine.run([])
    [message] = emu.messages(channel)
    assert message.text == "~Old task~\n~two lines~\n_Removed from Notion_"
    assert message.metadata["event_payload"]["removed"] is True
    assert engine.links[row.id].archived

    engine.run([row])  # the row is back
    [message] = emu.messages(channel)
    assert message.text == "Old task\ntwo lines"
    assert "removed" not in message.metadata["event_payload"]


def test_mirror_keep_leaves_the_message(emu, channel, connector):
    engine = MiniEngine(connector, mapping(on_delete="keep"))
    engine.run([make_row("Stays")])
    engine.run([])
    assert texts(emu, channel) == ["Stays"]


def test_mirror_reposts_a_message_deleted_in_slack(emu, channel, connector):
    engine = MiniEngine(connector, mapping(fields={"text": "{Name}: {Status}"}))
    row = make_row("Task")
    engine.run([row])
    emu.channels[channel].messages.clear()
    engine.run([make_row("Task", page_id=row.id, status="Done")])
    assert texts(emu, channel) == ["Task: Done"]


def test_card_layout_links_the_title_and_shows_fields(emu, channel, connector):
    engine = MiniEngine(connector, mapping(layout="card", card_properties=["Status", "Tags"]))
    row = make_row("Fix <login> & co", tags=["Bug", "Docs"])
    engine.run([row])
    [message] = emu.messages(channel)
    assert message.text == "Fix &lt;login&gt; &amp; co"
    head, fields = message.blocks
    assert head["text"]["text"] == f"*<{row.url}|Fix &lt;login&gt; &amp; co>*"
    assert [f["text"] for f in fields["fields"]] == ["*Status*\nNot started", "*Tags*\nBug, Docs"]


@pytest.mark.failure_case("a 2,500-character title in a Slack card", "title cut, link and bold kept", 0)
def test_a_long_title_is_cut_inside_the_cards_bold_link(emu, channel, connector):
    engine = MiniEngine(connector, mapping(layout="card", card_properties=["Status"]))
    row = make_row("A&B " * 625)  # 2,500 characters, 3,750 once & is escaped
    engine.run([row])
    [message] = emu.messages(channel)
    head = message.blocks[0]["text"]["text"]
    assert head.startswith(f"*<{row.url}|A&amp;B A&amp;B") and head.endswith("…>*")
    assert len(head) <= 3000


@pytest.mark.failure_case("formatting characters in a Slack value", "shown as written, never formatting", 0)
def test_formatting_characters_in_values_are_neutralised(emu, channel, connector):
    engine = MiniEngine(
        connector, mapping(layout="card", card_properties=["Notes"], fields={"text": "*{Name}*: {Notes}"})
    )
    row = make_row("Fix *all* the _bugs_", notes="~x~ and `code` at https://x.io/a_b*c\n> quoted")
    engine.run([row])
    [message] = emu.messages(channel)
    name = "Fix \u2217all\u2217 the \u02cdbugs\u02cd"
    notes = "\u223cx\u223c and \u02cbcode\u02cb at https://x.io/a_b*c\n\u00ad&gt; quoted"
    assert message.text == f"*{name}*: {notes}"  # only the template's stars are formatting
    head, fields = message.blocks
    assert head["text"]["text"] == f"*<{row.url}|{name}>*"  # the bold link stays whole
    assert fields["fields"][0]["text"] == f"*Notes*\n{notes}"
    quoted = make_row("q", notes="> not a quote")
    engine.run([quoted])
    assert emu.messages(channel)[-1].text.startswith("*q*: \u00ad&gt; not a quote")


def test_custom_blocks_fill_placeholders(emu, channel, connector):
    blocks = [
        {"type": "header", "text": {"type": "plain_text", "text": "{Name}"}},
        {"type": "section", "text": {"type": "mrkdwn", "text": "*Status:* {Status} <{url}|open>"}},
    ]
    engine = MiniEngine(connector, mapping(blocks=blocks))
    row = make_row("A & B", status="Done")
    engine.run([row])
    [message] = emu.messages(channel)
    assert message.blocks[0]["text"]["text"] == "A & B"  # plain_text is not escaped
    assert message.blocks[1]["text"]["text"] == f"*Status:* Done <{row.url}|open>"


def test_channel_change_moves_the_message(emu, channel, connector):
    other = emu.add_channel("elsewhere")
    row = make_row("Mover")
    engine = MiniEngine(connector, mapping())
    engine.run([row])
    engine.ctx = mapping(channel="#elsewhere")
    engine.run([row])
    assert texts(emu, channel) == []
    assert texts(emu, other) == ["Mover"]
    assert engine.links[row.id].ref.extra["channel"] == other


# -- notify ---------------------------------------------------------------------------
def test_notify_posts_once_and_replies_in_thread_on_watched_changes(emu, channel, connector):
    engine = MiniEngine(connector, mapping(mode="notify", notify_on=["Status"], fields={"text": "New: *{Name}*"}))
    row = make_row("Launch", status="In progress", notes="v1")
    engine.run([row])
    [message] = emu.messages(channel)
    assert message.text == "New: *Launch*"

    engine.run([make_row("Launch renamed", page_id=row.id, status="In progress", notes="v2")])
    assert engine.writes[-1] == "create Launch"  # other properties write nothing
    assert emu.replies(channel, message.ts) == []

    engine.run([make_row("Launch renamed", page_id=row.id, status="Done", notes="v2")])
    [reply] = emu.replies(channel, message.ts)
    assert reply.text == "*Status*: In progress → Done"
    assert reply.thread_ts == message.ts
    assert len(emu.messages(channel)) == 1


def test_notify_new_message_when_a_row_enters_again(emu, channel, connector):
    engine = MiniEngine(connector, mapping(mode="notify", notify_on=["Status"], on_delete="keep"))
    row = make_row("Flaky")
    engine.run([row])
    engine.run([])  # left the filter: the notification stays
    assert texts(emu, channel) == ["Flaky"]
    engine.run([row])  # matches again: a new notification
    assert texts(emu, channel) == ["Flaky", "Flaky"]


def test_notify_delete_mode_removes_the_notification(emu, channel, connector):
    engine = MiniEngine(connector, mapping(mode="notify", on_delete="delete"))
    engine.run([make_row("Temp")])
    engine.run([])
    assert texts(emu, channel) == []


def test_notify_strike_uses_the_title(emu, channel, connector):
    engine = MiniEngine(connector, mapping(mode="notify", on_delete="strike", fields={"text": "New: {Name}"}))
    engine.run([make_row("Old")])
    engine.run([])
    assert texts(emu, channel) == ["~Old~\n_Removed from Notion_"]


def test_notify_after_recovery_posts_no_reply_without_a_known_before(emu, channel, connector):
    ctx = mapping(mode="notify", notify_on=["Status"])
    row = make_row("R", status="To do")
    MiniEngine(connector, ctx).run([row])
    engine = MiniEngine(connector, ctx)  # state lost
    engine.run([make_row("R", page_id=row.id, status="Done")])
    [message] = emu.messages(channel)
    assert emu.replies(channel, message.ts) == []


# -- escaping, truncation, mentions ---------------------------------------------------
def test_values_are_escaped_but_the_template_is_not(emu, channel, connector):
    engine = MiniEngine(connector, mapping(fields={"text": "<{url}|{Name}> {Notes}"}))
    row = make_row("a<b>&c", notes="<!channel> & <@U123>")
    engine.run([row])
    assert texts(emu, channel) == [f"<{row.url}|a&lt;b&gt;&amp;c> &lt;!channel&gt; &amp; &lt;@U123&gt;"]


def test_long_text_is_cut_under_the_limit_without_splitting_an_escape(emu, channel, connector):
    engine = MiniEngine(connector, mapping(fields={"text": "{Notes}"}))
    engine.run([make_row("Long", notes="x" * 39_997 + "&&&&")])
    [text] = texts(emu, channel)
    assert text.endswith("x…")  # "&amp;" would not fit whole: cut before it
    assert len(text) == 39_998


def test_timed_dates_show_in_each_readers_time_zone(emu, channel, connector):
    blocks = [{"type": "header", "text": {"type": "plain_text", "text": "{Name} {Due}"}}]
    engine = MiniEngine(connector, mapping(fields={"text": "{Name}: {Due}"}, blocks=blocks))
    engine.run(
        [
            make_row("Call", due=("2026-11-27T09:30:00.000+01:00", None)),
            make_row("Trip", due=("2026-12-02", "2026-12-04")),
        ]
    )
    call, trip = emu.messages(channel)
    assert call.text == "Call: <!date^1795768200^{date_short_pretty} {time}|2026-11-27 09:30 +0100>"
    assert call.blocks[0]["text"]["text"] == "Call 2026-11-27 09:30 +0100"  # plain text: the fallback
    assert trip.text == "Trip: 2026-12-02 → 2026-12-04"  # all-day dates stay dates


def test_mentions_resolve_by_email_and_fall_back_to_the_name(emu, channel, connector):
    ada = emu.add_user("ada@example.com", "ada")
    engine = MiniEngine(connector, mapping(mention_people=True, fields={"text": "{Name} → {Owner}"}))
    row = make_row("Review", owners=[("Ada L", "ADA@example.com"), ("Bob <B>", "bob@example.com"), ("Guest", "")])
    engine.run([row, make_row("Again", owners=[("Ada L", "ada@example.com")])])
    assert texts(emu, channel) == [f"Review → <@{ada}>, Bob &lt;B&gt;, Guest", f"Again → <@{ada}>"]
    assert emu.server.request_count("users.lookupByEmail") == 2  # cached per run


def test_mentions_without_the_scope_fall_back_to_names(emu, channel, connector, caplog):
    emu.scopes = "chat:write,channels:read,channels:history"
    emu.add_user("ada@example.com", "ada")
    engine = MiniEngine(connector, mapping(mention_people=True, fields={"text": "{Owner}"}))
    with caplog.at_level(logging.WARNING):
        engine.run([make_row("R", owners=[("Ada", "ada@example.com")])])
    assert texts(emu, channel) == ["Ada"]
    assert "users:read.email" in caplog.text


# -- exactly once -----------------------------------------------------------------------
def test_crash_after_post_is_recovered_not_posted_twice(emu, channel, connector):
    ctx = mapping()
    rows = [make_row(f"Row {i}") for i in range(3)]
    MiniEngine(connector, ctx).run(rows)  # posted, then the state was lost
    engine = MiniEngine(connector, ctx)
    engine.run(rows)
    assert texts(emu, channel) == ["Row 0", "Row 1", "Row 2"]
    assert all(w.startswith("update") for w in engine.writes)
    assert emu.server.request_count("chat.postMessage") == 3


def test_recover_reads_history_in_pages_and_stops_when_all_are_found(emu, channel, connector):
    ctx = mapping()
    connector.prepare(ctx)
    items = [DesiredItem("tasks", make_row(f"R{i}").id, "", f"R{i}", {"text": f"R{i}"}) for i in range(450)]
    for item in items:
        connector.create(item, ctx)
    fresh = SlackConnector(connector.settings)
    found = fresh.recover([items[-1]], ctx)  # the newest: on the first page
    assert list(found) == [items[-1].page_id]
    assert emu.server.request_count("conversations.history") == 1
    found = fresh.recover(items, ctx)
    assert len(found) == 450 and found[items[0].page_id].id == emu.messages(channel)[0].ts
    assert emu.server.request_count("conversations.history") == 3


def test_recover_is_bounded(emu, channel, monkeypatch):
    monkeypatch.setenv(TOKEN_ENV, emu.token)
    conn = SlackConnector(
        SlackSettings(token_env=TOKEN_ENV, base_url=emu.api_url, pacing_scale=1000.0, recover_max_messages=50)
    )
    ctx = mapping()
    old = DesiredItem("tasks", make_row("old").id, "", "old", {"text": "old"})
    conn.create(old, ctx)
    for i in range(120):
        emu.channels[channel].messages.append(
            type(emu.channels[channel].messages[0])(f"{1900000000 + i}.000000", "U0HUMAN01", f"chatter {i}")
        )
    assert SlackConnector(conn.settings).recover([old], ctx) == {}
    assert emu.server.request_count("conversations.history") == 1


def test_recover_ignores_other_mappings_and_other_bots(emu, channel, connector):
    ctx = mapping()
    row = make_row("Mine")
    MiniEngine(connector, mapping(name="other")).run([row])
    emu.channels[channel].messages[0].bot_id = "B0SOMEONE9"
    MiniEngine(connector, mapping(name="other2")).run([row])
    assert SlackConnector(connector.settings).recover([DesiredItem("tasks", row.id, "", "Mine", {})], ctx) == {}


def test_lost_answer_to_a_post_is_looked_up_before_posting_again(emu, channel, connector):
    ctx = mapping()
    connector.prepare(ctx)
    item = DesiredItem("tasks", make_row("Once").id, "", "Once", {"text": "Once"})
    emu.faults.schedule(500, path="chat.postMessage")
    ref = connector.create(item, ctx)
    assert texts(emu, channel) == ["Once"] and ref.id == emu.messages(channel)[0].ts


def test_lost_answer_after_the_post_landed_does_not_duplicate(emu, channel, connector):
    ctx = mapping()
    connector.prepare(ctx)
    item = DesiredItem("tasks", make_row("Once").id, "", "Once", {"text": "Once"})
    emu.lose_next_answer("chat.postMessage")  # the message lands, the answer is a 500
    ref = connector.create(item, ctx)
    assert texts(emu, channel) == ["Once"]
    assert ref.id == emu.messages(channel)[0].ts
    assert emu.server.request_count("chat.postMessage") == 1


def test_dropped_connection_on_a_post_is_retried_once_looked_up(emu, channel, connector):
    ctx = mapping()
    connector.prepare(ctx)
    emu.faults.schedule(0, path="chat.postMessage")  # the connection drops mid-answer
    connector.create(DesiredItem("tasks", make_row("Once").id, "", "Once", {"text": "Once"}), ctx)
    assert texts(emu, channel) == ["Once"]
    assert emu.faults.injected["drop"] == 1


def test_flaky_slack_never_duplicates_or_loses_a_row(emu, channel, connector):
    emu.faults.server_error_prob = 0.15
    emu.faults.drop_prob = 0.1
    emu.lose_next_answer("chat.postMessage", count=3)
    emu.faults.schedule(0, count=2, path="chat.postMessage")
    emu.faults.schedule(503, count=1, path="conversations.history")
    engine = MiniEngine(connector, mapping())
    rows = [make_row(f"Row {i}") for i in range(12)]
    for _ in range(4):  # a failed item is retried on the next run
        engine.run(rows)
        if len(engine.links) == len(rows):
            break
    emu.faults.clear()
    MiniEngine(connector, mapping()).run(rows)  # and a run with a lost state on top
    assert sorted(texts(emu, channel)) == sorted(r.title for r in rows)
    assert emu.faults.injected["drop"] >= 2


def test_the_token_never_shows_in_logs_or_errors(emu, channel, connector, caplog):
    caplog.set_level(logging.DEBUG)
    ctx = mapping()
    connector.prepare(ctx)
    emu.fail_next("chat.postMessage", "invalid_auth")
    with pytest.raises(AccessError) as info:
        connector.create(DesiredItem("tasks", make_row("x").id, "", "x", {"text": "x"}), ctx)
    emu.faults.schedule(503, path="chat.update")
    assert emu.token not in str(info.value) and emu.token not in repr(connector.settings)
    assert emu.token not in caplog.text


# -- errors -------------------------------------------------------------------------------
def test_bot_not_in_channel_stops_the_mapping_with_the_invite_to_type(emu, channel, connector):
    emu.set_member(channel, False)
    with pytest.raises(AccessError) as info:  # exit 3, as `check` says
        connector.prepare(mapping())
    assert "/invite @notion-sync" in str(info.value) and "#tasks" in str(info.value)


def test_not_in_channel_on_post_is_fatal_with_the_fix(emu, channel, connector):
    ctx = mapping()
    connector.prepare(ctx)
    emu.set_member(channel, False)  # removed mid-run
    with pytest.raises(FatalError, match="/invite @notion-sync"):
        connector.create(DesiredItem("tasks", make_row("x").id, "", "x", {"text": "x"}), ctx)


def test_unknown_channel_name_is_a_config_error(emu, channel, connector):
    with pytest.raises(ConfigError, match="#nope"):
        connector.prepare(mapping(channel="#nope"))


def test_unknown_channel_id_is_a_config_error(emu, channel, connector):
    with pytest.raises(ConfigError, match="does not exist"):
        connector.prepare(mapping(channel="C0NOTTHERE1"))


def test_channel_names_are_resolved_once_across_pages(emu, connector):
    for i in range(250):
        emu.add_channel(f"c{i}")
    target = emu.add_channel("target")
    connector.prepare(mapping(channel="#target"))
    connector.prepare(mapping(channel="#target"))
    assert connector._channels["#target"].id == target
    assert emu.server.request_count("conversations.list") == 2  # 200 + 51 channels, once


def test_bad_token_is_an_access_error_without_the_token(emu, channel, monkeypatch):
    monkeypatch.setenv(TOKEN_ENV, "xoxb-wrong-token-value-1234")
    conn = SlackConnector(SlackSettings(token_env=TOKEN_ENV, base_url=emu.api_url))
    with pytest.raises(AccessError) as info:
        conn.prepare(mapping())
    assert "invalid_auth" in str(info.value) and "xoxb-wrong" not in str(info.value)


def test_revoked_token_is_an_access_error(emu, channel, connector):
    emu.revoked.add(emu.token)
    with pytest.raises(AccessError, match="token_revoked"):
        connector.prepare(mapping())


def test_missing_token_is_a_config_error(emu):
    conn = SlackConnector(SlackSettings(token_env="NO_SUCH_SLACK_TOKEN_VAR", base_url=emu.api_url))
    with pytest.raises(ConfigError, match="NO_SUCH_SLACK_TOKEN_VAR"):
        conn.prepare(mapping())


def test_item_errors_carry_slacks_code(emu, channel, connector):
    ctx = mapping()
    connector.prepare(ctx)
    emu.fail_next("chat.postMessage", "msg_too_long")
    with pytest.raises(ItemError) as info:
        connector.create(DesiredItem("tasks", make_row("x").id, "", "x", {"text": "x"}), ctx)
    assert info.value.code == "msg_too_long"  # type: ignore[attr-defined]
    assert texts(emu, channel) == []


def test_archived_channel_is_a_config_error(emu, connector):
    channel = emu.add_channel("old", archived=True)
    with pytest.raises(ConfigError, match="archived"):
        connector.prepare(mapping(channel=channel))


# -- rate limits and pacing ----------------------------------------------------------------
def test_a_429_is_retried_after_retry_after(emu, channel, connector):
    ctx = mapping()
    connector.prepare(ctx)
    emu.faults.schedule(429, count=1, path="chat.postMessage")
    connector.create(DesiredItem("tasks", make_row("x").id, "", "x", {"text": "x"}), ctx)
    assert texts(emu, channel) == ["x"]
    assert emu.faults.injected["429"] == 1
    assert emu.server.request_count("chat.postMessage") == 2


def test_persistent_429s_go_through_the_core_retry_and_succeed(emu, channel, connector):
    ctx = mapping()
    connector.prepare(ctx)
    emu.faults.schedule(429, count=3, path="chat.postMessage")
    connector.create(DesiredItem("tasks", make_row("x").id, "", "x", {"text": "x"}), ctx)
    assert texts(emu, channel) == ["x"]
    assert emu.faults.injected["429"] == 3


def test_posts_are_paced_per_channel(emu, channel, monkeypatch):
    monkeypatch.setenv(TOKEN_ENV, emu.token)
    # 1 message/s/channel, scaled 10x: a 100 ms window, longer than a local request.
    conn = SlackConnector(SlackSettings(token_env=TOKEN_ENV, base_url=emu.api_url, pacing_scale=10.0))
    other = emu.add_channel("other")
    here, there = mapping(), mapping(name="b", channel="#other")
    conn.create(DesiredItem("tasks", make_row("a").id, "", "a", {"text": "a"}), here)
    conn.create(DesiredItem("b", make_row("b").id, "", "b", {"text": "b"}), there)
    assert conn._post_pacer.waited == 0  # another channel does not wait
    conn.create(DesiredItem("tasks", make_row("c").id, "", "c", {"text": "c"}), here)
    assert conn._post_pacer.waited > 0
    assert len(emu.messages(channel)) == 2 and len(emu.messages(other)) == 1


# -- check -----------------------------------------------------------------------------------
def test_check_passes(emu, channel, connector):
    results = connector.check(mapping())
    assert [r.ok for r in results] == [True, True, True]


def test_check_says_how_to_invite_the_bot(emu, channel, connector):
    emu.set_member(channel, False)
    failed = [r for r in connector.check(mapping()) if not r.ok]
    assert [r.fix for r in failed] == ["in Slack, open #tasks and type: /invite @notion-sync"]


def test_check_reports_a_bad_token(emu, monkeypatch):
    monkeypatch.setenv(TOKEN_ENV, "xoxb-bad-bad-bad-bad")
    conn = SlackConnector(SlackSettings(token_env=TOKEN_ENV, base_url=emu.api_url))
    [result] = conn.check(mapping())
    assert not result.ok and result.access and "xoxb-bad" not in result.detail


@pytest.mark.failure_case("Slack unreachable", "check says the service is unreachable and names the URL", 3)
def test_check_says_slack_is_unreachable_not_a_bad_token(emu, monkeypatch):
    monkeypatch.setenv(TOKEN_ENV, "xoxb-good-enough")
    conn = SlackConnector(SlackSettings(token_env=TOKEN_ENV, base_url="http://127.0.0.1:9/api/"))
    conn.retry_policy = RetryPolicy(attempts=2, initial=0.01, max_wait=0.01)
    [result] = conn.check(mapping())
    assert not result.ok and "Slack is unreachable at http://127.0.0.1:9/api/" in result.detail
    assert "token" not in result.fix


def test_check_reports_an_unset_token_variable_as_config(emu):
    conn = SlackConnector(SlackSettings(token_env="NO_SUCH_SLACK_TOKEN_VAR", base_url=emu.api_url))
    [result] = conn.check(mapping())
    assert not result.ok and not result.access and "NO_SUCH_SLACK_TOKEN_VAR" in result.detail


def test_check_reports_missing_scopes_for_mentions(emu, channel, connector):
    emu.scopes = "chat:write,channels:read,channels:history"
    failed = [r for r in connector.check(mapping(mention_people=True)) if not r.ok]
    assert len(failed) == 1 and "users:read.email" in failed[0].detail


def test_check_reports_a_missing_channel(emu, connector):
    failed = [r for r in connector.check(mapping(channel="#missing")) if not r.ok]
    assert len(failed) == 1 and not failed[0].access


def test_update_with_a_recovered_link_rewrites(emu, channel, connector):
    ctx = mapping()
    connector.prepare(ctx)
    item = DesiredItem("tasks", make_row("v1").id, "", "v1", {"text": "v1", "channel": channel})
    ref = connector.create(item, ctx)
    new = DesiredItem("tasks", item.page_id, "", "v2", {"text": "v2", "channel": channel})
    assert connector.update(Link(item.page_id, ref, None), new, ctx).id == ref.id
    assert texts(emu, channel) == ["v2"]
