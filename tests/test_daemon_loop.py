"""The daemon loop's control flow, each path driven by a scripted executor on the stand-in:
parallel tool calls, tool-error repair, answer repair, budgets, guardrail revision and
escalation."""

from __future__ import annotations

from typing import Any

from temporalio.api.enums.v1 import EventType
from temporalio.testing import WorkflowEnvironment

from ledgerd.contracts import Budget, DaemonResult, Outcome
from ledgerd.runtime import Dependencies
from tests._ledger import ACCOUNTANT, BLUE_BOTTLE, small_ledger
from tests._scripted_model import (
    ExecutorScript,
    RoleScript,
    calls,
    last_results,
    scripted_deps,
)
from tests.conftest import record_history, running_worker
from workflows import HydrationRequest, VendorHydration

LOOKUP_CALLS: tuple[tuple[str, dict[str, Any]], ...] = (
    ("lookup_company", {"query": BLUE_BOTTLE}),
    ("list_accounts", {}),
)
LOOKUPS = calls(*LOOKUP_CALLS)
GOOD_UPSERT = (
    "upsert_vendor",
    {
        "canonical_name": "Blue Bottle Coffee",
        "domain": "bluebottlecoffee.com",
        "category": "meals",
        "account_code": "6200",
    },
)


def answer(request: Any, **changes: Any) -> list[tuple[str, dict[str, Any]]]:
    vendor = next(
        p for name, p, err in reversed(last_results(request)) if name == "upsert_vendor" and not err
    )
    record = {
        "vendor_id": vendor["id"],
        "canonical_name": "Blue Bottle Coffee",
        "domain": "bluebottlecoffee.com",
        "category": "meals",
        "account_code": "6200",
        "confidence": 0.6,
        "linked_transactions": 0,
        **changes,
    }
    return [("respond", record)]


async def hydrate(
    env: WorkflowEnvironment, deps: Dependencies, workflow_id: str, budget: Budget | None = None
) -> DaemonResult:
    await small_ledger(deps.pool)
    async with running_worker(env) as queue:
        result = await env.client.execute_workflow(
            VendorHydration.run,
            HydrationRequest(
                tenant_id="acme", principal=ACCOUNTANT, descriptor=BLUE_BOTTLE, budget=budget
            ),
            id=workflow_id,
            task_queue=queue,
        )
    await record_history(env, workflow_id, f"vendor_hydration_{workflow_id}")
    return result


async def outbox(deps: Dependencies) -> list[tuple[str, str]]:
    async with deps.pool.connection() as conn:
        cursor = await conn.execute("SELECT kind, severity FROM notification_outbox ORDER BY id")
        return [(r["kind"], r["severity"]) for r in await cursor.fetchall()]


async def tool_errors(deps: Dependencies) -> list[str]:
    async with deps.pool.connection() as conn:
        cursor = await conn.execute(
            """SELECT block->>'content' AS content FROM transcript_entries,
                      jsonb_array_elements(content) AS block
               WHERE thread = 'executor' AND (block->>'is_error')::boolean ORDER BY turn, position"""
        )
        return [r["content"] for r in await cursor.fetchall()]


async def test_one_turns_tool_calls_run_concurrently(
    time_skipping_env: WorkflowEnvironment, pg_url: str
) -> None:
    script = ExecutorScript([LOOKUPS, calls(GOOD_UPSERT), answer])
    async with scripted_deps(pg_url, script) as deps:
        result = await hydrate(time_skipping_env, deps, "loop-parallel")
    assert result.outcome is Outcome.COMPLETED, result.reason
    history = await time_skipping_env.client.get_workflow_handle("loop-parallel").fetch_history()
    scheduled = [
        e
        for e in history.events
        if e.event_type == EventType.EVENT_TYPE_ACTIVITY_TASK_SCHEDULED
        and e.activity_task_scheduled_event_attributes.activity_type.name == "call_tool"
    ]
    batches = [
        e.activity_task_scheduled_event_attributes.workflow_task_completed_event_id
        for e in scheduled
    ]
    # lookup_company and list_accounts were scheduled by one workflow task: concurrently.
    assert batches[0] == batches[1] != batches[2]
    assert (result.steps, result.tool_calls) == (3, 3)


