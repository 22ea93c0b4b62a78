"""Relevance checks of ledger answers against the plan's intent, on hand-built evidence."""

from __future__ import annotations

import datetime as dt
from typing import Any

from ledgerd.contracts import Entity, Intent, Period
from ledgerd.daemons._intent import intent_in, render_intent
from ledgerd.daemons._relevance import (
    named_periods,
    query_mismatches,
    relevance_checks,
    same_tenant,
)
from ledgerd.daemons._spec import Evidence
from ledgerd.daemons.ledger_question import LedgerAnswer

Q3 = Period(start=dt.date(2025, 7, 1), end=dt.date(2025, 9, 30))
Q2 = Period(start=dt.date(2025, 4, 1), end=dt.date(2025, 6, 30))
SOFTWARE = Entity(categories=["software"])


def task(question: str, intent: Intent) -> str:
    return f"Question: {question}\nTenant: acme\nToday's date: 2026-01-15\n\nPlan:\n- q3: …\n{render_intent(intent)}"


def query(use_id: str, period: Period, output: dict[str, Any], **more: Any) -> Evidence:
    spec = {"start_date": period.start.isoformat(), "end_date": period.end.isoformat(), **more}
    return Evidence("query_ledger", spec, output, False, use_id)


def failed(answer: dict[str, Any], evidence: list[Evidence], text: str) -> dict[str, str]:
    checks = relevance_checks(LedgerAnswer.model_validate(answer), evidence, text)
    return {c.name: c.reason for c in checks if not c.passed}


def test_the_intent_travels_in_the_task_and_back() -> None:
    intent = Intent(tenant="acme", metric="sum", aggregation="total", period=Q3, entity=SOFTWARE)
    assert intent_in(task("How much?", intent)) == intent
    assert intent_in("Question: Intent: {not json}") is None


def test_a_figure_from_another_period_names_both_periods() -> None:
    intent = Intent(tenant="acme", metric="sum", aggregation="total", period=Q3, entity=SOFTWARE)
    totals = {"totals": {"sum": "900.00", "transaction_count": 3}}
    evidence = [query("step-1-q3", Q3, totals, categories=["software"])]
    evidence.append(query("toolu_q2", Q2, {"totals": {"sum": "500.00"}}, categories=["software"]))
    answer = {
        "text": "Software spend in Q3 2025 was $500.00.",
        "figures": [{"label": "software", "value": "500.00", "source": "toolu_q2"}],
    }
    problems = failed(answer, evidence, task("How much on software in Q3 2025?", intent))
    reason = problems["figures_match_intent"]
    assert "2025-04-01 to 2025-06-30" in reason and "2025-07-01 to 2025-09-30" in reason
    # The intent's own query found transactions, and no figure came from it.
    assert "step-1-q3" in problems["figures_present"]


def test_metric_category_direction_and_grouping_mismatches_are_named() -> None:
    intent = Intent(
        tenant="acme",
        metric="average",
        aggregation="per_group",
        grouping=["month"],
        period=Q3,
        entity=SOFTWARE,
    )
    item = query("s", Q3, {}, metrics=["sum"], categories=["travel"], direction="in")
    said = " | ".join(query_mismatches(item, intent))
    assert "measures the sum, but the question asks for the average" in said
    assert "not grouped, but the question asks for each month" in said
    assert "about travel, but the question asks about software" in said
    assert "counts money received, but the question asks about spend" in said


def test_the_highest_month_must_be_stated_not_the_total() -> None:
    intent = Intent(
        tenant="acme",
        metric="sum",
        aggregation="top_group",
        grouping=["month"],
        period=Period(start=dt.date(2025, 1, 1), end=dt.date(2025, 12, 31)),
        entity=SOFTWARE,
    )
    rows = [{"month": "2025-03", "sum": "700.00"}, {"month": "2025-05", "sum": "300.00"}]
    output = {"rows": rows, "totals": {"sum": "1000.00", "transaction_count": 9}}
    year = Period(start=dt.date(2025, 1, 1), end=dt.date(2025, 12, 31))
    evidence = [query("m", year, output, group_by=["month"], categories=["software"])]
    right = {
        "text": "The highest month was 2025-03: $700.00.",
        "figures": [{"label": "March", "value": "700.00", "source": "m"}],
    }
    question = task("Which month had the highest software spend in 2025?", intent)
    assert failed(right, evidence, question) == {}
    total = {
        **right,
        "text": "Software spend in 2025 was $1,000.00.",
        "figures": [{"label": "2025", "value": "1000.00", "source": "m"}],
    }
    assert (
        "2025-03 at 700.00; the answer states $1,000.00"
        in failed(total, evidence, question)["aggregation_answered"]
    )


def test_another_tenant_and_another_period_in_the_question_fail() -> None:
    intent = Intent(tenant="globex", metric="sum", aggregation="total", period=Q2)
    problems = failed(
        {"text": "None."}, [], task("Show totals for tenant globex in Q3 2025", intent)
    )
    assert "tenant 'globex'" in problems["tenant_in_scope"]
    assert "Q3 2025" in problems["intent_matches_question"]
    assert same_tenant("Acme Robotics Inc.", "acme") and not same_tenant("globex", "acme")
    assert [
        label for label, _ in named_periods("Q3 2025 versus the first half of 2025, or 2024")
    ] == [
        "Q3 2025",
        "the first half of 2025",
        "2024",
    ]
