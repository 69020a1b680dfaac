"""``notion-sync auth google``: the command, found through the ``notion_sync.auth`` entry point."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from .auth import authorize

__all__ = ["app", "DEFAULT_STORE"]

DEFAULT_STORE = Path("~/.config/notion-sync/google-authorized-user.json")

app = typer.Typer(add_completion=False, rich_markup_mode=None)


@app.command()
def google(
    client_secrets: Annotated[
        Path,
        typer.Option(
            "--client-secrets", help="the OAuth client JSON (type 'Desktop app') from the Google Cloud console"
        ),
    ],
    store: Annotated[Path, typer.Option(help="where to write the authorized-user file (mode 600)")] = DEFAULT_STORE,
) -> None:
    """Authorize notion-sync for your own Google account (no service account needed)."""
    path = authorize(client_secrets, store)
    print(f"authorized; credentials stored in {path} (mode 600)")
    print(f'set [google_calendar] credentials_file = "{path}" in notion-sync.toml')
