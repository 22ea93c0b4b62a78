"""The ledger question set: questions over the demo data, each with its expected answer as SQL.

The dataset (`datasets/ledger_questions.jsonl`) is plain JSON Lines, one question a line:

```json
{"id": "acme-aws-march", "tenant": "acme",
 "question": "How much did we pay Amazon Web Services in March 2025?",
 "expect": [{"kind": "amount", "sql": "SELECT sum(-t.amount) FROM bank_transactions t ..."}],
 "note": "optional: why the answer is what it is"}
```

Each `expect` entry is one check; a question is answered correctly when every check passes.
The SQL is written by hand against the raw tables (never through `query_ledger`), runs in a
READ ONLY transaction and names its tenant itself. What a check's SQL returns and how the
answer (a `LedgerAnswer` dump) is graded against it, by `kind`:

| kind | the SQL returns | correct when |
|---|---|---|
| `amount` | one number (USD) | a figure or calculation result equals it within a cent |
| `count` | one integer | a figure or calculation result equals it exactly |
| `percent` | one number (e.g. 23.41 for 23.41 %) | a figure or calculation result, or a calculation result × 100 (a ratio), is within 0.05 |
| `amounts` | one number per row | each is among the figures or calculation results (within a cent) |
| `names` | one name per row | each appears in the answer text (case-insensitive); with `"order": "ranked"` in that order, with `"set"` in any order |

Definitions the SQL follows (the same as the platform's): spend is money out (`amount < 0`),
summed as absolute amounts; a transaction's category is its booked account's standard
category, else its vendor's; transfers (rows booked to an asset, liability or equity
account, i.e. card payments from checking) are not spend.
"""

from __future__ import annotations

from decimal import Decimal
from pathlib import Path
from typing import Any, Literal

from pydantic import BaseModel, Field

from ledgerd.db import Pool, read_only

Kind = Literal["amount", "count", "percent", "amounts", "names"]

# How far a stated value may be from the expected one, per kind: money to the cent,
# percentages to the one decimal an answer shows.
TOLERANCE: dict[str, Decimal] = {
    "amount": Decimal("0.01"),
    "amounts": Decimal("0.01"),
    "count": Decimal("0"),
    "percent": Decimal("0.05"),
}


class Check(BaseModel):
    kind: Kind
    sql: str = Field(min_length=10, description="Hand-written, tenant named in the SQL.")
    order: Literal["ranked", "set"] = Field(
        default="ranked", description="For names: in the SQL's row order, or in any order."
    )


class Question(BaseModel):
    id: str = Field(pattern=r"^[a-z0-9-]{3,80}$")
    daemon: Literal["ledger_question"] = "ledger_question"
    tenant: str
    question: str = Field(min_length=5)
    expect: list[Check] = Field(min_length=1)
    note: str = ""


class ExpectedCheck(BaseModel):
    kind: Kind
    values: list[Decimal] = Field(default_factory=list)
    names: list[str] = Field(default_factory=list)
    order: Literal["ranked", "set"] = "ranked"

    def describe(self) -> str:
        shown = self.names if self.kind == "names" else [str(v) for v in self.values]
        return f"{self.kind} {', '.join(shown)}"


class Expected(BaseModel):
    question_id: str
    checks: list[ExpectedCheck]


class Grade(BaseModel):
    correct: bool
    reason: str


def default_dataset() -> Path:
    """The shipped question set: `datasets/ledger_questions.jsonl` of the repository."""
    return Path(__file__).resolve().parents[2] / "datasets" / "ledger_questions.jsonl"


