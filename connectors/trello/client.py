"""Building the py-trello client: the key and token, and a paced ``requests`` session (the
transport) that can point at another base URL.

py-trello builds every URL as ``https://api.trello.com/1/<path>`` and sends it through
``http_service.request(method, url, ...)``; that call is the seam. ``TrelloTransport``

* rewrites the prefix to ``base_url`` (an emulator in tests);
* moves the ``key`` and ``token`` query parameters py-trello adds into Trello's
  ``Authorization: OAuth oauth_consumer_key="...", oauth_token="..."`` header, so
  credentials never appear in URLs (urllib3's debug log, proxies' access logs);
* waits on a ``Pacer`` before each request, to stay under 100 requests per 10 s per token.
"""

from __future__ import annotations

import threading
from typing import Any

import requests
from trello import TrelloClient

from notion_sync.sdk import Pacer, Secret, secret_setting

from .settings import TRELLO_BASE_URL, TrelloSettings

__all__ = ["TrelloTransport", "build_client", "credentials", "pacer_for"]

_PACERS: dict[tuple[str, str, int, float], Pacer] = {}
_PACERS_LOCK = threading.Lock()


def pacer_for(base_url: str, token: Secret, limit: int, window: float) -> Pacer:
    """The process-wide pacer of one token: every connector instance using it shares the budget."""
    key = (base_url, token.fingerprint, limit, window)
    with _PACERS_LOCK:
        if key not in _PACERS:
            _PACERS[key] = Pacer(limit, window)
        return _PACERS[key]


class TrelloTransport:
    """The ``http_service`` given to py-trello: rewrites the base URL, paces, sets a timeout."""

    def __init__(self, base_url: str, pacer: Pacer, *, timeout: float = 30.0, pace_key: str = "") -> None:
        self.base_url = base_url.rstrip("/")
        self.pacer = pacer
        self.pace_key = pace_key
        self.timeout = timeout
        self.session = requests.Session()
        self.sent = 0
        """Requests sent, for tests and benchmarks."""

    def request(self, method: str, url: str, **kwargs: Any) -> requests.Response:
        """Send one request, as ``requests.request`` would, to ``base_url`` instead of Trello's."""
        if url.startswith(TRELLO_BASE_URL):
            url = self.base_url + url[len(TRELLO_BASE_URL) :]
        params = dict(kwargs.pop("params", None) or {})
        key, token = params.pop("key", None), params.pop("token", None)
        if key is not None and token is not None:
            headers = dict(kwargs.pop("headers", None) or {})
            headers["Authorization"] = f'OAuth oauth_consumer_key="{key}", oauth_token="{token}"'
            kwargs["headers"] = headers
        kwargs["params"] = params
        kwargs.setdefault("timeout", self.timeout)
        self.pacer.wait(self.pace_key)
        self.sent += 1
        return self.session.request(method, url, **kwargs)

    def post(self, url: str, **kwargs: Any) -> requests.Response:
        """py-trello's webhook call uses ``http_service.post``; route it the same way."""
        return self.request("POST", url, **kwargs)

    def close(self) -> None:
        self.session.close()


def credentials(settings: TrelloSettings) -> tuple[Secret, Secret]:
    """The API key and token, from the ``[trello]`` table's ``*_env``/``*_file`` keys or their defaults."""
    key = secret_setting(settings, "api_key", "trello.api_key", default_env="TRELLO_API_KEY")
    token = secret_setting(settings, "token", "trello.token", default_env="TRELLO_TOKEN")
    return key, token


def build_client(key: Secret, token: Secret, transport: TrelloTransport) -> TrelloClient:
    """A py-trello client sending key and token as query parameters (not OAuth1 signing)."""
    return TrelloClient(api_key=key.reveal(), api_secret=token.reveal(), http_service=transport)
