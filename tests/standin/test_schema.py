"""Input synthesis from JSON schemas, including what pydantic generates."""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, Field

from standin import synthesize
from standin._schema import break_input


class Line(BaseModel):
    account: str
    amount: float = Field(gt=0)


class Entry(BaseModel):
    kind: Literal["debit", "credit"]
    lines: list[Line] = Field(min_length=1)
    parent: Entry | None = None
    memo: str | None
    tags: list[str] = []
    approved: bool


def test_pydantic_schema_with_refs_and_recursion_validates() -> None:
    schema = Entry.model_json_schema()
    value = synthesize(schema)
    entry = Entry.model_validate(value)
    assert entry.kind == "debit"
    assert entry.lines[0].amount == 1  # exclusiveMinimum 0 -> 0 + 1
    assert entry.parent is None
    assert entry.tags == []
    assert entry.approved is False


def test_quoted_values_named_first_then_in_order() -> None:
    schema = {
        "type": "object",
        "properties": {
            "first": {"type": "string"},
            "second": {"type": "string"},
            "vendor": {"type": "string"},
        },
        "required": ["first", "second", "vendor"],
    }
    text = 'Don\'t guess: vendor="Initech", then \'alpha\' and "beta"'
    assert synthesize(schema, user_text=text) == {
        "first": "alpha",
        "second": "beta",
        "vendor": "Initech",
    }


def test_placeholders_formats_and_bounds() -> None:
    schema = {
        "type": "object",
        "properties": {
            "due": {"type": "string", "format": "date"},
            "code": {"type": "string", "minLength": 20},
            "short": {"type": "string", "maxLength": 3},
            "count": {"type": "integer", "minimum": 10, "maximum": 20},
            "ratio": {"type": "number", "maximum": 0.5},
            "choice": {"enum": ["b", "a"]},
            "fixed": {"const": 7},
            "maybe": {"type": ["null", "integer"]},
            "optional": {"type": "string"},
            "defaulted": {"type": "string", "default": "d"},
        },
        "required": ["due", "code", "short", "count", "ratio", "choice", "fixed", "maybe"],
    }
    value = synthesize(schema)
    assert value == {
        "due": "2024-01-01",
        "code": "offline-codexxxxxxxx",
        "short": "off",
        "count": 10,
        "ratio": 0.5,
        "choice": "b",
        "fixed": 7,
        "maybe": 1,
        "defaulted": "d",
    }


def test_break_input_drops_the_first_required_property() -> None:
    schema = Entry.model_json_schema()
    valid = synthesize(schema)
    broken = break_input(schema, valid)
    assert "kind" not in broken
    assert set(valid) - set(broken) == {"kind"}


def test_break_input_mistypes_when_nothing_is_required() -> None:
    schema = {"type": "object", "properties": {"name": {"type": "string"}}}
    assert break_input(schema, {}) == {"name": 12345}
    assert break_input({"type": "object"}, {}) == {"unexpected_offline_field": True}
