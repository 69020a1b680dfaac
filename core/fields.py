"""Field types for mapping settings, so the core can check them against the schema.

Declare a connector's mapping fields with these and the core validates, before
anything is written, that every property they name exists and has a usable type::

    class CardFields(BaseModel):
        name: Template = "{Name}"
        due: PropertyRef(("date", "formula", "rollup")) | None = None
        labels: PropertyRef(("multi_select",)) | None = None
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Annotated, Any, Union, get_args, get_origin

from pydantic import AfterValidator, BaseModel

from notion_sync.core.templates import compile_template, template_properties, template_uses_body

__all__ = ["PropertyRef", "PropertyUse", "Template", "TemplateMarker", "PropertyMarker", "property_uses", "uses_body"]


@dataclass(frozen=True)
class TemplateMarker:
    """Marks a string field as a text template."""


@dataclass(frozen=True)
class PropertyMarker:
    """Marks a string field as the name of one property, of one of ``types`` (empty: any)."""

    types: tuple[str, ...] = ()


Template = Annotated[str, TemplateMarker(), AfterValidator(compile_template)]
"""A text template: ``"{Name} ({Status})"``, parsed once as the settings are read."""


def PropertyRef(types: tuple[str, ...] = ()) -> Any:  # noqa: N802 - reads as a type
    """The name of a property, whose Notion type must be one of ``types`` (empty: any)."""
    return Annotated[str, PropertyMarker(tuple(types))]


@dataclass(frozen=True)
class PropertyUse:
    """One reference from a mapping setting to a property."""

    path: str
    property: str
    types: tuple[str, ...]
    template: bool


def _markers(annotation: Any) -> list[object]:
    found: list[object] = []
    if get_origin(annotation) is Annotated:
        found.extend(m for m in annotation.__metadata__ if isinstance(m, TemplateMarker | PropertyMarker))
    for arg in get_args(annotation):
        if arg is not type(None):
            found.extend(_markers(arg))
    return found


def _uses_of(value: Any, annotation: Any, path: str) -> list[PropertyUse]:
    uses: list[PropertyUse] = []
    if value is None:
        return uses
    if isinstance(value, BaseModel):
        return property_uses(value, path)
    if isinstance(value, list | tuple):
        for i, item in enumerate(value):
            uses.extend(_uses_of(item, annotation, f"{path}[{i}]"))
        return uses
    if isinstance(value, dict):
        return uses
    if not isinstance(value, str):
        return uses
    for marker in _markers(annotation):
        if isinstance(marker, TemplateMarker):
            uses.extend(PropertyUse(path, name, (), True) for name in template_properties(value))
        elif isinstance(marker, PropertyMarker):
            uses.append(PropertyUse(path, value, marker.types, False))
    return uses


def property_uses(model: BaseModel, prefix: str = "") -> list[PropertyUse]:
    """Every property a settings model refers to, with the key path that names it."""
    uses: list[PropertyUse] = []
    for name, info in type(model).model_fields.items():
        annotation: Any = info.annotation
        if info.metadata:
            annotation = Annotated[Union[annotation], *info.metadata]  # noqa: UP007
        path = f"{prefix}.{name}" if prefix else name
        uses.extend(_uses_of(getattr(model, name), annotation, path))
    return uses


def _templates(value: Any, annotation: Any) -> list[str]:
    if value is None:
        return []
    if isinstance(value, BaseModel):
        return [t for name, info in type(value).model_fields.items() for t in _templates_of(value, name, info)]
    if isinstance(value, list | tuple):
        return [t for item in value for t in _templates(item, annotation)]
    if isinstance(value, str) and any(isinstance(m, TemplateMarker) for m in _markers(annotation)):
        return [value]
    return []


def _templates_of(model: BaseModel, name: str, info: Any) -> list[str]:
    annotation: Any = info.annotation
    if info.metadata:
        annotation = Annotated[Union[annotation], *info.metadata]  # noqa: UP007
    return _templates(getattr(model, name), annotation)


def uses_body(model: BaseModel) -> bool:
    """Whether any template of a settings model shows the page body (``{body}``), so that the
    engine reads page bodies for this mapping only."""
    return any(template_uses_body(t) for t in _templates(model, None))
