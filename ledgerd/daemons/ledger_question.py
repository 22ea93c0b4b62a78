"""Complex user questions: a planned set of read-only ledger queries, answered with figures
tied to the tool calls they came from and citations to transaction and vendor ids."""

from __future__ import annotations

from collections.abc import Iterator
from decimal import Decimal
from typing import Any, Literal

from pydantic import BaseModel, Field

from ledgerd.contracts import Budget, CheckResult
from ledgerd.daemons._common_checks import (
    complete_check,
    followed_check,
    pii_check,
    run_findings,
)
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
    years_in,
)
from ledgerd.daemons._relevance import relevance_checks
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


# Inputs the model chose are no evidence of anything, except these: a top-N limit is a
# number the answer may repeat ("the top 5 vendors").
_GROUNDING_INPUTS = frozenset({"limit"})
# Constants a calculation may use besides grounded figures: percentages.
_CONSTANTS = (Decimal(100),)
_TRANSACTION_KEYS = frozenset({"transaction_ids", "transaction_id"})
_VENDOR_KEYS = frozenset({"vendor_id", "vendor_ids"})


def _grounded_pool(evidence: list[Evidence]) -> list[Decimal]:
    found: list[Decimal] = []
    for item in evidence:
        if not item.is_error:
            found += numbers_in(item.output)
            found += numbers_in_names(item.output)
            found += numbers_in([v for k, v in item.input.items() if k in _GROUNDING_INPUTS])
    return found


def _changes(evidence: list[Evidence]) -> list[Any]:
    """The values of every `change…` field of the results: the tools' own differences."""
    found: list[Any] = []

    def walk(value: Any) -> None:
        if isinstance(value, dict):
            for key, item in value.items():
                if str(key).startswith("change"):
                    found.append(item)
                else:
                    walk(item)
        elif isinstance(value, list):
            for item in value:
                walk(item)

    for item in evidence:
        if not item.is_error:
            walk(item.output)
    return found


def _ids(value: Any, kind: str, parent: str = "") -> Iterator[str]:
    """Ids of `kind` in a tool's output: only from fields that hold such ids, so a vendor
    name or a search text cannot pass for a citation."""
    keys = _TRANSACTION_KEYS if kind == "transaction" else _VENDOR_KEYS
    if isinstance(value, dict):
        for key, item in value.items():
            if key in keys or (key == "id" and _holds(parent, kind)):
                yield from strings_in(item)
            else:
                yield from _ids(item, kind, key)
    elif isinstance(value, list):
        for item in value:
            yield from _ids(item, kind, parent)


def _holds(parent: str, kind: str) -> bool:
    """Whether objects under `parent` are transactions (a page's `items`) or vendors."""
    return parent in ({"items", "transactions"} if kind == "transaction" else {"vendor"})


def _short(problems: list[str]) -> str:
    return "; ".join(p[:200] for p in problems[:8])[:1000]


def _asked(task: str) -> list[Decimal]:
    """Numbers the person's question states ("over $10,000"): the answer may repeat them.
    Only the question line: the task's date must not ground a count of 23."""
    question = next((line for line in task.splitlines() if line.startswith("Question:")), "")
    return [n.value for n in stated_numbers(question)]


def grounding_checks(
    answer: LedgerAnswer, evidence: list[Evidence], task: str = ""
) -> list[CheckResult]:
    """Figures come from the calls they name; calculations are right and over grounded
    numbers; every number and date in the text is grounded; citations exist in the results."""
    checks: list[CheckResult] = []

    def check(name: str, problems: list[str], ok: str) -> None:
        checks.append(CheckResult(name=name, passed=not problems, reason=_short(problems) or ok))

    by_id = {e.use_id: e for e in evidence if e.use_id and not e.is_error}
    check(
        "figures_sourced",
        [
            f"figure {f.label[:60]!r} = {f.value:.10g}: "
            + (
                f"no successful tool call {f.source[:60]!r}"
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
    grounded = _grounded_pool(evidence) + _asked(task)
    # A number stated with a direction ("down $439.80", "+20.2%") is a change: it must be a
    # change the tools returned or a shown calculation, not any number of that size (the
    # comparison period's total has the size of a 100 % fall, and no direction).
    directional = list(numbers_in(_changes(evidence)))
    problems = []
    for calculation in answer.calculations:
        try:
            value, operands = evaluate(calculation.expression)
        except BadExpression as error:
            problems.append(str(error))
            continue
        exact = [Stated(str(o), o, Decimal("0.005"), False) for o in operands]
        loose = [o for o in exact if not matches(o, [*grounded, *_CONSTANTS])]
        if loose:
            problems.append(
                f"{calculation.expression[:80]!r} uses {', '.join(o.text for o in loose[:5])}, "
                "not from the tools"
            )
        result = calculation.result
        places = min(max(-int(result.as_tuple().exponent), 0), 12) if result.is_finite() else 0
        if not result.is_finite() or abs(value - result) > Decimal(5) * Decimal(10) ** -(
            places + 1
        ):
            problems.append(f"{calculation.expression[:80]} is {value:.6g}, not {result:.6g}")
        elif not loose:
            grounded.append(result)
            directional.append(result)
    check("calculations_correct", problems, f"{len(answer.calculations)} calculation(s) verified")
    text = answer.text
    strings = [s for e in evidence if not e.is_error for s in strings_in([e.input, e.output])]
    years = {y for e in evidence if not e.is_error for y in years_in([e.input, e.output])}
    stated = stated_numbers(text)
    check(
        "numbers_grounded",
        [
            f"{n.text!r} matches no tool result or shown calculation"
            + (" with that direction" if n.sign else "")
            for n in stated
            if not (n.value in years if n.year else matches(n, directional if n.sign else grounded))
        ]
        + [
            f"date {d} appears in no tool input or result"
            for d in stated_dates(text)
            if not any(d in s for s in strings)
        ],
        f"every number in the text is grounded ({len(stated)} checked)",
    )
    outputs = [e.output for e in evidence if not e.is_error]
    known = {kind: set(_ids(outputs, kind)) for kind in ("transaction", "vendor")}
    check(
        "citations_grounded",
        [
            f"{c.kind} {c.id[:60]} is in no tool result"
            for c in answer.citations
            if c.id not in known[c.kind]
        ],
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


def ledger_checks(
    answer: LedgerAnswer, evidence: list[Evidence], task: str = ""
) -> list[CheckResult]:
    """Grounding (every number from the tools), relevance (every figure from a query of the
    question's intent), and the checks every answer gets."""
    return [
        *grounding_checks(answer, evidence, task),
        *relevance_checks(answer, evidence, task),
        pii_check([answer.text]),
        complete_check(answer.text, substantive=bool(answer.figures)),
        followed_check({"text": answer.text}, run_findings(evidence, task)),
    ]


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
    checks=ledger_checks,
    needs_intent=True,
)