def load_questions(path: Path | str | None = None) -> list[Question]:
    """Every question of a JSONL question set (the shipped one by default); a bad line fails
    naming its line number, and ids must be unique."""
    source = Path(path) if path is not None else default_dataset()
    questions: list[Question] = []
    for number, line in enumerate(source.read_text(encoding="utf-8").splitlines(), start=1):
        if not line.strip():
            continue
        try:
            questions.append(Question.model_validate_json(line))
        except ValueError as error:
            raise ValueError(f"{source}:{number}: {error}") from None
    ids = [q.id for q in questions]
    duplicated = sorted({i for i in ids if ids.count(i) > 1})
    if duplicated:
        raise ValueError(f"{source}: duplicated question ids {duplicated}")
    return questions


async def _run(pool: Pool, statement: str) -> list[tuple[Any, ...]]:
    async with read_only(pool) as conn:
        cursor = await conn.execute(statement.encode())
        return [tuple(row.values()) for row in await cursor.fetchall()]


class EmptyExpectation(ValueError):
    """A check's SQL found nothing: the question no longer fits the data."""


async def expected(pool: Pool, q: Question) -> Expected:
    """Run each check's SQL; an empty or NULL result is an error, not an expected nothing."""
    checks: list[ExpectedCheck] = []
    for number, check in enumerate(q.expect):
        rows = await _run(pool, check.sql)
        firsts = [row[0] for row in rows if row and row[0] is not None]
        if not firsts or (check.kind not in ("amounts", "names") and len(rows) != 1):
            raise EmptyExpectation(
                f"{q.id}: check {number} ({check.kind}) returned {len(rows)} row(s): {rows[:3]}"
            )
        if check.kind == "names":
            checks.append(
                ExpectedCheck(kind="names", names=[str(n) for n in firsts], order=check.order)
            )
        else:
            checks.append(ExpectedCheck(kind=check.kind, values=[Decimal(str(v)) for v in firsts]))
    return Expected(question_id=q.id, checks=checks)


def _stated_values(answer: dict[str, Any], kind: str) -> list[Decimal]:
    """The figures' values and the calculations' results; for a percentage also each
    calculation result x 100, since an answer may show a ratio as `23.4%`."""
    values = []
    for item in [*answer.get("figures", []), *answer.get("calculations", [])]:
        raw = item.get("value", item.get("result"))
        try:
            value = abs(Decimal(str(raw)))
        except ArithmeticError:
            continue
        values.append(value)
        if kind == "percent" and "result" in item:
            values.append(value * 100)
    return values


def _grade_check(answer: dict[str, Any], check: ExpectedCheck) -> str | None:
    """None when the check passes, else why not."""
    if check.kind == "names":
        text = str(answer.get("text", "")).lower()
        positions = [text.find(name.lower()) for name in check.names]
        missing = [n for n, at in zip(check.names, positions, strict=True) if at < 0]
        if missing:
            return f"the text does not name {', '.join(missing)}"
        if check.order == "ranked" and positions != sorted(positions):
            return f"the text names {', '.join(check.names)} out of order"
        return None
    stated = _stated_values(answer, check.kind)
    tolerance = TOLERANCE[check.kind]
    missing_values = [
        v for v in check.values if not any(abs(abs(v) - s) <= tolerance for s in stated)
    ]
    if missing_values:
        shown = ", ".join(str(s) for s in stated[:8]) or "none"
        return (
            f"expected {check.kind} {', '.join(map(str, missing_values))} "
            f"among the figures and calculations (found {shown})"
        )
    return None


def grade(answer: dict[str, Any], expected: Expected) -> Grade:
    """Whether a `LedgerAnswer` (as a dict) holds every expected value; the reason says which
    check failed and what the answer had instead."""
    problems = [
        problem for check in expected.checks if (problem := _grade_check(answer, check)) is not None
    ]
    if problems:
        return Grade(correct=False, reason="; ".join(problems))
    return Grade(
        correct=True,
        reason="; ".join(check.describe() for check in expected.checks) + ": all found",
    )


__all__ = [
    "Check",
    "EmptyExpectation",
    "Expected",
    "ExpectedCheck",
    "Grade",
    "Question",
    "default_dataset",
    "expected",
    "grade",
    "load_questions",
]
