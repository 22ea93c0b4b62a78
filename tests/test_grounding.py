"""The deterministic numbers-grounding guardrail of the ledger-question daemon."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

import pytest

from ledgerd.daemons._grounding import BadExpression, evaluate, stated_numbers
from ledgerd.daemons._spec import Evidence
from ledgerd.daemons.ledger_question import LedgerAnswer, grounding_checks

RESULT = {
    "rows": [
        {
            "vendor_id": "7c9e6679-7425-40de-944b-e07fc1f90ae7",
            "sum": "48210.55",
            "compare_sum": "40100.00",
            "change_pct": "20.2",
            "share": 0.234,
            "transaction_ids": ["acme-t000123"],
        }
    ],
    "count": 17,
}
EVIDENCE = [
    Evidence(
        tool="query_ledger",
        input={"start_date": "2025-07-01", "end_date": "2025-09-30", "limit": 3},
        output=RESULT,
        is_error=False,
        use_id="step-1-q3",
    )
]


def failed(answer: dict[str, Any], evidence: list[Evidence] = EVIDENCE) -> dict[str, str]:
    checks = grounding_checks(LedgerAnswer.model_validate(answer), evidence)
    return {c.name: c.reason for c in checks if not c.passed}


def answer(text: str, **more: Any) -> dict[str, Any]:
    return {
        "text": text,
        "figures": [{"label": "Q3 spend", "value": "48210.55", "source": "step-1-q3"}],
        "citations": [{"kind": "transaction", "id": "acme-t000123"}],
        **more,
    }


@pytest.mark.parametrize(
    "text",
    [
        "We spent $48,210.55 in Q3 2025 (2025-07-01 to 2025-09-30), up 20.2% on $40,100.00.",
        "About $48.2k over 17 payments; the top 3 vendors. Share: 23.4%.",
        "Spend was $48,211 against $40,100; transaction acme-t000123 is the largest.",
        "Roughly $0.05M.",
    ],
)
def test_grounded_text_passes(text: str) -> None:
    assert failed(answer(text)) == {}


@pytest.mark.parametrize(
    ("text", "culprit"),
    [
        ("We spent $48,300.00 in Q3.", "48,300.00"),
        ("We spent $48,210.55 over 18 payments.", "18"),
        ("Up 21% on last quarter.", "21%"),
        ("Between 2024-07-01 and 2025-09-30.", "2024-07-01"),
    ],
)
def test_an_ungrounded_number_fails(text: str, culprit: str) -> None:
    problems = failed(answer(text))
    assert set(problems) == {"numbers_grounded"}
    assert culprit in problems["numbers_grounded"]


def test_a_shown_calculation_grounds_its_result() -> None:
    text = "Spend grew by $8,110.55 from Q2 to Q3."
    assert "numbers_grounded" in failed(answer(text))
    shown = [{"expression": "48210.55 - 40100.00", "result": "8110.55"}]
    assert failed(answer(text, calculations=shown)) == {}


def test_wrong_arithmetic_or_invented_operands_fail() -> None:
    wrong = [{"expression": "48210.55 - 40100.00", "result": "8200.00"}]
    assert "calculations_correct" in failed(answer("Grew by $8,200.00.", calculations=wrong))
    invented = [{"expression": "48210.55 - 39000.00", "result": "9210.55"}]
    problems = failed(answer("Grew by $9,210.55.", calculations=invented))
    assert "39000.00" in problems["calculations_correct"]


def test_figures_must_come_from_the_call_they_name() -> None:
    bad = answer("Spend was $48,210.55.")
    bad["figures"] = [{"label": "x", "value": "48210.55", "source": "step-1-other"}]
    assert "figures_sourced" in failed(bad)
    bad["figures"] = [{"label": "x", "value": "99.99", "source": "step-1-q3"}]
    assert "figures_sourced" in failed(bad)


def test_citations_must_exist_and_amounts_need_one() -> None:
    cited = answer("Spend was $48,210.55.", citations=[{"kind": "vendor", "id": "nope"}])
    assert "citations_grounded" in failed(cited)
    assert "cites_sources" in failed(answer("Spend was $48,210.55.", citations=[]))


def test_failed_tool_calls_ground_nothing() -> None:
    errored = [Evidence(e.tool, e.input, e.output, True, e.use_id) for e in EVIDENCE]
    assert "numbers_grounded" in failed(answer("Spend was $48,210.55."), errored)


def test_numbers_in_returned_names_are_words_but_descriptor_numbers_are_not() -> None:
    named = [
        Evidence(
            tool="search_vendors",
            input={"text": "phillips"},
            output={"matches": [{"vendor": {"canonical_name": "Phillips 66"}}]},
            is_error=False,
            use_id="step-1-find",
        ),
        Evidence(
            tool="list_transactions",
            input={},
            output={"items": [{"raw_descriptor": "PHILLIPS 66 #4412 OAKLAND"}]},
            is_error=False,
            use_id="step-1-list",
        ),
    ]
    plain = {"text": "Phillips 66 is a vendor.", "figures": [], "citations": []}
    assert failed(plain, named) == {}
    store = {"text": "Phillips 66 store 4412.", "figures": [], "citations": []}
    assert "4412" in failed(store, named)["numbers_grounded"]


def test_labels_and_ids_are_not_numbers() -> None:
    text = "Q3 vs H1 for vendor 7c9e6679-7425-40de-944b-e07fc1f90ae7 and acme-t000123"
    assert stated_numbers(text) == []
    assert [n.value for n in stated_numbers("-$1,200.50 and 3%")] == [
        Decimal("1200.50"),
        Decimal(3),
    ]


def test_evaluate_refuses_anything_but_arithmetic() -> None:
    assert evaluate("(10 + 5) * 2 / 3")[0] == Decimal(10)
    with pytest.raises(BadExpression):
        evaluate("__import__('os').system('true')")
    with pytest.raises(BadExpression):
        evaluate("2 ** 10")


GROWTH = [
    Evidence(
        tool="query_ledger",
        input={"min_amount": "77777.77", "start_date": "2025-07-01", "limit": 3},
        output={
            "period": {"start": "2025-07-01", "end": "2025-09-30"},
            "totals": {"sum": "48210.55", "change": "8110.55", "change_pct": "20.2"},
            "rows": [{"vendor_id": "v-1", "vendor_name": "Figma", "transaction_ids": ["t-1"]}],
        },
        is_error=False,
        use_id="step-1-q3",
    )
]


def plain(text: str, **more: Any) -> dict[str, Any]:
    return {"text": text, "figures": [], "citations": [], **more}


@pytest.mark.parametrize(
    ("text", "grounded"),
    [
        ("Spend grew by $8,110.55 (+20.2%).", True),
        ("Spend fell by $8,110.55 (-20.2%).", False),  # the tools say it grew
        ("A decrease of $8,110.55.", False),
        ("Spend was about $48,000 in Q3.", True),  # a round figure, shown as one
        ("Spend was $47,000.", False),
        ("Over 30 vendors.", False),  # the period's day 30 grounds no count
        ("All of it: 100%.", False),
        ("The top 3 vendors.", True),  # the limit the query asked for
        ("Payments over $77,777.77.", False),  # a filter the model chose proves nothing
        ("Spend was USD48210.55.", True),
        ("Spend was USD99999.99.", False),
    ],
)
def test_direction_precision_and_what_counts_as_evidence(text: str, grounded: bool) -> None:
    assert ("numbers_grounded" not in failed(plain(text), GROWTH)) is grounded


def test_a_percentage_may_be_computed_with_100() -> None:
    shown = [{"expression": "(48210.55 - 40100.00) / 40100.00 * 100", "result": "20.2"}]
    evidence = [*GROWTH, EVIDENCE[0]]
    assert failed(plain("Up 20.2%.", calculations=shown), evidence) == {}


@pytest.mark.parametrize(
    "expression", ["True + 1", "1e999999999999 * 1", "1e308 * 1e308", "1 / 0", "9" * 200]
)
def test_hostile_calculations_fail_the_check_without_crashing_it(expression: str) -> None:
    shown = [{"expression": expression, "result": "1E+999999999"}]
    problems = failed(plain("No figures.", calculations=shown))
    assert "calculations_correct" in problems
    assert len(problems["calculations_correct"]) <= 1000


def test_a_citation_must_be_an_id_of_its_kind() -> None:
    as_transaction = [{"kind": "transaction", "id": "Figma"}]
    assert "citations_grounded" in failed(plain("x", citations=as_transaction), GROWTH)
    vendor_as_transaction = [{"kind": "transaction", "id": "v-1"}]
    assert "citations_grounded" in failed(plain("x", citations=vendor_as_transaction), GROWTH)
    right = [{"kind": "vendor", "id": "v-1"}, {"kind": "transaction", "id": "t-1"}]
    assert failed(plain("x", citations=right), GROWTH) == {}


def test_numbers_of_the_question_itself_are_grounded_but_not_the_tasks_date() -> None:
    task = "Question: Which vendors got more than $10,000?\nToday's date: 2026-11-23"
    text = plain("Two vendors got more than $10,000.00.")
    answer = LedgerAnswer.model_validate(text)
    assert all(c.passed for c in grounding_checks(answer, GROWTH, task))
    assert not all(c.passed for c in grounding_checks(answer, GROWTH))
    counted = LedgerAnswer.model_validate(plain("We paid 23 vendors."))
    assert not all(c.passed for c in grounding_checks(counted, GROWTH, task))
