"""A stateful Trello emulator on 127.0.0.1 that py-trello (and so the connector) talks to.

``service`` holds the emulator (state, routes, its own rate limiter), ``values`` Trello's
parameter rules and reply shapes, ``routes`` the routes it serves for the spec tests.
"""

from __future__ import annotations

from .routes import LEGACY_ROUTES, SPEC_ROUTES
from .service import TrelloEmulator
from .values import LABEL_COLORS, TrelloReply

__all__ = ["LABEL_COLORS", "LEGACY_ROUTES", "SPEC_ROUTES", "TrelloEmulator", "TrelloReply"]
