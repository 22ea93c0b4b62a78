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


_DOWN = re.compile(
    r"(?:\b(?:fell|decreased|dropped|declined|shrank|down|lower)(?:\s+by)?"
    r"|\ba\s+(?:decrease|decline|drop|reduction|fall)\s+of)\s*$",
    re.IGNORECASE,
)
_UP = re.compile(
    r"(?:\b(?:rose|increased|grew|up|higher)(?:\s+by)?"
    r"|\ban?\s+(?:increase|rise|growth|jump)\s+of)\s*$",
    re.IGNORECASE,
)
_CURRENCY_CODE = re.compile(r"\b(?:USD|US\$)\s?(?=\d)")
# Model output is parsed here: keep magnitudes sane so arithmetic and messages stay small.
_LIMIT = Decimal("1e15")


@dataclass(frozen=True)
class Stated:
    """A number as the text states it: its value in units, how precisely it is shown, and
    the direction the words give it (-1 "fell by", +1 "grew by", 0 none)."""

    text: str
    value: Decimal
    tolerance: Decimal
    percent: bool
    sign: int = 0
    year: bool = False


def stated_numbers(text: str) -> list[Stated]:
    text = _CURRENCY_CODE.sub("$", _UUID.sub(" ", _DATE.sub(" ", text)))
    found = []
    for match in _NUMBER.finditer(text):
        digits = match["digits"].replace(",", "")
        suffix = (match["suffix"] or "").strip()
        scale = _SCALES.get(suffix.lower(), Decimal(1)) if suffix != "%" else Decimal(1)
        whole, _, decimals = digits.partition(".")
        places = len(decimals)
        money = "$" in match.group(0)
        if not places and money and scale == 1 and whole.rstrip("0") != whole:
            # "$48,000" states a round figure: its precision is its last non-zero digit.
            places = -min(len(whole) - len(whole.rstrip("0")), len(whole) - 1)
        value = Decimal(digits) * scale
        before = text[max(0, match.start() - 30) : match.start()]
        sign = -1 if match["sign"] else 1 if before.endswith("+") else 0
        if not sign:
            sign = -1 if _DOWN.search(before) else 1 if _UP.search(before) else 0
        found.append(
            Stated(
                text=match.group(0).strip(),
                value=abs(value),
                tolerance=Decimal(5) * Decimal(10) ** -(places + 1) * scale,
                percent=suffix == "%",
                sign=sign,
                year=not money and not suffix and not places and 1900 <= value <= 2100,
            )
        )
    return found


def stated_dates(text: str) -> list[str]:
    return _DATE.findall(text)


def years_in(value: Any) -> set[Decimal]:
    """The years of every ISO date in a JSON value."""
    return {Decimal(date[:4]) for text in strings_in(value) for date in _DATE.findall(text)}


def numbers_in(value: Any) -> Iterator[Decimal]:
    """Every number in a JSON value, with its sign: numbers and numeric strings (money is
    serialised as a string to keep it exact). Dates are not numbers here: a date's day
    must not ground "30 vendors"."""
    if isinstance(value, bool):
        return
    if isinstance(value, int | float | Decimal):
        yield Decimal(str(value))
    elif isinstance(value, str):
        if _NUMERIC_STRING.match(value):
            yield Decimal(value)
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
    """Whether a candidate equals the stated number within its shown precision. A stated
    direction ("fell by", "-") must agree with the candidate's sign; a percentage matches a
    percentage, or a ratio (|x| <= 10) times 100."""
    for candidate in candidates:
        if stated.sign and candidate and (candidate > 0) != (stated.sign > 0):
            continue
        if abs(abs(candidate) - stated.value) <= stated.tolerance:
            return True
        if (
            stated.percent
            and abs(candidate) <= 10
            and abs(abs(candidate) * 100 - stated.value) <= stated.tolerance
        ):
            return True
    return False


class BadExpression(ValueError):
    pass


def evaluate(expression: str) -> tuple[Decimal, list[Decimal]]:
    """The value of `+ - * /` arithmetic over decimal numbers, and its operands. Anything
    else (names, calls, powers, booleans, absurd magnitudes) is refused: this runs on model
    output."""
    cleaned = expression.replace(",", "").replace("$", "").replace("−", "-").replace("×", "*")
    cleaned = cleaned.strip()
    if len(cleaned) > 300:
        raise BadExpression("the expression is longer than 300 characters")
    try:
        tree = ast.parse(cleaned, mode="eval")
    except SyntaxError as error:
        raise BadExpression(f"{expression[:80]!r} is not arithmetic: {error.msg}") from None
    operands: list[Decimal] = []

    def value(node: ast.expr) -> Decimal:
        if (
            isinstance(node, ast.Constant)
            and isinstance(node.value, int | float)
            and not isinstance(node.value, bool)
        ):
            number = Decimal(ast.get_source_segment(cleaned, node) or str(node.value))
            if not number.is_finite() or abs(number) > _LIMIT:
                raise BadExpression(f"{expression[:80]!r}: {number:.3g} is out of range")
            operands.append(abs(number))
            return number
        if isinstance(node, ast.UnaryOp) and isinstance(node.op, ast.USub):
            return -value(node.operand)
        if isinstance(node, ast.BinOp) and isinstance(
            node.op, ast.Add | ast.Sub | ast.Mult | ast.Div
        ):
            left, right = value(node.left), value(node.right)
            if isinstance(node.op, ast.Add):
                result = left + right
            elif isinstance(node.op, ast.Sub):
                result = left - right
            elif isinstance(node.op, ast.Mult):
                result = left * right
            else:
                result = left / right
            if abs(result) > _LIMIT * _LIMIT:
                raise BadExpression(f"{expression[:80]!r} is out of range")
            return result
        raise BadExpression(f"{expression[:80]!r} uses something other than + - * / and numbers")

    try:
        return value(tree.body), operands
    except (ArithmeticError, InvalidOperation, ValueError) as error:
        if isinstance(error, BadExpression):
            raise
        raise BadExpression(f"{expression[:80]!r}: {type(error).__name__}") from None
