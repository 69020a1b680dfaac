"""Building the py-trello client: the key and token, and a paced ``requests`` session (the
transport) that can point at another base URL.

py-trello builds every URL as ``https://api.trello.com/1/<path>`` and sends it through
``http_service.request(method, url, ...)``; that call is the seam. ``TrelloTransport``

* rewrites the prefix to ``base_url`` (an emulator in tests);
* moves the ``key`` and ``token`` query parameters py-trello adds into Trello's
  ``Authorization: OAuth oauth_consumer_key="...", oauth_token="..."`` header, so
  credentials never appear in URLs (urllib3's debug log, proxies' access logs). The header is
  set by the request's ``auth`` (``TrelloAuth``), not by hand: ``requests`` would otherwise
  replace it with Basic auth from a ``~/.netrc`` entry for the host;
* waits on two pacers before each request, to stay under 100 requests per 10 s per token
  and 300 per API key (every token under the key spends from that one);
* reads Trello's ``x-rate-limit-api-{token,key}-remaining`` headers, which count what every
  process spent: when a window is spent it holds that window's pacer for its
  ``-interval-ms``, and a 429 (Trello sends no Retry-After) is sent again once the window
  has passed, so no item fails on a limit that waiting clears.
"""

from __future__ import annotations

import threading
from typing import Any

import requests
from trello import TrelloClient

from notion_sync.sdk import Pace, Secret, secret_setting

from .settings import TRELLO_BASE_URL, TrelloSettings

__all__ = ["TrelloTransport", "build_client", "credentials", "spent_windows"]

TRELLO_WINDOW = 10.0
"""Trello's rate-limit window in seconds, when a 429 comes without the headers that say it."""


class TrelloAuth(requests.auth.AuthBase):
    """Trello's ``Authorization: OAuth`` header, as a request's ``auth``."""

    def __init__(self, key: str, token: str) -> None:
        self.header = f'OAuth oauth_consumer_key="{key}", oauth_token="{token}"'

    def __call__(self, request: requests.PreparedRequest) -> requests.PreparedRequest:
        request.headers["Authorization"] = self.header
        return request


def spent_windows(response: requests.Response) -> dict[str, float]:
    """The windows the reply says are spent (``"token"``, ``"key"``), each with how long to wait
    in seconds: its ``-remaining`` header is 0; a 429 without those headers is taken as the
    token's. Empty when there is room left (a 429 then backs off as usual)."""
    spent = {
        kind: int(response.headers.get(f"x-rate-limit-api-{kind}-interval-ms", TRELLO_WINDOW * 1000)) / 1000
        for kind in ("token", "key")
        if response.headers.get(f"x-rate-limit-api-{kind}-remaining", "").strip() == "0"
    }
    has_headers = any(h.startswith("x-rate-limit-api-") for h in response.headers)
    if response.status_code == 429 and not has_headers:
        spent["token"] = TRELLO_WINDOW
    return spent


class TrelloTransport:
    """The ``http_service`` given to py-trello: rewrites the base URL, paces, sets a timeout.

    ``pacer``/``pace_key`` pace the token; ``key_pacer``/``key_pace_key``, when given, the API key.

    Safe to use from several threads (the connector's concurrent writes): each thread has its own
    ``requests`` session, and they all wait on the same pacers."""

    limit_retries: int = 3
    """How many times a 429 for a spent window is sent again (each after the window's wait)."""

    def __init__(
        self,
        base_url: str,
        pacer: Pace,
        *,
        timeout: float = 30.0,
        pace_key: str = "",
        key_pacer: Pace | None = None,
        key_pace_key: str = "",
    ) -> None:
        self.base_url = base_url.rstrip("/")
        self.pacer = pacer
        self.pace_key = pace_key
        self.budgets: dict[str, tuple[Pace, str]] = {"token": (pacer, pace_key)}
        if key_pacer is not None:
            # The key first: with several tokens under one key it is the one that makes us wait,
            # so the token's slot is counted just before the request goes.
            self.budgets = {"key": (key_pacer, key_pace_key), **self.budgets}
        self.timeout = timeout
        self._local = threading.local()
        self._sessions: list[requests.Session] = []
        self._lock = threading.Lock()
        self.sent = 0
        """Requests sent, for tests and benchmarks."""

    @property
    def session(self) -> requests.Session:
        """This thread's session (``requests`` does not promise that one is safe across threads)."""
        session: requests.Session | None = getattr(self._local, "session", None)
        if session is None:
            session = self._local.session = requests.Session()
            with self._lock:
                self._sessions.append(session)
        return session

    def request(self, method: str, url: str, **kwargs: Any) -> requests.Response:
        """Send one request, as ``requests.request`` would, to ``base_url`` instead of Trello's."""
        if url.startswith(TRELLO_BASE_URL):
            url = self.base_url + url[len(TRELLO_BASE_URL) :]
        params = dict(kwargs.pop("params", None) or {})
        key, token = params.pop("key", None), params.pop("token", None)
        if key is not None and token is not None:
            kwargs["auth"] = TrelloAuth(key, token)
        kwargs["params"] = params
        kwargs.setdefault("timeout", self.timeout)
        attempt = 0
        while True:
            for pacer, budget in self.budgets.values():
                pacer.wait(budget)
            with self._lock:
                self.sent += 1
            response = self.session.request(method, url, **kwargs)
            spent = spent_windows(response)
            for kind, wait in spent.items():
                pacer, budget = self.budgets.get(kind, self.budgets["token"])
                pacer.hold(budget, wait)
            # A 429 is refused before any work, so sending it again cannot duplicate a write.
            if response.status_code != 429 or not spent or attempt >= self.limit_retries:
                return response
            attempt += 1

    def post(self, url: str, **kwargs: Any) -> requests.Response:
        """py-trello's webhook call uses ``http_service.post``; route it the same way."""
        return self.request("POST", url, **kwargs)

    def close(self) -> None:
        """Close every thread's session."""
        with self._lock:
            sessions, self._sessions = self._sessions, []
        for session in sessions:
            session.close()


def credentials(settings: TrelloSettings) -> tuple[Secret, Secret]:
    """The API key and token, from the ``[trello]`` table's ``*_env``/``*_file`` keys or their defaults."""
    key = secret_setting(settings, "api_key", "trello.api_key", default_env="TRELLO_API_KEY")
    token = secret_setting(settings, "token", "trello.token", default_env="TRELLO_TOKEN")
    return key, token


def build_client(key: Secret, token: Secret, transport: TrelloTransport) -> TrelloClient:
    """A py-trello client sending key and token as query parameters (not OAuth1 signing)."""
    return TrelloClient(api_key=key.reveal(), api_secret=token.reveal(), http_service=transport)
