"""The settings of the Trello connector: the ``[trello]`` table and the keys of a mapping."""

from __future__ import annotations

from typing import Any, Literal
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from notion_sync.sdk import (
    MappingSettings,
    PropertyRef,
    Question,
    ServiceSettings,
    Starter,
    Template,
    first_property,
    option_names,
    title_property,
)

__all__ = ["CardFields", "TrelloMapping", "TrelloSettings", "TRELLO_BASE_URL", "starter"]

TRELLO_BASE_URL = "https://api.trello.com/1"


class TrelloSettings(ServiceSettings):
    """The ``[trello]`` table: where the API key and token come from, and where Trello is.

    With neither ``api_key_env`` nor ``api_key_file``, the key is read from
    ``TRELLO_API_KEY``; likewise the token from ``TRELLO_TOKEN``.
    """

    api_key_env: str | None = None
    """Environment variable holding the API key (default ``TRELLO_API_KEY``)."""
    api_key_file: str | None = None
    """File (mode 600) holding the API key; relative to the config file."""
    api_key_keyring: str | None = None
    """OS keyring entry ``service/name`` holding the API key."""
    api_key: str | None = None
    """The API key itself: works, with a warning on every run."""
    token_env: str | None = None
    """Environment variable holding the token (default ``TRELLO_TOKEN``)."""
    token_file: str | None = None
    """File (mode 600) holding the token; relative to the config file."""
    token_keyring: str | None = None
    """OS keyring entry ``service/name`` holding the token."""
    token: str | None = None
    """The token itself: works, with a warning on every run."""
    base_url: str = TRELLO_BASE_URL
    rate_limit: int = Field(90, ge=1)
    """Requests sent per ``rate_window`` seconds per token. Trello allows 100 per 10 s; the
    default leaves 10% for clock skew between us and Trello and for other uses of the token."""
    key_rate_limit: int = Field(270, ge=1)
    """Requests sent per ``rate_window`` seconds per API key, by every token under it (other
    configs' tokens, and the fleet's workers, with ``[celery]``). Trello allows 300 per 10 s;
    the default leaves 10%, as ``rate_limit`` does."""
    rate_window: float = Field(10.0, gt=0)
    """Seconds of the window ``rate_limit`` and ``key_rate_limit`` count in (Trello's is 10)."""
    concurrent_writes: int = Field(4, ge=1, le=16)
    """Card writes in flight at once, all under the same pacing: one request at a time is bound
    by Trello's latency, not its rate limit. 1 writes one card after another, in row order.
    Trello counts a request when it arrives, so the margin ``rate_limit`` and ``key_rate_limit``
    keep under Trello's budgets (10 and 30 by default) should exceed the writes in flight at once:
    ``concurrent_writes`` × the processes sharing a token or key."""
    timeout: float = Field(30.0, gt=0)
    """Seconds to wait for one HTTP reply."""

    @field_validator("base_url")
    @classmethod
    def _strip_slash(cls, value: str) -> str:
        if not value.startswith(("http://", "https://")):
            raise ValueError(f"base_url must start with https:// (got {value!r}); the default is {TRELLO_BASE_URL}")
        return value.rstrip("/")


class CardFields(BaseModel):
    """What each card is made of. Templates take ``{Property}``, ``{url}`` and ``{id}``."""

    model_config = ConfigDict(extra="forbid")

    name: Template = "{Name}"
    desc: Template = ""
    due: PropertyRef(("date", "formula", "rollup")) | None = None  # type: ignore[valid-type]
    """A date property: a range sets the card's start and due; a date without a time is
    due at the end of that day in the mapping's ``time_zone``."""
    due_complete: PropertyRef(("checkbox", "status", "select", "formula")) | None = None  # type: ignore[valid-type]
    """A checkbox (ticked = complete), or a status/select property whose value is one of
    the mapping's ``complete_statuses``."""
    labels: PropertyRef(("multi_select", "select")) | None = None  # type: ignore[valid-type]
    """A multi-select (or select) property: its options become the card's labels, by name."""
    position: Literal["top", "bottom"] = "bottom"
    """Where a new card, or a card moved to another list, goes in its list."""


