"""Fixtures for the Trello connector tests: fast retries, an emulator, and a seeded world."""

from __future__ import annotations

from .testkit import emulator, world  # noqa: F401 - fixtures
