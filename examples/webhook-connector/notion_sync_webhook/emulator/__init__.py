"""The webhook receiver emulator (``receiver``): a Starlette app on ``ServiceEmulator``."""

from __future__ import annotations

from .receiver import PATH, WebhookEmulator

__all__ = ["PATH", "WebhookEmulator"]
