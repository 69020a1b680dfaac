"""The configuration reference, generated from the settings models so it never drifts.

``python -m notion_sync.core.config_reference > docs/configuration.md`` writes it; a test checks
that the committed file matches what the models say.
"""

from __future__ import annotations

import ast
import inspect
import textwrap
import types
import typing
from pathlib import PurePath
from typing import Any

from pydantic import BaseModel
from pydantic.fields import FieldInfo
from pydantic_core import PydanticUndefined

from notion_sync.core.config import CeleryConfig, MappingConfig, NotionConfig, ServeConfig, StateConfig
from notion_sync.core.fields import PropertyMarker, TemplateMarker
from notion_sync.core.plugins import discover

__all__ = ["render_reference"]


def attribute_docs(cls: type) -> dict[str, str]:
    """The docstrings written under class attributes (``x: int = 1`` then ``\"\"\"...\"\"\"``)."""
    docs: dict[str, str] = {}
    for klass in reversed(cls.__mro__):
        try:
            source = textwrap.dedent(inspect.getsource(klass))
        except (OSError, TypeError):
            continue
        body = ast.parse(source).body
        if not body or not isinstance(body[0], ast.ClassDef):
            continue
        statements = body[0].body
        for first, second in zip(statements, statements[1:], strict=False):
            if (
                isinstance(first, ast.AnnAssign)
                and isinstance(first.target, ast.Name)
                and isinstance(second, ast.Expr)
                and isinstance(second.value, ast.Constant)
                and isinstance(second.value.value, str)
            ):
                docs[first.target.id] = " ".join(second.value.value.split())
    return docs


def _type_name(annotation: Any, info: FieldInfo) -> str:
    markers = list(info.metadata)
    inner = annotation
    for arg in typing.get_args(annotation) or ():
        if typing.get_origin(arg) is typing.Annotated:
            markers.extend(arg.__metadata__)
    if typing.get_origin(annotation) is typing.Annotated:
        markers.extend(annotation.__metadata__)
    for marker in markers:
        if isinstance(marker, TemplateMarker):
            return "template"
        if isinstance(marker, PropertyMarker):
            kinds = " / ".join(marker.types) if marker.types else "any type"
            many = typing.get_origin(inner) is list
            return f"propert{'ies' if many else 'y'} ({kinds})"
    text = str(annotation).replace("typing.", "").replace("pathlib.", "").replace("NoneType", "None")
    if isinstance(annotation, type) and not isinstance(annotation, types.GenericAlias):
        text = annotation.__name__
    return text.replace("<class '", "").replace("'>", "")


def _default(info: FieldInfo) -> str:
    if info.is_required():
        return "**required**"
    if info.default_factory is not None:
        try:
            value = info.default_factory()  # type: ignore[call-arg]
        except TypeError:
            return ""
    else:
        value = info.default
    if value is None or value is PydanticUndefined:
        return ""
    if isinstance(value, BaseModel):
        return ""
    if isinstance(value, PurePath):
        value = str(value)
    return f"`{value!r}`" if not isinstance(value, str) else f'`"{value}"`'


def _rows(model: type[BaseModel], prefix: str = "") -> list[str]:
    docs = attribute_docs(model)
    rows: list[str] = []
    for name, info in model.model_fields.items():
        annotation = info.annotation
        nested = annotation if isinstance(annotation, type) and issubclass(annotation, BaseModel) else None
        key = f"{prefix}{name}"
        if nested is not None:
            rows.extend(_rows(nested, f"{key}."))
            continue
        doc = info.description or docs.get(name, "")
        kind = _type_name(annotation, info).replace("|", "or")
        rows.append(f"| `{key}` | {kind} | {_default(info)} | {doc.replace('|', '/')} |")
    return rows


def _table(title: str, model: type[BaseModel], intro: str = "") -> str:
    head = f"### {title}\n\n" + (f"{intro}\n\n" if intro else "")
    return head + "| key | type | default | meaning |\n|---|---|---|---|\n" + "\n".join(_rows(model)) + "\n"


def render_reference() -> str:
    """The whole reference, as Markdown."""
    parts = [
        "# Configuration reference\n",
        "Generated from the settings models by `python -m notion_sync.core.config_reference`; do not edit by hand. "
        "Any key can also be set from the environment: `NOTION_SYNC_<SECTION>__<KEY>` "
        "(for example `NOTION_SYNC_STATE__PATH`). An unknown key is an error.\n",
        "## Core\n",
        _table("[notion]", NotionConfig),
        _table("[state]", StateConfig),
        _table("[celery]", CeleryConfig),
        _table(
            "[serve]",
            ServeConfig,
            "`notion-sync serve` only (README: Real-time with webhooks). Give one of verification_token_file "
            "(which the handshake writes), verification_token_env or verification_token_keyring.",
        ),
        _table(
            "[[mappings]]: keys of every mapping",
            MappingConfig,
            "A mapping also takes the keys of its connector, listed below. `write_back` names the target "
            "fields that flow back into Notion (each connector's are listed with it; README: Two-way for "
            "chosen fields) and `conflict` who wins a field changed on both sides since the last sync.",
        ),
    ]
    found = discover()
    for name in sorted(found.connectors):
        cls = found.connectors[name]
        parts.append(f"## Connector `{name}`\n")
        if cls.summary:
            parts.append(cls.summary + "\n")
        parts.append(f"on_delete: {', '.join(f'`{m}`' for m in cls.on_delete_modes)}\n")
        if cls.write_back_fields:
            parts.append(f"write_back: {', '.join(f'`{f}`' for f in cls.write_back_fields)}\n")
        else:
            parts.append("write_back: none (one-way)\n")
        parts.append(_table(f"[{name}]", cls.Settings))
        parts.append(_table(f'mapping keys for `connector = "{name}"`', cls.MappingSettings))
    return "\n".join(parts)


if __name__ == "__main__":
    print(render_reference(), end="")
