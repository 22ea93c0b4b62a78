"""The ledger question set: every expected answer computes on the demo data, and grading
accepts a right answer and rejects a wrong one."""

from __future__ import annotations

from collections.abc import AsyncIterator
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest

from ledgerd.db import Pool, open_pool
from ledgerd.evals.ledger_questions import (
    EmptyExpectation,
    Expected,
    ExpectedCheck,
    Question,
    expected,
    grade,
    load_questions,
)
from ledgerd.stack import EmbeddedPostgres
from tests.conftest import clone_database

QUESTIONS = load_questions()


@pytest.fixture(scope="module")
async def ledger(postgres: EmbeddedPostgres, seeded_template: str) -> AsyncIterator[Pool]:
    """One seeded database for the module: expected answers only read (READ ONLY)."""
    opened = await open_pool(clone_database(postgres, seeded_template), max_size=2)
    try:
        yield opened
    finally:
        await opened.close()


def test_the_set_covers_both_tenants_and_every_kind() -> None:
    assert len(QUESTIONS) >= 30
    assert {q.tenant for q in QUESTIONS} == {"acme", "globex"}
    assert {c.kind for q in QUESTIONS for c in q.expect} == {
        "amount",
        "count",
        "percent",
        "amounts",
        "names",
    }


def right_answer(want: Expected) -> dict[str, Any]:
    """An answer holding exactly the expected values, the way a correct one would."""
    figures, names = [], []
    for check in want.checks:
        names += check.names
        for value in check.values:
            unit = {"count": "count", "percent": "percent"}.get(check.kind, "USD")
            shown = value.quantize(Decimal("0.1")) if check.kind == "percent" else value
            figures.append({"label": check.kind, "value": str(shown), "unit": unit, "source": "t"})
    return {"text": "Answer: " + ", ".join(names), "figures": figures, "calculations": []}


def wrong_answers(want: Expected) -> list[dict[str, Any]]:
    """Each a right answer with one check's values off by a dollar, or its names missing
    or (for a ranking) in the wrong order."""
    wrong = []
    right = right_answer(want)
    for index, check in enumerate(want.checks):
        if check.kind == "names":
            others = [n for c in want.checks if c is not check for n in c.names]
            wrong.append({**right, "text": "Answer: " + ", ".join(others)})
            if check.order == "ranked" and len(check.names) > 1:
                shuffled = [*others, *reversed(check.names)]
                wrong.append({**right, "text": "Answer: " + ", ".join(shuffled)})
            continue
        off = Expected(
            question_id=want.question_id,
            checks=[
                ExpectedCheck(kind=c.kind, values=[v + 1 for v in c.values]) if i == index else c
                for i, c in enumerate(want.checks)
            ],
        )
        wrong.append(right_answer(off))
    return wrong


@pytest.mark.parametrize("question", QUESTIONS, ids=[q.id for q in QUESTIONS])
async def test_expected_answers_compute_and_grade(ledger: Pool, question: Question) -> None:
    want = await expected(ledger, question)
    assert len(want.checks) == len(question.expect)
    for check in want.checks:
        assert check.values or check.names, f"{question.id}: an empty expectation"
    assert grade(right_answer(want), want).correct
    for answer in wrong_answers(want):
        verdict = grade(answer, want)
        assert not verdict.correct, answer
        assert verdict.reason


def test_grading_allows_rounding_only_as_shown() -> None:
    want = Expected(
        question_id="q",
        checks=[
            ExpectedCheck(kind="amount", values=[Decimal("48210.55")]),
            ExpectedCheck(kind="percent", values=[Decimal("20.2262")]),
            ExpectedCheck(kind="names", names=["Snowflake", "Anthropic"], order="set"),
        ],
    )
    answer: dict[str, Any] = {
        "text": "Anthropic grew, and so did Snowflake.",
        "figures": [{"label": "Q3", "value": "48210.55", "unit": "USD", "source": "t"}],
        "calculations": [{"expression": "(48210.55 - 40100.00) / 40100.00", "result": "0.20226"}],
    }
    assert grade(answer, want).correct, "a ratio counts as a percentage, names in any order"
    answer["figures"][0]["value"] = "48210.57"
    assert "expected amount 48210.55" in grade(answer, want).reason


async def test_a_question_whose_sql_finds_nothing_is_an_error(ledger: Pool) -> None:
    stale = Question(
        id="stale",
        tenant="acme",
        question="How much did we pay Nobody?",
        expect=[{"kind": "amount", "sql": "SELECT sum(amount) FROM bank_transactions WHERE false"}],
    )
    with pytest.raises(EmptyExpectation, match="stale: check 0"):
        await expected(ledger, stale)


async def test_expected_sql_runs_read_only(ledger: Pool) -> None:
    sneaky = Question(
        id="sneaky",
        tenant="acme",
        question="How much?",
        expect=[{"kind": "count", "sql": "DELETE FROM vendors RETURNING 1"}],
    )
    with pytest.raises(Exception, match="read-only transaction"):
        await expected(ledger, sneaky)


def test_a_bad_line_fails_naming_it(tmp_path: Path) -> None:
    good = QUESTIONS[0].model_dump_json()
    path = tmp_path / "set.jsonl"
    path.write_text(f'{good}\n\n{{"id": "x"}}\n')
    with pytest.raises(ValueError, match=r"set.jsonl:3"):
        load_questions(path)
    path.write_text(f"{good}\n{good}\n")
    with pytest.raises(ValueError, match="duplicated question ids"):
        load_questions(path)
