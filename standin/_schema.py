"""Deterministic tool input synthesised from a tool's JSON schema.

The rules aim for the smallest input that validates, so a client's tool code runs end to end
without a language model: defaults first (they are what the tool author expects), then enums,
then values the user quoted in the prompt (so a test can steer an argument by writing
`vendor_id: "V-7"` in its prompt), then placeholders derived from the property name.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any

_MAX_DEPTH = 8
# A quote glued to a word is an apostrophe ("don't"), not the start of a quoted value.
_QUOTED = re.compile(r"""(?<!\w)'([^'\n]+)'(?!\w)|"([^"\n]+)\"""")
_NAMED_PREFIX = re.compile(r"\b[\w-]+\s*[:=]\s*$")
_FORMAT_EXAMPLES = {
    "date": "2024-01-01",
    "date-time": "2024-01-01T00:00:00Z",
    "time": "00:00:00",
    "email": "offline@example.com",
    "uuid": "00000000-0000-4000-8000-000000000000",
    "uri": "https://example.com/offline",
}


@dataclass
class QuotedValues:
    """Values the user quoted. A labelled one (`name: "x"` or `name='x'`) goes only to the
    property of that name; unlabelled ones are handed out in order of appearance."""

    text: str
    _used: set[int] = field(default_factory=set)

    def for_property(self, name: str) -> str | None:
        named = re.search(
            rf"""\b{re.escape(name)}\b\s*[:=]\s*(?:'([^'\n]*)'|"([^"\n]*)")""", self.text
        )
        if named:
            self._used.add(named.start(1) if named.group(1) is not None else named.start(2))
            return named.group(1) if named.group(1) is not None else named.group(2)
        for match in _QUOTED.finditer(self.text):
            start = match.start(1) if match.group(1) is not None else match.start(2)
            if _NAMED_PREFIX.search(self.text, 0, match.start()):
                continue  # a value labelled `name: "x"` belongs to that name only
            if start not in self._used:
                self._used.add(start)
                return match.group(1) if match.group(1) is not None else match.group(2)
        return None


def _mapping(value: Any) -> dict[str, Any]:
    return value if isinstance(value, dict) else {}


def _resolve(schema: dict[str, Any], root: dict[str, Any]) -> dict[str, Any]:
    """Follow local `$ref`s (pydantic emits `#/$defs/Name`) and flatten single `allOf`s."""
    seen = 0
    while "$ref" in schema and seen < _MAX_DEPTH:
        ref = str(schema["$ref"])
        target: Any = root
        for part in ref.removeprefix("#/").split("/") if ref.startswith("#/") else []:
            target = target.get(part, {}) if isinstance(target, dict) else {}
        merged = {key: value for key, value in schema.items() if key != "$ref"}
        schema = {**(target if isinstance(target, dict) else {}), **merged}
        seen += 1
    all_of = schema.get("allOf")
    if isinstance(all_of, list) and all_of:
        merged_all: dict[str, Any] = {}
        for part in all_of:
            if isinstance(part, dict):
                merged_all.update(_resolve(part, root))
        rest = {key: value for key, value in schema.items() if key != "allOf"}
        schema = {**merged_all, **rest}
    return schema


def _non_null_branch(schema: dict[str, Any], root: dict[str, Any]) -> dict[str, Any]:
    for key in ("anyOf", "oneOf"):
        branches = schema.get(key)
        if isinstance(branches, list) and branches:
            for branch in branches:
                if isinstance(branch, dict) and _resolve(branch, root).get("type") != "null":
                    return _resolve(branch, root)
            return {"type": "null"}
    return schema


def _type_of(schema: dict[str, Any]) -> str:
    kind = schema.get("type")
    if isinstance(kind, list):
        kind = next((item for item in kind if item != "null"), "null")
    if isinstance(kind, str):
        return kind
    if "properties" in schema:
        return "object"
    if "items" in schema:
        return "array"
    return "string"


def synthesize(
    schema: dict[str, Any], *, user_text: str = "", name: str = "value"
) -> dict[str, Any]:
    """Input for a tool's `input_schema`; always a JSON object, as the API requires."""
    value = _value(schema, schema, name, QuotedValues(user_text), 0)
    return value if isinstance(value, dict) else {}


def _value(
    schema: dict[str, Any], root: dict[str, Any], name: str, quoted: QuotedValues, depth: int
) -> Any:
    resolved = _resolve(schema, root)
    # pydantic puts an Optional field's default beside its anyOf, not inside a branch.
    if "default" in resolved:
        return resolved["default"]
    schema = _non_null_branch(resolved, root)
    if "default" in schema:
        return schema["default"]
    if "const" in schema:
        return schema["const"]
    enum = schema.get("enum")
    if isinstance(enum, list) and enum:
        return enum[0]
    kind = _type_of(schema)
    if depth >= _MAX_DEPTH:
        return {} if kind == "object" else None
    if kind == "object":
        return _object(schema, root, quoted, depth)
    if kind == "array":
        count = int(schema.get("minItems", 0))
        items = _mapping(schema.get("items"))
        return [_value(items, root, name, quoted, depth + 1) for _ in range(count)]
    if kind in ("integer", "number"):
        return _number(schema, kind)
    if kind == "boolean":
        return False
    if kind == "null":
        return None
    return _string(schema, name, quoted)


def _object(
    schema: dict[str, Any], root: dict[str, Any], quoted: QuotedValues, depth: int
) -> dict[str, Any]:
    properties = _mapping(schema.get("properties"))
    required = set(schema.get("required") or [])
    result: dict[str, Any] = {}
    for prop, prop_schema in properties.items():
        if not isinstance(prop_schema, dict):
            continue
        resolved = _resolve(prop_schema, root)
        if prop in required or "default" in resolved:
            result[prop] = _value(prop_schema, root, prop, quoted, depth + 1)
    return result


def _number(schema: dict[str, Any], kind: str) -> int | float:
    value: float = 1
    if "minimum" in schema:
        value = float(schema["minimum"])
    elif "exclusiveMinimum" in schema:
        value = float(schema["exclusiveMinimum"]) + 1
    if "maximum" in schema and value > float(schema["maximum"]):
        value = float(schema["maximum"])
    return int(value) if kind == "integer" else value


def _string(schema: dict[str, Any], name: str, quoted: QuotedValues) -> str:
    text = quoted.for_property(name)
    if text is None:
        text = _FORMAT_EXAMPLES.get(str(schema.get("format")), f"offline-{name}")
    min_length = int(schema.get("minLength", 0))
    if len(text) < min_length:
        text = text + "x" * (min_length - len(text))
    if "maxLength" in schema:
        text = text[: int(schema["maxLength"])]
    return text


def break_input(schema: dict[str, Any], valid: dict[str, Any]) -> dict[str, Any]:
    """Input that fails `schema`: the first required property is dropped, or else mistyped.

    The fault it serves is a model returning arguments that do not validate, which clients
    must catch before running a tool.
    """
    root = schema
    schema = _resolve(schema, root)
    required = [item for item in schema.get("required") or [] if isinstance(item, str)]
    broken = dict(valid)
    if required:
        broken.pop(required[0], None)
        return broken
    properties = _mapping(schema.get("properties"))
    for prop, prop_schema in properties.items():
        if isinstance(prop_schema, dict):
            kind = _type_of(_non_null_branch(_resolve(prop_schema, root), root))
            broken[prop] = 12345 if kind == "string" else "not-a-valid-value"
            return broken
    broken["unexpected_offline_field"] = True
    return broken
