"""The settings of the webhook connector: the ``[webhook]`` table and a mapping's keys."""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, ConfigDict, Field, field_validator

from notion_sync.sdk import (
    MappingSettings,
    PropertyRef,
    ServiceSettings,
    Starter,
    Template,
    first_property,
    title_property,
)

__all__ = ["DATE_TYPES", "WebhookFields", "WebhookMapping", "WebhookSettings", "starter"]

DATE_TYPES = ("date", "formula", "rollup", "created_time", "last_edited_time")


def _http_url(value: str | None) -> str | None:
    if value is not None and not value.startswith(("http://", "https://")):
        raise ValueError(f"{value!r} is not an http(s) URL; write e.g. https://hooks.example.com/notion")
    return value.rstrip("/") if value else value


class WebhookSettings(ServiceSettings):
    """The ``[webhook]`` table: the endpoint, and where its bearer token comes from (if it wants one)."""

    url: str = Field(description="the collection URL: rows are POSTed here, items live at <url>/<id>")
    token_env: str | None = Field(None, description="environment variable holding a bearer token")
    token_file: str | None = Field(None, description="file (mode 600) holding a bearer token")
    timeout: float = Field(30.0, gt=0, description="seconds to wait for one reply")

    @field_validator("url")
    @classmethod
    def _url(cls, value: str) -> str:
        return _http_url(value) or value


class WebhookFields(BaseModel):
    """What each row's JSON holds. Templates take ``{Property}``, ``{url}`` and ``{id}``."""

    model_config = ConfigDict(extra="forbid")

    title: Template = "{Name}"
    """The item's title."""
    body: Template | None = None
    """A longer text (None: not sent)."""
    date: PropertyRef(DATE_TYPES) | None = None  # type: ignore[valid-type]
    """A date property, sent as ``{"start", "end", "all_day"}`` (null when the row has no date)."""
    properties: list[PropertyRef()] = Field(default_factory=list)  # type: ignore[valid-type]
    """Properties sent as plain text under ``"properties"``."""


class WebhookMapping(MappingSettings):
    """A mapping's webhook keys."""

    url: str | None = Field(None, description="this mapping's collection URL, instead of [webhook] url")
    fields: WebhookFields = Field(default_factory=WebhookFields)

    @field_validator("url")
    @classmethod
    def _url(cls, value: str | None) -> str | None:
        return _http_url(value)


def starter(schema: dict[str, dict[str, Any]]) -> Starter:
    """``notion-sync init``'s guesses: the title, the first text property and the first date property.

    No ``service``: ``init`` then writes the ``[webhook]`` table from ``WebhookSettings`` (a
    placeholder for the required ``url``, ``token_env``)."""
    fields: dict[str, Any] = {"title": "{" + title_property(schema) + "}"}
    notes: dict[str, str] = {}
    text = first_property(schema, "rich_text")
    if text:
        fields["body"] = "{" + text + "}"
    date = first_property(schema, "date")
    if date:
        fields["date"] = date
        notes["fields.date"] = "guessed: the first date property"
    return Starter(mapping={"fields": fields}, notes=notes)
