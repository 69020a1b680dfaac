"""Credentials: service account (with subject), authorized user, emulator-anonymous; the auth helper;
and no secret ever shown."""

from __future__ import annotations

import json
import os
import stat
from pathlib import Path
from typing import Any

import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa

from notion_sync.connectors.google_calendar.auth import authorize, store_credentials
from notion_sync.connectors.google_calendar.client import SCOPES, endpoints
from notion_sync.connectors.google_calendar.connector import GoogleCalendarConnector
from notion_sync.connectors.google_calendar.emulator import GoogleCalendarEmulator
from notion_sync.connectors.google_calendar.settings import GoogleCalendarSettings
from notion_sync.core.errors import AccessError, ConfigError
from tests.support.failure_cases import assert_clean_failure

from .conftest import CALENDAR, MakeMapping, desired, make_row

REFRESH_TOKEN = "1//0refresh-token-that-must-never-show"


def _pem() -> str:
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    return key.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    ).decode()


@pytest.fixture(scope="module")
def pem() -> str:
    return _pem()


def write_secret(path: Path, data: dict[str, Any], mode: int = 0o600) -> Path:
    path.write_text(json.dumps(data), encoding="utf-8")
    os.chmod(path, mode)
    return path


def service_account(tmp_path: Path, emulator: GoogleCalendarEmulator, pem: str) -> Path:
    return write_secret(
        tmp_path / "sa.json",
        {
            "type": "service_account",
            "project_id": "p",
            "private_key_id": "k1",
            "private_key": pem,
            "client_email": "notion-sync@p.iam.gserviceaccount.com",
            "client_id": "1",
            "token_uri": f"{emulator.url}/token",
        },
    )


ACCESS_TOKEN = "ya29.a-valid-access-token"


def authorized_user(tmp_path: Path, emulator: GoogleCalendarEmulator) -> Path:
    # google-auth always refreshes user tokens at Google (it ignores token_uri on purpose), so the
    # file carries a still-valid access token, as one does right after `notion-sync auth google`.
    return write_secret(
        tmp_path / "user.json",
        {
            "type": "authorized_user",
            "client_id": "cid.apps.googleusercontent.com",
            "client_secret": "GOCSPX-secret",
            "refresh_token": REFRESH_TOKEN,
            "token": ACCESS_TOKEN,
            "expiry": "2999-01-01T00:00:00Z",
        },
    )


def test_endpoints() -> None:
    assert endpoints(None) == (
        "https://www.googleapis.com/calendar/v3/",
        "https://www.googleapis.com/batch/calendar/v3",
    )
    assert endpoints("http://127.0.0.1:5/") == (
        "http://127.0.0.1:5/calendar/v3/",
        "http://127.0.0.1:5/batch/calendar/v3",
    )
    assert endpoints("http://127.0.0.1:5/calendar/v3") == (
        "http://127.0.0.1:5/calendar/v3/",
        "http://127.0.0.1:5/batch/calendar/v3",
    )


def test_service_account_gets_a_token_and_writes(tmp_path, emulator, pem, make_mapping: MakeMapping) -> None:
    emulator.tokens = set()  # only tokens from /token are accepted
    conn = GoogleCalendarConnector(
        GoogleCalendarSettings(
            credentials_file=service_account(tmp_path, emulator, pem), api_endpoint=emulator.api_endpoint
        )
    )
    mapping = make_mapping()
    conn.prepare(mapping)
    conn.create(desired(conn, make_row("SA"), mapping), mapping)
    assert [e["summary"] for e in emulator.events(CALENDAR)] == ["SA"]
    assert emulator.grants[0]["grant_type"] == "urn:ietf:params:oauth:grant-type:jwt-bearer"
    assert conn.client.identity == "notion-sync@p.iam.gserviceaccount.com"
    assert conn.client.service._http.credentials.scopes == SCOPES


def test_service_account_with_subject(tmp_path, emulator, pem) -> None:
    conn = GoogleCalendarConnector(
        GoogleCalendarSettings(
            credentials_file=service_account(tmp_path, emulator, pem),
            subject="ann@example.com",
            api_endpoint=emulator.api_endpoint,
        )
    )
    assert conn.client.identity.startswith("ann@example.com")
    assert conn.client.service._http.credentials._subject == "ann@example.com"


