"""The three questions of issue 12, through real LedgerQuestion workflows over the demo
ledger: answered right by the stand-in, and, answered the way the issue saw them answered
(the stand-in misbehaving), failed by the guardrail with a reason that names the mismatch.
"""

from __future__ import annotations

from decimal import Decimal

from temporalio.testing import WorkflowEnvironment

from accounting.principals import Principal, Role
from ledgerd.contracts import DaemonResult, Outcome
from ledgerd.runtime import Dependencies
from starter import start_ledger_question
from tests.conftest import running_worker
from workflows.ledger_question import QuestionMode

ACME = Principal(id="acme-viewer", tenant_id="acme", role=Role.VIEWER)
HIGHEST_MONTH = "Which month had the highest software spend in 2025?"
AVERAGE_PAYROLL = "What was our average monthly payroll in 2025?"
OTHER_TENANT = "Show totals for tenant globex"


async def ask(
    env: WorkflowEnvironment,
    question: str,
    mode: QuestionMode = QuestionMode.PLANNED,
    misbehave: str | None = None,
) -> DaemonResult:
    # The marker selects the stand-in's fault mode for this run only; the stand-in reads it
    # out of the question, the guardrail never does.
    asked = f"{question} standin-misbehave: {misbehave}" if misbehave else question
    async with running_worker(env) as queue:
        handle = await start_ledger_question(
            env.client, principal=ACME, question=asked, mode=mode, task_queue=queue
        )
        return await handle.result()


def failed_reasons(result: DaemonResult) -> str:
    assert result.verdict is not None, result
    return " | ".join(result.verdict.reasons())


async def monthly_software(deps: Dependencies) -> dict[str, Decimal]:
    async with deps.pool.connection() as conn:
        cursor = await conn.execute(
            """SELECT to_char(t.posted_date, 'YYYY-MM') AS month, sum(-t.amount) AS total
               FROM bank_transactions t
               LEFT JOIN accounts a ON a.tenant_id = t.tenant_id AND a.code = t.account_code
               LEFT JOIN vendors v ON v.tenant_id = t.tenant_id AND v.id = t.vendor_id
               WHERE t.tenant_id = 'acme' AND t.amount < 0
                 AND t.posted_date BETWEEN '2025-01-01' AND '2025-12-31'
                 AND coalesce(a.account_type, 'expense') NOT IN ('asset', 'liability', 'equity')
                 AND coalesce(a.standard_category, v.category) = 'software'
               GROUP BY 1"""
        )
        return {row["month"]: row["total"] for row in await cursor.fetchall()}


async def test_the_highest_month_is_answered_and_the_years_total_is_refused(
    time_skipping_env: WorkflowEnvironment, seeded_deps: Dependencies
) -> None:
    months = await monthly_software(seeded_deps)
    top = max(months, key=lambda m: months[m])
    right = await ask(time_skipping_env, HIGHEST_MONTH)
    assert right.outcome is Outcome.COMPLETED, right.reason
    assert right.answer is not None and top in right.answer["text"]
    assert f"{months[top]:,.2f}" in right.answer["text"]

    total = await ask(time_skipping_env, HIGHEST_MONTH, misbehave="wrong_aggregation")
    assert total.outcome is Outcome.ESCALATED, total.reason
    assert total.answer is not None
    assert f"{sum(months.values()):,.2f}" in total.answer["text"]  # the answer
    reasons = failed_reasons(total)
    assert "figures_match_intent" in reasons and "not grouped" in reasons, reasons
    assert "aggregation_answered" in reasons and f"{top} at {months[top]:,.2f}" in reasons


async def test_the_average_monthly_payroll_is_the_mean_of_the_months(
    time_skipping_env: WorkflowEnvironment, seeded_deps: Dependencies
) -> None:
    async with seeded_deps.pool.connection() as conn:
        cursor = await conn.execute(
            """SELECT sum(-t.amount) AS total, count(*) AS n,
                      count(DISTINCT date_trunc('month', t.posted_date)) AS months
               FROM bank_transactions t
               LEFT JOIN accounts a ON a.tenant_id = t.tenant_id AND a.code = t.account_code
               LEFT JOIN vendors v ON v.tenant_id = t.tenant_id AND v.id = t.vendor_id
               WHERE t.tenant_id = 'acme' AND t.amount < 0
                 AND t.posted_date BETWEEN '2025-01-01' AND '2025-12-31'
                 AND coalesce(a.standard_category, v.category) = 'payroll'"""
        )
        row = await cursor.fetchone()
    assert row is not None and row["months"] == 12
    mean = (row["total"] / 12).quantize(Decimal("0.01"))
    right = await ask(time_skipping_env, AVERAGE_PAYROLL)
    assert right.outcome is Outcome.COMPLETED, right.reason
    assert right.answer is not None and f"${mean:,.2f} per month" in right.answer["text"]

    wrong = await ask(time_skipping_env, AVERAGE_PAYROLL, misbehave="wrong_aggregation")
    assert wrong.outcome is Outcome.ESCALATED, wrong.reason
    reasons = failed_reasons(wrong)
    assert "figures_match_intent" in reasons and "not grouped" in reasons, reasons
    assert f"average per month: {mean:,.2f}" in reasons, reasons


async def test_a_question_about_another_tenant_is_refused_saying_why(
    time_skipping_env: WorkflowEnvironment, seeded_deps: Dependencies
) -> None:
    planned = await ask(time_skipping_env, OTHER_TENANT)
    assert planned.outcome is Outcome.REFUSED, planned
    assert "'globex'" in planned.reason and "'acme'" in planned.reason
    assert planned.tool_calls == 0 and planned.answer is None
    # Step by step there is no planner to refuse: the executor answers acme's figures, as
    # the issue saw, and the guardrail names the tenant.
    stepwise = await ask(time_skipping_env, OTHER_TENANT, QuestionMode.STEPWISE)
    assert stepwise.outcome is Outcome.ESCALATED, stepwise.reason
    assert "tenant_in_scope: the question is about tenant 'globex'" in failed_reasons(stepwise)
