"""Complex user questions: a planned set of read-only ledger queries, answered with figures
tied to the tool calls they came from and citations to transaction and vendor ids."""

from __future__ import annotations

from decimal import Decimal
from typing import Literal

from pydantic import BaseModel, Field

from ledgerd.contracts import Budget, CheckResult
from ledgerd.daemons._grounding import (
    BadExpression,
    Stated,
    evaluate,
    matches,
    numbers_in,
    numbers_in_names,
    stated_dates,
    stated_numbers,
    strings_in,
)
from ledgerd.daemons._spec import DaemonSpec, Evidence


class Figure(BaseModel):
    """A number the answer relies on, and the tool call whose result holds it."""

    label: str = Field(min_length=1, max_length=200, description="What it is, in words.")
    value: Decimal = Field(description="As the tool returned it (not rounded).")
    unit: Literal["USD", "count", "percent"] = "USD"
    source: str = Field(
        min_length=1, description="The tool_use id of the call whose result holds this figure."
    )


class Calculation(BaseModel):
    """Arithmetic over figures that the answer shows, e.g. `48210.55 - 40100.00`."""

    expression: str = Field(
        min_length=1, max_length=300, description="Numbers, + - * / and parentheses only."
    )
    result: Decimal


class Citation(BaseModel):
    kind: Literal["transaction", "vendor"]
    id: str = Field(min_length=1, max_length=100)


class LedgerAnswer(BaseModel):
    """The answer to a ledger question, grounded in the tools' results."""

    text: str = Field(min_length=1, max_length=4000, description="The answer, for a person.")
    figures: list[Figure] = Field(default_factory=list, max_length=50)
    calculations: list[Calculation] = Field(default_factory=list, max_length=20)
    citations: list[Citation] = Field(default_factory=list, max_length=100)


def _grounded_pool(evidence: list[Evidence]) -> list[Decimal]:
    found: list[Decimal] = []
    for item in evidence:
        if not item.is_error:
            found += numbers_in(item.output)
            found += numbers_in(item.input)
            found += numbers_in_names(item.output)
    return found


def grounding_checks(answer: LedgerAnswer, evidence: list[Evidence]) -> list[CheckResult]:
    """Figures come from the calls they name; calculations are right and over grounded
    numbers; every number and date in the text is grounded; citations exist in the results."""
    checks: list[CheckResult] = []

    def check(name: str, problems: list[str], ok: str) -> None:
        checks.append(
            CheckResult(name=name, passed=not problems, reason="; ".join(problems[:8]) or ok)
        )

    by_id = {e.use_id: e for e in evidence if e.use_id and not e.is_error}
    check(
        "figures_sourced",
        [
            f"figure {f.label!r} = {f.value}: "
            + (
                f"no successful tool call {f.source!r}"
                if f.source not in by_id
                else f"{f.source} ({by_id[f.source].tool}) returned no such number"
            )
            for f in answer.figures
            if f.source not in by_id
            or not matches(
                Stated(str(f.value), abs(f.value), Decimal("0.005"), False),
                numbers_in(by_id[f.source].output),
            )
        ],
        f"{len(answer.figures)} figure(s), each found in its call's result",
    )
    grounded = _grounded_pool(evidence)
    problems = []
    for calculation in answer.calculations:
        try:
            value, operands = evaluate(calculation.expression)
        except BadExpression as error:
            problems.append(str(error))
            continue
        loose = [
            o for o in operands if not matches(Stated(str(o), o, Decimal("0.005"), False), grounded)
        ]
        if loose:
            problems.append(
                f"{calculation.expression!r} uses {', '.join(map(str, loose))}, not from the tools"
            )
        places = max(-calculation.result.as_tuple().exponent, 0)  # type: ignore[operator]
        if abs(value - calculation.result) > Decimal(5) * Decimal(10) ** -(places + 1):
            problems.append(f"{calculation.expression} is {value:.4f}, not {calculation.result}")
        else:
            grounded.append(abs(calculation.result))
    check("calculations_correct", problems, f"{len(answer.calculations)} calculation(s) verified")
    text = answer.text
    strings = [s for e in evidence if not e.is_error for s in strings_in([e.input, e.output])]
    check(
        "numbers_grounded",
        [
            f"{n.text!r} matches no tool result or shown calculation"
            for n in stated_numbers(text)
            if not matches(n, grounded)
        ]
        + [
            f"date {d} appears in no tool input or result"
            for d in stated_dates(text)
            if not any(d in s for s in strings)
        ],
        f"every number in the text is grounded ({len(stated_numbers(text))} checked)",
    )
    cited = {s for s in strings if s}
    check(
        "citations_grounded",
        [f"{c.kind} {c.id} is in no tool result" for c in answer.citations if c.id not in cited],
        f"{len(answer.citations)} citation(s) found in the results",
    )
    money = [f for f in answer.figures if f.unit == "USD"]
    check(
        "cites_sources",
        ["the answer states amounts but cites no transaction or vendor"]
        if money and not answer.citations
        else [],
        "cited" if answer.citations else "no amounts to cite",
    )
    return checks


LEDGER_QUESTION = DaemonSpec(
    kind="ledger_question",
    output_model=LedgerAnswer,
    tools=(
        "query_ledger",
        "search_vendors",
        "get_vendor",
        "list_standard_categories",
        "list_transactions",
        "remember",
        "recall",
    ),
    budget=Budget(max_steps=12, max_tokens=200_000, max_seconds=600),
    execute_plan=True,
    checks=grounding_checks,
)
