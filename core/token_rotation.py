"""``notion-sync token rotate``: replace the Notion token safely.

The new token is checked before anything is stored: it must be valid, belong to the
same integration (bot) and workspace as the old one, and reach every mapped database.
It is then stored where the config says (``token_file``, written atomically with mode
600, or the OS keyring) and never into the config file; the old fingerprint is retired.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

from notion_sync.core.config import Config
from notion_sync.core.errors import AccessError, ConfigError, ConfigProblem, NotionSyncError
from notion_sync.core.notion_source import NotionSource
from notion_sync.core.secrets import REDACTOR, Secret, check_secret, clean_secret, write_keyring, write_secret_file
from notion_sync.core.state import StateStore

__all__ = ["RotationResult", "check_rotatable", "read_new_token", "rotate_token"]


@dataclass(frozen=True)
class RotationResult:
    """What a rotation did."""

    old: str | None
    new: str
    stored_in: str
    notes: tuple[str, ...]


def _identity(me: dict[str, Any]) -> str:
    found = me.get("bot")
    bot: dict[str, Any] = found if isinstance(found, dict) else {}
    workspace = bot.get("workspace_id") or bot.get("workspace_name") or "?"
    return f"{me.get('id')}@{workspace}"


def _source(config: Config, token: Secret) -> NotionSource:
    n = config.notion
    return NotionSource(token, base_url=n.base_url, timeout=n.timeout, requests_per_second=n.requests_per_second)


def check_rotatable(config: Config) -> None:
    """Raise ``ConfigError`` if the config reads the token from somewhere `token rotate` cannot
    write: checked before the new secret is asked for."""
    n = config.notion
    if n.token:
        raise ConfigError(
            [
                ConfigProblem(
                    "notion.token",
                    "the token is written in the config file; move it to "
                    "token_file or token_keyring first, then rotate",
                )
            ]
        )
    if not (n.token_file or n.token_keyring):
        raise ConfigError(
            [
                ConfigProblem(
                    "notion.token_env",
                    f"the token comes from the environment variable {n.token_env}; set {n.token_env} "
                    "to the new token where it is defined (crontab, systemd unit, CI secret), or switch to token_file "
                    "so that `token rotate` can store it",
                )
            ]
        )


def read_new_token(path: Path) -> str:
    """The new token from ``--from-file``; a ``ConfigError`` naming the file if it cannot be read."""
    path = path.expanduser()
    try:
        return path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise ConfigError(f"--from-file {path}: the file does not exist") from None
    except IsADirectoryError:
        raise ConfigError(f"--from-file {path}: this is a directory; give the file holding the token") from None
    except UnicodeDecodeError:
        raise ConfigError(f"--from-file {path}: the file is not UTF-8 text; it should hold only the token") from None
    except OSError as exc:
        raise ConfigError(f"--from-file {path}: the file cannot be read ({exc.strerror})") from None


def rotate_token(config: Config, raw_new: str) -> RotationResult:
    """Verify ``raw_new`` and store it where the config reads the token from."""
    n = config.notion
    check_rotatable(config)
    REDACTOR.register(raw_new)
    value, notes = clean_secret(raw_new)
    if not value:
        raise ConfigError("the new token is empty")
    REDACTOR.register(value)
    check_secret(value, "the new token", "the input")
    new = Secret(value, "rotation", tuple(notes))

    from notion_sync.core.engine import notion_token

    old: Secret | None
    try:
        old = notion_token(config)
    except ConfigError:
        old = None
    if old is not None and old.reveal() == value:
        raise ConfigError("the new token is the same as the current one: regenerate it on the integration's page first")

    state = StateStore.open(config.state_location)
    try:
        expected: str | None = None
        if old is not None:
            source = _source(config, old)
            try:
                expected = _identity(source.me())
            except AccessError:
                expected = None  # the old token was already revoked: the leak runbook does that first
            finally:
                source.close()
        expected = expected or state.token_identity("notion")

        source = _source(config, new)
        try:
            try:
                me = source.me()
            except NotionSyncError as exc:
                raise AccessError(f"the new token {new.fingerprint} does not work: {exc}") from None
            identity = _identity(me)
            if expected and identity != expected:
                raise AccessError(
                    f'the new token belongs to another integration or workspace ("{source.bot_name}"); '
                    "copy the secret of the same integration"
                )
            missing = []
            for m in config.mappings:
                try:
                    source.resolve(m.config.database, m.config.data_source, mapping=m.name)
                except NotionSyncError as exc:
                    missing.append(f"{m.name}: {exc}")
            if missing:
                raise AccessError(
                    "the new token cannot reach every mapped database, so nothing was changed:\n  "
                    + "\n  ".join(missing)
                )
        finally:
            source.close()

        if n.token_keyring:
            write_keyring(n.token_keyring, value, "notion.token")
            stored = f"keyring entry {n.token_keyring}"
        else:
            assert n.token_file is not None
            path = config.resolve_path(n.token_file)
            through_link = path.is_symlink()
            try:
                written = write_secret_file(path, value)
            except OSError as exc:
                raise ConfigError(
                    [
                        ConfigProblem(
                            "notion.token_file",
                            f"the new token {new.fingerprint} works, but it cannot be written to {path} "
                            f"({exc.strerror}); nothing was changed: make {path.parent} writable, or set "
                            "token_file to a writable place, and rotate again",
                        )
                    ]
                ) from None
            stored = f"{written} (through the link {path})" if through_link else str(path)
        if old is not None:
            state.retire_token("notion", old.fingerprint)
        state.set_token_identity("notion", new.fingerprint, identity)
    finally:
        state.close()
    return RotationResult(old.fingerprint if old else None, new.fingerprint, stored, tuple(notes))
