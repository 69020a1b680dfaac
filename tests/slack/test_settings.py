"""Settings errors name the key and the fix."""

from __future__ import annotations

import pytest
from pydantic import ValidationError

from notion_sync.connectors.slack.settings import SlackMapping, SlackSettings
from notion_sync.core.fields import property_uses


def error(**settings):
    with pytest.raises(ValidationError) as info:
        SlackMapping.model_validate(settings)
    return str(info.value)


def test_defaults():
    mapping = SlackMapping.model_validate({"channel": "#general"})
    assert mapping.mode == "mirror" and mapping.fields.text == "{Name}" and not mapping.mention_people


def test_channel_needs_a_hash_or_an_id():
    assert '"#general"' in error(channel="general")
    assert SlackMapping.model_validate({"channel": "C0123ABCD9"}).channel == "C0123ABCD9"


def test_unknown_keys_are_errors():
    assert "chanel" in error(channel="#a", chanel="#b")


def test_notify_on_needs_notify_mode():
    assert 'mode = "notify"' in error(channel="#a", notify_on=["Status"])


def test_blocks_accept_json_text_and_check_their_shape():
    mapping = SlackMapping.model_validate({"channel": "#a", "blocks": '{"blocks": [{"type": "divider"}]}'})
    assert mapping.block_list == [{"type": "divider"}]
    assert "not valid JSON" in error(channel="#a", blocks="[{")
    assert "at most 50" in error(channel="#a", blocks=[{"type": "divider"}] * 51)
    assert '"type"' in error(channel="#a", blocks=[{"text": "x"}])
    assert "either blocks or layout" in error(channel="#a", blocks=[{"type": "divider"}], layout="card")


def test_the_core_sees_every_property_the_mapping_names():
    mapping = SlackMapping.model_validate(
        {
            "channel": "#a",
            "mode": "notify",
            "fields": {"text": "{Name} {Due}"},
            "notify_on": ["Status"],
            "layout": "card",
            "card_properties": ["Owner"],
        }
    )
    assert {(u.path, u.property) for u in property_uses(mapping)} == {
        ("fields.text", "Name"),
        ("fields.text", "Due"),
        ("notify_on[0]", "Status"),
        ("card_properties[0]", "Owner"),
    }


def test_the_core_sees_placeholders_inside_blocks():
    blocks = [
        {"type": "divider"},
        {
            "type": "section",
            "text": {"type": "mrkdwn", "text": "{Severity} <{url}|open>"},
            "fields": [{"type": "plain_text", "text": "{Owner}"}],
        },
    ]
    mapping = SlackMapping.model_validate({"channel": "#a", "blocks": blocks})
    assert mapping.block_list == blocks
    assert {(u.path, u.property) for u in property_uses(mapping)} == {
        ("fields.text", "Name"),
        ("blocks[1].texts[0]", "Severity"),
        ("blocks[1].texts[1]", "Owner"),
    }


def test_service_settings():
    assert SlackSettings(token_env="T").base_url == "https://slack.com/api/"
    assert SlackSettings(token_env="T", base_url="http://127.0.0.1:9/api").base_url == "http://127.0.0.1:9/api/"
    with pytest.raises(ValidationError, match="http"):
        SlackSettings(token_env="T", base_url="slack.com")
    assert SlackSettings(token="xoxb-inline").token == "xoxb-inline"  # works, warned about at each run
    with pytest.raises(ValidationError, match="unknown|Extra"):
        SlackSettings(token_env="T", tokn="x")  # type: ignore[call-arg]
    with pytest.raises(ValidationError, match="token_env"):
        SlackSettings()
