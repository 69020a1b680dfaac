"""A ``~/.netrc`` entry for a service's host must not replace the connectors' credentials.

``requests`` reads ``.netrc`` (or ``$NETRC``) for a request that carries no ``auth``, and its
Basic auth then overwrites an ``Authorization`` header set by hand: every call would be refused.
The connector keeps the environment's proxies and CA bundle, so it cannot simply turn
``trust_env`` off; it sends its credentials as the request's ``auth``.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from .testkit import World, desired, page


def test_a_netrc_entry_for_the_host_does_not_replace_the_token(
    world: World, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    netrc = tmp_path / "netrc"
    netrc.write_text("machine 127.0.0.1 login someone password not-the-token\n")
    netrc.chmod(0o600)
    monkeypatch.setenv("NETRC", str(netrc))
    conn, ctx = world.connector(), world.mapping()
    conn.prepare(ctx)
    ref = conn.create(desired(conn, page("Card from a netrc machine"), ctx), ctx)
    assert [c["id"] for c in world.emu.cards()] == [ref.id]


def test_a_whole_sync_works_with_a_netrc_entry_for_every_emulator_host(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Notion (httpx), Google (httplib2), Trello (requests) and Slack (urllib) all on 127.0.0.1.
    from notion_sync.core.sandbox import Sandbox

    netrc = tmp_path / "netrc"
    netrc.write_text("machine 127.0.0.1 login someone password not-a-token\n")
    netrc.chmod(0o600)
    monkeypatch.setenv("NETRC", str(netrc))
    with Sandbox(tmp_path / "box") as box:
        report = box.run()
        assert report.exit_code == 0, [m.summary() for m in report.mappings]
        assert all(m.counts["created"] > 0 for m in report.mappings), [m.summary() for m in report.mappings]
        assert {m.connector for m in report.mappings} == {"google_calendar", "trello", "slack"}
