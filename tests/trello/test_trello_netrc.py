"""A ``~/.netrc`` entry for Trello's host must not replace the connector's credentials.

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
