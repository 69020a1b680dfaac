"""The routes the Trello emulator serves, for the tests that hold them against Atlassian's OpenAPI."""

from __future__ import annotations

__all__ = ["LEGACY_ROUTES", "SPEC_ROUTES"]

SPEC_ROUTES: tuple[tuple[str, str], ...] = (
    ("GET", "/boards/{id}"),
    ("GET", "/boards/{id}/lists"),
    ("GET", "/boards/{id}/labels"),
    ("POST", "/boards/{id}/labels"),
    ("GET", "/boards/{id}/cards"),
    ("GET", "/boards/{id}/cards/{filter}"),
    ("GET", "/boards/{id}/memberships"),
    ("GET", "/members/{id}"),
    ("GET", "/members/{id}/boards"),
    ("GET", "/tokens/{token}"),
    ("POST", "/cards"),
    ("GET", "/cards/{id}"),
    ("PUT", "/cards/{id}"),
    ("DELETE", "/cards/{id}"),
    ("GET", "/lists/{id}"),
    ("GET", "/lists/{id}/cards"),
    ("POST", "/cards/{id}/idLabels"),
    ("DELETE", "/cards/{id}/idLabels/{idLabel}"),
    ("POST", "/cards/{id}/labels"),
)
"""Every route the emulator serves that Atlassian's OpenAPI describes (checked by the tests)."""

LEGACY_ROUTES: tuple[tuple[str, str], ...] = (("PUT", "/cards/{id}/{field}"),)
"""py-trello's per-field setters: served by Trello, absent from the OpenAPI."""