def test_authorized_user_writes_with_its_token(tmp_path, emulator, make_mapping: MakeMapping) -> None:
    emulator.tokens = {ACCESS_TOKEN}
    conn = GoogleCalendarConnector(
        GoogleCalendarSettings(credentials_file=authorized_user(tmp_path, emulator), api_endpoint=emulator.api_endpoint)
    )
    mapping = make_mapping()
    conn.prepare(mapping)
    conn.create(desired(conn, make_row("Me"), mapping), mapping)
    assert len(emulator.events(CALENDAR)) == 1
    assert "notion-sync auth google" in conn.client.identity


def test_rejected_token_is_an_access_error_without_secrets(tmp_path, emulator, pem, make_mapping) -> None:
    emulator.tokens = set()
    emulator.revoked = True  # the service account's JWT grant is refused: invalid_grant
    conn = GoogleCalendarConnector(
        GoogleCalendarSettings(
            credentials_file=service_account(tmp_path, emulator, pem), api_endpoint=emulator.api_endpoint
        )
    )
    with pytest.raises(AccessError, match="Fix:") as info:
        conn.prepare(make_mapping())
    assert "PRIVATE KEY" not in str(info.value) and pem[40:80] not in str(info.value)
    (result,) = conn.check(make_mapping())
    assert not result.ok and result.access and "PRIVATE KEY" not in result.detail + result.fix


def test_refused_refresh_is_an_access_error_naming_the_fix() -> None:
    from google.auth.exceptions import RefreshError

    from notion_sync.connectors.google_calendar.errors import classify

    error = classify(RefreshError("invalid_grant: Token has been expired or revoked.", {"error": "invalid_grant"}))
    assert isinstance(error, AccessError) and "notion-sync auth google" in str(error)


def test_secrets_in_the_file_are_registered_for_redaction(tmp_path, emulator) -> None:
    from notion_sync.core.secrets import REDACTOR

    conn = GoogleCalendarConnector(
        GoogleCalendarSettings(credentials_file=authorized_user(tmp_path, emulator), api_endpoint=emulator.api_endpoint)
    )
    conn.client  # noqa: B018
    text = REDACTOR.redact(f"oops {REFRESH_TOKEN} and GOCSPX-secret and {ACCESS_TOKEN}")
    assert REFRESH_TOKEN not in text and "GOCSPX-secret" not in text and ACCESS_TOKEN not in text


@pytest.mark.failure_case("Google credentials file readable by others", "config error with the chmod 600", 2)
def test_readable_credentials_file_is_refused(tmp_path, emulator) -> None:
    path = authorized_user(tmp_path, emulator)
    os.chmod(path, 0o644)
    conn = GoogleCalendarConnector(GoogleCalendarSettings(credentials_file=path))
    with pytest.raises(ConfigError) as info:
        conn.client  # noqa: B018
    assert_clean_failure(info.value, 2, "chmod 600")


@pytest.mark.parametrize(
    ("data", "message"),
    [
        pytest.param(
            {"type": "external_account"},
            "service-account key",
            marks=pytest.mark.failure_case(
                "Google credentials of an unsupported type", "config error: the two kinds", 2
            ),
        ),
        pytest.param(
            {"type": "service_account", "private_key": "-----BEGIN"},
            "incomplete",
            marks=pytest.mark.failure_case("incomplete service-account key", "config error naming missing fields", 2),
        ),
        pytest.param(
            {"type": "authorized_user", "refresh_token": REFRESH_TOKEN},
            "incomplete",
            marks=pytest.mark.failure_case("incomplete authorized-user file", "config error, no secret shown", 2),
        ),
    ],
)
def test_wrong_credentials_files_name_the_key(tmp_path, data, message) -> None:
    path = write_secret(tmp_path / "c.json", data)
    conn = GoogleCalendarConnector(GoogleCalendarSettings(credentials_file=path))
    with pytest.raises(ConfigError, match=message) as info:
        conn.client  # noqa: B018
    assert_clean_failure(info.value, 2)
    assert "google_calendar.credentials_file" in str(info.value)
    assert REFRESH_TOKEN not in str(info.value)


