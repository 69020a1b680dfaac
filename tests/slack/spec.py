"""A small validator for the Slack Web API's Swagger 2.0 schemas (no jsonschema dependency).

The Slack spec has one quirk worth knowing: a list under ``items`` on a schema that is
not an array means "one of these" (``bot_id``: an id or null; a conversation: a channel
or a multi-person DM). Formats are not checked.
"""

from __future__ import annotations

import json
import re
from typing import Any

from tests.support.shared import spec

_TYPES = {
    "string": str,
    "boolean": bool,
    "object": dict,
    "array": list,
    "null": type(None),
}


def load_spec() -> dict[str, Any]:
    """The spec, or a skip when ``../shared`` is absent (it is, in users' clones)."""
    return json.loads(spec("slack-web-openapi-v2.json").read_text(encoding="utf-8"))


def _type_ok(value: Any, name: str) -> bool:
    if name == "integer":
        return isinstance(value, int) and not isinstance(value, bool)
    if name == "number":
        return isinstance(value, int | float) and not isinstance(value, bool)
    return isinstance(value, _TYPES[name]) and not (name != "boolean" and isinstance(value, bool))


SPEC_GAPS: dict[str, dict[str, Any]] = {
    "objs_message": {"app_id": {"type": "string"}, "edited": {"type": "object"}},
}
"""Fields real Slack sends that the archived v2 spec's closed message schema lacks: a bot's
messages carry ``app_id`` and, once changed by ``chat.update``, ``edited`` (Slack's message
object docs, https://docs.slack.dev/reference/objects/message-object, and recorded replies)."""


def validate(value: Any, schema: dict[str, Any], spec: dict[str, Any], path: str = "$") -> list[str]:
    """Every way ``value`` breaks ``schema``, as "path: problem" lines."""
    if "$ref" in schema:
        name = schema["$ref"].rsplit("/", 1)[-1]
        target = spec["definitions"][name]
        if name in SPEC_GAPS:
            target = {**target, "properties": {**target.get("properties", {}), **SPEC_GAPS[name]}}
        return validate(value, target, spec, path)
    problems: list[str] = []
    kinds = schema.get("type")
    if isinstance(schema.get("items"), list) and kinds != "array":
        options = [validate(value, option, spec, path) for option in schema["items"]]
        if all(options):
            return [f"{path}: matches none of the alternatives: {min(options, key=len)}"]
        return []
    if kinds is not None:
        names = kinds if isinstance(kinds, list) else [kinds]
        if not any(_type_ok(value, n) for n in names):
            return [f"{path}: {value!r} is not of type {kinds}"]
    if "enum" in schema and value not in schema["enum"]:
        problems.append(f"{path}: {value!r} not in {schema['enum']}")
    if isinstance(value, str) and "pattern" in schema and not re.search(schema["pattern"], value):
        problems.append(f"{path}: {value!r} does not match {schema['pattern']}")
    if isinstance(value, dict):
        props = schema.get("properties", {})
        for key in schema.get("required", []):
            if key not in value:
                problems.append(f"{path}: missing required {key!r}")
        for key, item in value.items():
            if key in props:
                problems.extend(validate(item, props[key], spec, f"{path}.{key}"))
            elif schema.get("additionalProperties") is False:
                problems.append(f"{path}: unexpected property {key!r}")
    if isinstance(value, list):
        if len(value) < schema.get("minItems", 0):
            problems.append(f"{path}: fewer than {schema['minItems']} items")
        if isinstance(schema.get("items"), dict):
            for i, item in enumerate(value):
                problems.extend(validate(item, schema["items"], spec, f"{path}[{i}]"))
    return problems


def response_schema(spec: dict[str, Any], method: str, ok: bool) -> dict[str, Any]:
    """The success (200) or error (default) schema of a Web API method."""
    operation = next(iter(spec["paths"][f"/{method}"].values()))
    schema: dict[str, Any] = operation["responses"]["200" if ok else "default"]["schema"]
    if ok and method == "chat.update":
        # The spec types chat.update's message.blocks as an object; Slack returns the blocks
        # array there, as in every other message (recorded chat.update replies).
        message = schema["properties"]["message"]
        fixed = {**message, "properties": {**message["properties"], "blocks": {"type": "array"}}}
        schema = {**schema, "properties": {**schema["properties"], "message": fixed}}
    return schema
