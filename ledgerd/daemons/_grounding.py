"""Numbers grounding: every number an answer states must come from the tools' results.

A model that adds up, rounds or recalls a figure from thin air is the failure that costs
money, and no second model reliably spots it; this check is arithmetic, not judgement. A
number in the text is grounded when, allowing for its shown precision and formatting
(`$12,345.67`, `12.3k`, `$1.2M`, `23.4%`), it equals:

- a number in a tool result or a tool input (a top-N limit, a date's year), or
- the result of a calculation the answer shows, whose operands are grounded and whose
  arithmetic is right.

Dates (`2025-07-01`, `2025-07`) must appear in the evidence as written; tokens glued to
letters (`Q3`, `H1`, transaction ids) are labels, not numbers. Percentages match a
percentage the tools returned or a ratio × 100.
"""

from __future__ import annotations

import ast
import re
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from decimal import Decimal, InvalidOperation
from typing import Any

_DATE = re.compile(r"(?<![\w-])\d{4}-\d{2}(?:-\d{2})?(?![\w-])")
_UUID = re.compile(
    r"\b[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}\b"
)
_NUMBER = re.compile(
    r"(?<![\w.\-/])(?P<sign>[-−])?\$?(?P<digits>\d{1,3}(?:,\d{3})+(?:\.\d+)?|\d+(?:\.\d+)?)"
    r"(?P<suffix>\s?%|\s?(?:k|K|thousand|m|M|million|bn|billion)(?![\w]))?(?![\w])"
)
_SCALES = {
    "k": Decimal(1000),
    "thousand": Decimal(1000),
    "m": Decimal(1_000_000),
    "million": Decimal(1_000_000),
    "bn": Decimal(1_000_000_000),
    "billion": Decimal(1_000_000_000),
}
_NUMERIC_STRING = re.compile(r"^-?\d+(?:\.\d+)?$")


@dataclass(frozen=True)
class Stated:
    """A number as the text states it: its value in units, and how precisely it is shown."""

    text: str
    value: Decimal
    tolerance: Decimal
    percent: bool


def stated_numbers(text: str) -> list[Stated]:
    text = _UUID.sub(" ", _DATE.sub(" ", text))
    found = []
    for match in _NUMBER.finditer(text):
        digits = match["digits"].replace(",", "")
        suffix = (match["suffix"] or "").strip()
        scale = _SCALES.get(suffix.lower(), Decimal(1)) if suffix != "%" else Decimal(1)
        places = len(digits.partition(".")[2])
        value = Decimal(digits) * scale
        found.append(
            Stated(
                text=match.group(0).strip(),
                value=abs(value),
                tolerance=Decimal(5) * Decimal(10) ** -(places + 1) * scale,
                percent=suffix == "%",
            )
        )
    return found


def stated_dates(text: str) -> list[str]:
    return _DATE.findall(text)


def numbers_in(value: Any) -> Iterator[Decimal]:
    """Every number in a JSON value: numbers, numeric strings (money is serialised as a
    string to keep it exact) and the parts of ISO dates."""
    if isinstance(value, bool):
        return
    if isinstance(value, int | float | Decimal):
        yield abs(Decimal(str(value)))
    elif isinstance(value, str):
        if _NUMERIC_STRING.match(value):
            yield abs(Decimal(value))
        for date in _DATE.findall(value):
            yield from (Decimal(part) for part in date.split("-"))
    elif isinstance(value, dict):
        for item in value.values():
            yield from numbers_in(item)
    elif isinstance(value, list):
        for item in value:
            yield from numbers_in(item)


def numbers_in_names(value: Any) -> Iterator[Decimal]:
    """Numbers inside names the tools returned (`Phillips 66`, `7-Eleven`): a text that
    names a vendor states them, and they are no figures. Only fields called `*name`, so the
    reference numbers inside raw bank descriptors ground nothing."""
    if isinstance(value, dict):
        for key, item in value.items():
            if isinstance(item, str) and str(key).endswith("name"):
                yield from (n.value for n in stated_numbers(item))
            else:
                yield from numbers_in_names(item)
    elif isinstance(value, list):
        for item in value:
            yield from numbers_in_names(item)


def strings_in(value: Any) -> Iterator[str]:
    if isinstance(value, str):
        yield value
    elif isinstance(value, dict):
        for item in value.values():
            yield from strings_in(item)
    elif isinstance(value, list):
        for item in value:
            yield from strings_in(item)


def matches(stated: Stated, candidates: Iterable[Decimal]) -> bool:
    for candidate in candidates:
        if abs(candidate - stated.value) <= stated.tolerance:
            return True
        if stated.percent and abs(candidate * 100 - stated.value) <= stated.tolerance:
            return True
    return False


class BadExpression(ValueError):
    pass


def evaluate(expression: str) -> tuple[Decimal, list[Decimal]]:
    """The value of `+ - * /` arithmetic over decimal numbers, and its operands. Anything
    else (names, calls, powers) is refused: this runs on model output."""
    cleaned = expression.replace(",", "").replace("$", "").replace("−", "-").replace("×", "*")
    try:
        tree = ast.parse(cleaned.strip(), mode="eval")
    except SyntaxError as error:
        raise BadExpression(f"{expression!r} is not arithmetic: {error.msg}") from None
    operands: list[Decimal] = []

    def value(node: ast.expr) -> Decimal:
        if isinstance(node, ast.Constant) and isinstance(node.value, int | float):
            number = Decimal(ast.get_source_segment(cleaned.strip(), node) or str(node.value))
            operands.append(abs(number))
            return number
        if isinstance(node, ast.UnaryOp) and isinstance(node.op, ast.USub):
            return -value(node.operand)
        if isinstance(node, ast.BinOp):
            left, right = value(node.left), value(node.right)
            try:
                if isinstance(node.op, ast.Add):
                    return left + right
                if isinstance(node.op, ast.Sub):
                    return left - right
                if isinstance(node.op, ast.Mult):
                    return left * right
                if isinstance(node.op, ast.Div):
                    return left / right
            except (ArithmeticError, InvalidOperation) as error:
                raise BadExpression(f"{expression!r}: {error}") from None
        raise BadExpression(f"{expression!r} uses something other than + - * / and numbers")

    return value(tree.body), operands
