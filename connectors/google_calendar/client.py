"""Building the Calendar API client: credentials, scope and endpoint."""

from __future__ import annotations

import json
import os
import stat
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from google.auth.credentials import AnonymousCredentials, Credentials
from googleapiclient.discovery import build

from notion_sync.sdk import REDACTOR, ConfigError, ConfigProblem, config_relative

from .settings import GOOGLE_API_ENDPOINT, GoogleCalendarSettings

__all__ = ["SCOPES", "CalendarClient", "build_client", "endpoints", "load_credentials"]

SCOPES = ["https://www.googleapis.com/auth/calendar.events"]
SECRET_KEYS = ("private_key", "refresh_token", "client_secret", "token")
"""Fields of a credentials file that are secrets."""
"""The narrowest scope that can write events (no calendar or ACL access)."""


@dataclass
class CalendarClient:
    """A built ``calendar v3`` service, where its batch endpoint is, and who it acts as."""

    service: Any
    batch_uri: str
    identity: str
    """Who Google sees, in words for fixes: a service account's email, "the Google account ..."."""
    events: Any = field(init=False, repr=False)
    """The service's ``events()`` collection, built once: each ``service.events()`` builds a new
    resource from the discovery document (about 1 ms of CPU, more than the rest of a call)."""

    def __post_init__(self) -> None:
        self.events = self.service.events()


def endpoints(api_endpoint: str | None) -> tuple[str, str]:
    """(``api_endpoint`` for the client, the batch URI) for a configured endpoint.

    A bare ``http://host:port`` gets ``/calendar/v3/`` appended; the batch URI is
    always ``<scheme://host>/batch/calendar/v3`` (``new_batch_http_request`` would
    ignore the endpoint and post to Google).
    """
    base = api_endpoint or GOOGLE_API_ENDPOINT
    parts = urlsplit(base)
    path = parts.path.rstrip("/")
    if not path.endswith("/calendar/v3"):
        path = f"{path}/calendar/v3"
    origin = f"{parts.scheme}://{parts.netloc}"
    prefix = path[: -len("/calendar/v3")]
    return f"{origin}{path}/", f"{origin}{prefix}/batch/calendar/v3"


def _read_credentials_file(path: Path, base_dir: Path | None) -> dict[str, Any]:
    where = "google_calendar.credentials_file"
    path = config_relative(path, base_dir)
    try:
        info = path.stat()
    except FileNotFoundError:
        raise ConfigError([ConfigProblem(where, f"the file {path} does not exist")]) from None
    if os.name == "posix" and info.st_mode & (stat.S_IRWXG | stat.S_IRWXO):
        raise ConfigError(
            [
                ConfigProblem(
                    where, f"{path} holds a private key or token and other users can read it; run: chmod 600 {path}"
                )
            ]
        )
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError) as exc:
        problem = f"{path} is not a JSON credentials file ({type(exc).__name__})"
        raise ConfigError([ConfigProblem(where, problem)]) from None
    if not isinstance(data, dict):
        raise ConfigError([ConfigProblem(where, f"{path} is not a JSON credentials file")])
    for key in SECRET_KEYS:
        # Scrubbed from every log line and message from now on, should a library ever echo one.
        if isinstance(data.get(key), str):
            REDACTOR.register(data[key])
    return data


def load_credentials(settings: GoogleCalendarSettings) -> tuple[Credentials, str]:
    """The credentials to use and, in words, who they act as.

    No ``credentials_file`` with an ``api_endpoint`` (an emulator) means anonymous
    credentials. Otherwise the file is a service-account key (``subject`` for
    domain-wide delegation) or an authorized-user file.
    """
    where = "google_calendar.credentials_file"
    if settings.credentials_file is None:
        if settings.api_endpoint is None:
            raise ConfigError([ConfigProblem(where, "set it to a service-account key or an authorized-user file")])
        return AnonymousCredentials(), "the emulator's anonymous caller"  # type: ignore[no-untyped-call]
    data = _read_credentials_file(settings.credentials_file, settings.base_dir)
    kind = data.get("type")
    try:
        if kind == "service_account":
            from google.oauth2 import service_account

            creds: Credentials = service_account.Credentials.from_service_account_info(  # type: ignore[no-untyped-call]
                data, scopes=SCOPES
            )
            email = str(data.get("client_email", "the service account"))
            if settings.subject:
                creds = creds.with_subject(settings.subject)  # type: ignore[attr-defined]
                return creds, f"{settings.subject} (acting through {email})"
            return creds, email
        if kind == "authorized_user":
            from google.oauth2.credentials import Credentials as UserCredentials

            if settings.subject:
                raise ConfigError(
                    [
                        ConfigProblem(
                            "google_calendar.subject", "subject only works with a service-account key; remove it"
                        )
                    ]
                )
            return (
                UserCredentials.from_authorized_user_info(data, scopes=SCOPES),  # type: ignore[no-untyped-call]
                "the Google account you authorized with `notion-sync auth google`",
            )
    except ValueError as exc:
        # The library names the missing fields, never their values.
        raise ConfigError([ConfigProblem(where, f"{settings.credentials_file} is incomplete: {exc}")]) from None
    client = next((data[k] for k in ("installed", "web") if isinstance(data.get(k), dict)), None)
    if kind is None and client is not None and "client_id" in client:
        # The OAuth client downloaded from the Cloud console: what `auth google` takes, not credentials.
        raise ConfigError(
            [
                ConfigProblem(
                    where,
                    f"{settings.credentials_file} is an OAuth client-secrets file, not credentials: run "
                    f"`notion-sync auth google --client-secrets {settings.credentials_file}` once, then set "
                    "credentials_file to the authorized-user file it writes "
                    "(~/.config/notion-sync/google-authorized-user.json by default)",
                )
            ]
        )
    raise ConfigError(
        [
            ConfigProblem(
                where,
                f"{settings.credentials_file} has type {kind!r}; use a service-account key (type service_account) "
                "or the authorized-user file written by `notion-sync auth google`",
            )
        ]
    )


def build_client(settings: GoogleCalendarSettings) -> CalendarClient:
    """Build the Calendar service from the discovery document shipped with the library (no network)."""
    credentials, identity = load_credentials(settings)
    api_endpoint, batch_uri = endpoints(settings.api_endpoint)
    options = {"api_endpoint": api_endpoint} if settings.api_endpoint else None
    service = build(
        "calendar", "v3", credentials=credentials, client_options=options, static_discovery=True, cache_discovery=False
    )
    return CalendarClient(service, batch_uri, identity)
