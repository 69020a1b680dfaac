"""Escaping, safe truncation, strike-through and mention tokens."""

from __future__ import annotations

from notion_sync.connectors.slack import mrkdwn


def test_escape_only_the_three_characters():
    assert mrkdwn.escape("a & <b> \"q\" 'x'") == "a &amp; &lt;b&gt; \"q\" 'x'"


def test_short_text_is_untouched():
    assert mrkdwn.truncate("short", 10) == "short"


def test_truncation_counts_utf16_and_never_splits_a_surrogate_pair():
    text = "😀" * 10  # each is 2 UTF-16 units
    cut = mrkdwn.truncate(text, 7)
    assert cut == "😀😀😀…" and mrkdwn.utf16_len(cut) <= 7


def test_truncation_never_splits_an_escape():
    for extra in range(6):
        cut = mrkdwn.truncate("x" * extra + "&amp;" * 5, 8)
        assert "&" not in cut.replace("&amp;", "") and cut.endswith("…")


def test_truncation_never_splits_a_link_or_mention():
    cut = mrkdwn.truncate("see <https://example.com/long/path|a link> now", 20)
    assert cut == "see…"
    assert mrkdwn.truncate("hi <@U0123456789>", 12) == "hi…"


def test_truncation_never_splits_a_mention_token():
    text = "x " + mrkdwn.mention_token("ada@example.com", "Ada") + " y"
    cut = mrkdwn.truncate(text, 10)
    assert not mrkdwn.has_mentions(cut) and cut == "x…"


def test_strike_works_line_by_line():
    assert mrkdwn.strike("one\n\ntwo") == "~one~\n\n~two~"


def test_values_cannot_forge_mention_tokens():
    forged = "\x1fboss@example.com\x1eBoss\x1f"
    assert not mrkdwn.has_mentions(mrkdwn.escape(forged))
    assert mrkdwn.escape_keeping_mentions(mrkdwn.clean(forged)) == "boss@example.comBoss"


def test_mentions_resolve_or_fall_back_to_the_escaped_name():
    text = mrkdwn.escape_keeping_mentions(
        mrkdwn.mention_token("a@x.io", "Ann") + ", " + mrkdwn.mention_token("b@x.io", "B&B")
    )
    assert mrkdwn.resolve_mentions(text, {"a@x.io": "U1"}.get) == "<@U1>, B&amp;B"
    assert mrkdwn.plain(text) == "Ann, B&B"