class TrelloMapping(MappingSettings):
    """A mapping's Trello keys: the board, how rows pick their list, and the card fields."""

    board: str
    """The board's id, short link or URL (https://trello.com/b/<shortLink>/...)."""
    list_from: PropertyRef(("status", "select")) | None = None  # type: ignore[valid-type]
    """The status or select property whose option picks the card's list."""
    lists: dict[str, str] = Field(default_factory=dict)
    """Option of ``list_from`` -> name of the list its cards go to."""
    default_list: str | None = None
    """The list for rows whose option is not in ``lists`` (or for every row without ``list_from``)."""
    time_zone: str = "UTC"
    """IANA zone in which a date without a time is due at the end of the day."""
    create_labels: bool = False
    """Create missing labels, with the Notion option's colour where Trello has one."""
    complete_statuses: list[str] = Field(default_factory=lambda: ["Done", "Complete", "Completed"])
    """With a status/select ``due_complete``: the options that mean complete. Options in Notion's
    Complete group count too."""
    checklist: bool = False
    """Mirror the page's to-do blocks into one card checklist named "Notion", ticks included."""
    fields: CardFields = Field(default_factory=CardFields)

    @field_validator("time_zone")
    @classmethod
    def _known_zone(cls, value: str) -> str:
        try:
            ZoneInfo(value)
        except (ZoneInfoNotFoundError, ValueError):
            raise ValueError(f"unknown time zone {value!r}; use an IANA name such as 'Europe/Paris' or 'UTC'") from None
        return value

    @field_validator("board")
    @classmethod
    def _board_given(cls, value: str) -> str:
        if not value.strip():
            raise ValueError("board is empty; give the board's URL (https://trello.com/b/...) or its id")
        return value.strip()

    @model_validator(mode="after")
    def _lists_reachable(self) -> TrelloMapping:
        if self.lists and not self.list_from:
            raise ValueError("lists needs list_from: the status or select property whose options the lists map")
        if not self.default_list and not (self.list_from and self.lists):
            raise ValueError('no list for the cards: set default_list = "<list name>", or list_from and lists')
        return self

    def list_names(self) -> list[str]:
        """Every list name the mapping may put a card in, in order, without repeats."""
        names = list(dict.fromkeys(self.lists.values()))
        if self.default_list and self.default_list not in names:
            names.append(self.default_list)
        return names


def starter(schema: dict[str, dict[str, Any]]) -> Starter:
    """``notion-sync init``'s guesses: a board placeholder; ``list_from`` the status (else select)
    property, with ``lists`` mapping each option to a list of the same name and ``default_list``
    its first option (without one: ``default_list = "To Do"``); fields ``name`` (the title),
    ``desc`` (the first text property and the page's URL), ``due`` (the first date), ``labels``
    (the first multi-select)."""
    keys: dict[str, Any] = {"board": "<board id or URL>"}
    notes = {"board": "the board's URL (https://trello.com/b/...) or id"}
    list_from = first_property(schema, "status", "select")
    options = option_names(schema[list_from]) if list_from else []
    if list_from and options:
        keys["list_from"] = list_from
        keys["default_list"] = options[0]
        keys["lists"] = {o: o for o in options}
        notes["list_from"] = (
            f"guessed: the {schema[list_from]['type']} property; each option's cards go to the "
            "list named in [mappings.lists] (edit the list names to your board's)"
        )
    else:
        keys["default_list"] = "To Do"
        notes["default_list"] = "the list every card goes to (no status or select property to pick one from)"
    text = first_property(schema, "rich_text")
    fields: dict[str, Any] = {
        "name": "{" + title_property(schema) + "}",
        "desc": "{" + text + "}\n\n{url}" if text else "{url}",
    }
    date = first_property(schema, "date")
    if date:
        fields["due"] = date
        notes["fields.due"] = "guessed: the first date property"
    labels = first_property(schema, "multi_select")
    if labels:
        fields["labels"] = labels
        notes["fields.labels"] = "guessed: the multi-select property; its options become labels"
    keys["fields"] = fields
    return Starter(
        mapping=keys,
        notes=notes,
        service={"api_key_env": "TRELLO_API_KEY", "token_env": "TRELLO_TOKEN"},
        service_notes={
            "api_key_env": "export TRELLO_API_KEY=... (trello.com/power-ups/admin → API key)",
            "token_env": "export TRELLO_TOKEN=... (the token authorised for that key)",
        },
        questions=[Question("board", "Trello board URL or id")],
    )
