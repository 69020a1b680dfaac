"""``notion-sync check`` for Slack: the token and its scopes, the channel, the bot's membership."""

from __future__ import annotations

from typing import TYPE_CHECKING

from notion_sync.sdk import CheckResult, ConfigError, MappingContext, NotionSyncError, RetryableError

from .settings import SlackMapping

if TYPE_CHECKING:
    from .connector import SlackConnector

__all__ = ["check"]


def check(connector: SlackConnector, mapping: MappingContext[SlackMapping]) -> list[CheckResult]:
    """The token works, the channel exists, the bot is in it (else the /invite to type)."""
    results: list[CheckResult] = []
    try:
        me = connector.identity()
    except RetryableError as exc:
        # Not the token's fault: nothing (or only errors) came back from Slack.
        url = connector.settings.base_url
        fix = f"check the network connection to {url} (and slack.base_url), then run check again"
        return [CheckResult("slack token", False, f"Slack is unreachable at {url}: {exc}", fix)]
    except NotionSyncError as exc:
        fix = "put the app's Bot User OAuth Token (xoxb-…) in slack.token_env or slack.token_file"
        return [CheckResult("slack token", False, str(exc), fix, access=not isinstance(exc, ConfigError))]
    results.append(CheckResult("slack token", True, f"bot @{me.get('user')} in {me.get('team')}"))
    scopes = set(filter(None, str(me.get("scopes", "")).split(",")))
    needed = {"chat:write", "channels:read", "channels:history"}
    if mapping.settings.mention_people:
        needed.add("users:read.email")
    if scopes and not needed <= scopes:
        missing = ", ".join(sorted(needed - scopes))
        results.append(
            CheckResult(
                "slack scopes",
                False,
                f"the app lacks {missing}",
                "add them under OAuth & Permissions and reinstall the app",
                access=True,
            )
        )
    for setting in mapping.settings.routed_channels:
        results.extend(_channel_checks(connector, setting))
    return results


def _channel_checks(connector: SlackConnector, setting: str) -> list[CheckResult]:
    """The channel exists, is not archived, and has the bot."""
    try:
        channel, info = connector.channel_and_info(setting)
    except NotionSyncError as exc:
        return [
            CheckResult(
                f"slack channel {setting}",
                False,
                str(exc),
                "set the mapping's channel (or channels) to an existing channel",
                access=False,
            )
        ]
    results = [CheckResult(f"slack channel {channel.label}", True, f"id {channel.id}")]
    if info is not None:
        if info.get("is_archived"):
            results.append(
                CheckResult(
                    f"slack channel {channel.label}",
                    False,
                    "the channel is archived",
                    "unarchive it or choose another channel",
                    access=False,
                )
            )
        elif info.get("is_member") is False:
            results.append(
                CheckResult(
                    f"bot in {channel.label}",
                    False,
                    "the bot is not a member",
                    connector.invite_fix(channel),
                    access=True,
                )
            )
        else:
            results.append(CheckResult(f"bot in {channel.label}", True, "member"))
    return results