@pytest.mark.failure_case("Google subject with an authorized-user file", "config error: remove subject", 2)
def test_subject_with_a_user_file_is_refused(tmp_path, emulator) -> None:
    conn = GoogleCalendarConnector(
        GoogleCalendarSettings(credentials_file=authorized_user(tmp_path, emulator), subject="x@example.com")
    )
    with pytest.raises(ConfigError) as info:
        conn.client  # noqa: B018
    assert_clean_failure(info.value, 2, "google_calendar.subject")


# -- notion-sync auth google ------------------------------------------------------------------
class _FakeUserCredentials:
    refresh_token = REFRESH_TOKEN

    def to_json(self) -> str:
        return json.dumps({"type": "authorized_user", "refresh_token": self.refresh_token})


def client_secrets(tmp_path: Path) -> Path:
    path = tmp_path / "client_secret.json"
    path.write_text(
        json.dumps(
            {
                "installed": {
                    "client_id": "cid",
                    "client_secret": "s",
                    "auth_uri": "https://accounts.google.com/o/oauth2/auth",
                    "token_uri": "https://oauth2.googleapis.com/token",
                    "redirect_uris": ["http://localhost"],
                }
            }
        )
    )
    return path


def test_authorize_stores_the_token_for_this_user_only(tmp_path) -> None:
    store = tmp_path / "config" / "notion-sync" / "google.json"
    written = authorize(client_secrets(tmp_path), store, run_flow=lambda _: _FakeUserCredentials())
    assert written == store
    assert stat.S_IMODE(store.stat().st_mode) == 0o600
    assert stat.S_IMODE(store.parent.stat().st_mode) == 0o700
    assert json.loads(store.read_text())["refresh_token"] == REFRESH_TOKEN


def test_store_tightens_an_existing_file(tmp_path) -> None:
    store = tmp_path / "google.json"
    store.write_text("old")
    os.chmod(store, 0o644)
    store_credentials("{}", store)
    assert stat.S_IMODE(store.stat().st_mode) == 0o600 and store.read_text() == "{}"


def test_authorize_rejects_a_web_client(tmp_path) -> None:
    path = tmp_path / "web.json"
    path.write_text(json.dumps({"web": {"client_id": "x"}}))
    with pytest.raises(ConfigError, match="Desktop app"):
        authorize(path, tmp_path / "out.json", run_flow=lambda _: _FakeUserCredentials())
    with pytest.raises(ConfigError, match="does not exist"):
        authorize(tmp_path / "nope.json", tmp_path / "out.json")


def test_authorize_failure_is_clear(tmp_path) -> None:
    def boom(_: Path) -> Any:
        raise RuntimeError(f"access_denied {REFRESH_TOKEN}")

    with pytest.raises(AccessError, match="authorization failed") as info:
        authorize(client_secrets(tmp_path), tmp_path / "out.json", run_flow=boom)
    assert REFRESH_TOKEN not in str(info.value)
    assert not (tmp_path / "out.json").exists()


@pytest.mark.failure_case(
    "Google OAuth client-secrets file as credentials_file", "config error: run `notion-sync auth google`", 2
)
@pytest.mark.parametrize("kind", ["installed", "web"])
def test_a_client_secrets_file_points_at_auth_google(tmp_path, kind) -> None:
    client = {"client_id": "123.apps.googleusercontent.com", "client_secret": "GOCSPX-client-secret-value"}
    path = write_secret(tmp_path / "client_secret.json", {kind: client})
    conn = GoogleCalendarConnector(GoogleCalendarSettings(credentials_file=path))
    with pytest.raises(ConfigError) as info:
        conn.client  # noqa: B018
    text = assert_clean_failure(info.value, 2, "is an OAuth client-secrets file")
    assert f"notion-sync auth google --client-secrets {path}" in text
    assert "has type None" not in text and "GOCSPX-client-secret-value" not in text
