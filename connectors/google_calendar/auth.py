"""``notion-sync auth google``: authorize once as a person, without a service account.

Runs Google's installed-app OAuth flow (a browser window and a redirect to a
local port) for the ``calendar.events`` scope, and stores the authorized-user JSON
(with its refresh token) in a file only this user can read. Point
``[google_calendar] credentials_file`` at that file.
"""

from __future__ import annotations

import json
import os
from collections.abc import Callable
from pathlib import Path
from typing import Any

from notion_sync.sdk import AccessError, ConfigError, ConfigProblem

from .client import SCOPES

__all__ = ["authorize", "store_credentials"]


def store_credentials(credentials_json: str, store: Path) -> Path:
    """Write an authorized-user JSON to ``store`` with mode 0600 (its folder 0700 if created).

    The file is created with the right mode from the start, so the token is never
    readable by others, not even for a moment; an existing file is tightened first.
    """
    store = store.expanduser()
    store.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
    if store.exists():
        os.chmod(store, 0o600)
    descriptor = os.open(store, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(descriptor, "w", encoding="utf-8") as handle:
        handle.write(credentials_json)
    os.chmod(store, 0o600)
    return store


def _run_installed_app_flow(client_secrets: Path) -> Any:
    from google_auth_oauthlib.flow import InstalledAppFlow

    flow = InstalledAppFlow.from_client_secrets_file(str(client_secrets), scopes=SCOPES)
    return flow.run_local_server(
        port=0,
        open_browser=True,
        authorization_prompt_message="Open this URL to authorize notion-sync: {url}",
        success_message="notion-sync is authorized; you can close this window.",
    )


def authorize(client_secrets: Path, store: Path, *, run_flow: Callable[[Path], Any] = _run_installed_app_flow) -> Path:
    """Authorize notion-sync for one Google account and store its credentials at ``store``.

    ``client_secrets`` is the OAuth client (type "Desktop app") downloaded from the
    Google Cloud console. Returns the path written. ``run_flow`` exists for tests.
    """
    client_secrets = client_secrets.expanduser()
    try:
        data = json.loads(client_secrets.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise ConfigError([ConfigProblem("--client-secrets", f"{client_secrets} does not exist")]) from None
    except (OSError, ValueError):
        raise ConfigError([ConfigProblem("--client-secrets", f"{client_secrets} is not a JSON file")]) from None
    if not isinstance(data, dict) or "installed" not in data:
        raise ConfigError(
            [
                ConfigProblem(
                    "--client-secrets",
                    f"{client_secrets} is not a desktop OAuth client; in the Google Cloud console create "
                    "an OAuth client ID of type 'Desktop app' and download its JSON",
                )
            ]
        )
    try:
        credentials = run_flow(client_secrets)
    except Exception as exc:  # noqa: BLE001 - oauthlib raises many kinds; none may carry a secret to the user
        raise AccessError(
            f"Google authorization failed ({type(exc).__name__}). Fix: run the command again "
            "and accept the consent screen with the account that owns the calendar"
        ) from None
    if not getattr(credentials, "refresh_token", None):
        raise AccessError(
            "Google gave no refresh token. Fix: remove notion-sync's access at "
            "https://myaccount.google.com/permissions and run the command again"
        )
    return store_credentials(credentials.to_json(), store)