async def test_a_tool_error_goes_back_to_the_model_which_repairs_the_call(
    time_skipping_env: WorkflowEnvironment, pg_url: str
) -> None:
    bad = ("upsert_vendor", {**GOOD_UPSERT[1], "domain": "Blue Bottle!"})
    script = ExecutorScript([calls(*LOOKUP_CALLS, bad), calls(GOOD_UPSERT), answer])
    async with scripted_deps(pg_url, script) as deps:
        result = await hydrate(time_skipping_env, deps, "loop-tool-repair")
        errors = await tool_errors(deps)
    assert result.outcome is Outcome.COMPLETED, result.reason
    assert len(errors) == 1 and errors[0].startswith("invalid arguments for upsert_vendor: domain:")


async def test_an_invalid_answer_is_returned_with_the_errors_and_repaired(
    time_skipping_env: WorkflowEnvironment, pg_url: str
) -> None:
    script = ExecutorScript(
        [LOOKUPS, calls(GOOD_UPSERT), lambda r: answer(r, confidence=1.7), answer]
    )
    async with scripted_deps(pg_url, script) as deps:
        result = await hydrate(time_skipping_env, deps, "loop-answer-repair")
        errors = await tool_errors(deps)
    assert result.outcome is Outcome.COMPLETED, result.reason
    assert errors == [
        "invalid arguments for respond: confidence: Input should be less than or equal to 1. "
        "Call respond again."
    ]


async def test_running_out_of_steps_ends_the_run_with_a_classified_outcome(
    time_skipping_env: WorkflowEnvironment, pg_url: str
) -> None:
    script = ExecutorScript([calls(("list_accounts", {}))])  # never answers
    async with scripted_deps(pg_url, script) as deps:
        result = await hydrate(time_skipping_env, deps, "loop-budget", Budget(max_steps=3))
        notified = await outbox(deps)
    assert result.outcome is Outcome.BUDGET_EXHAUSTED
    assert result.reason == "step budget of 3 used up"
    assert result.steps == 3 and result.answer is None
    assert notified == [("vendor_hydration.budget_exhausted", "failure")]


async def test_a_guardrail_failure_gets_one_revision_then_escalates_with_a_notification(
    time_skipping_env: WorkflowEnvironment, pg_url: str
) -> None:
    unsupported = lambda r: answer(r, domain="bluebottle.example")  # noqa: E731
    script = ExecutorScript([LOOKUPS, calls(GOOD_UPSERT), unsupported])
    async with scripted_deps(pg_url, script) as deps:
        result = await hydrate(time_skipping_env, deps, "loop-escalate")
        notified = await outbox(deps)
    assert result.outcome is Outcome.ESCALATED
    assert "domain_plausible: no tool returned the domain 'bluebottle.example'" in result.reason
    assert result.verdict is not None and not result.verdict.judge_passed
    assert result.model_calls == 1 + 4 + 2  # plan, four executor turns, two judge calls
    assert notified == [("vendor_hydration.escalated", "attention")]


async def test_a_plan_still_invalid_after_its_repairs_leaves_the_executor_without_one(
    time_skipping_env: WorkflowEnvironment, pg_url: str
) -> None:
    asked: list[int] = []

    def mangled(request: Any) -> list[tuple[str, dict[str, Any]]]:
        asked.append(len(request.messages))
        return [("submit_plan", {"rationale": "no steps"})]  # `steps` is required

    script = ExecutorScript([LOOKUPS, calls(GOOD_UPSERT), answer])
    planner = RoleScript("vendor_hydration", "planner", mangled)
    async with scripted_deps(pg_url, script, planner) as deps:
        result = await hydrate(time_skipping_env, deps, "loop-invalid-plan")
    assert result.outcome is Outcome.COMPLETED, result.reason
    assert len(asked) == 3  # one try and two repairs, each after what was wrong
    assert asked == sorted(asked) and asked[0] < asked[1] < asked[2]
    assert result.plan_rounds == 0 and result.tool_calls == 3
