"""Executing a plan: independent steps concurrently, dependent steps after their inputs (with
`$from` references resolved), a failed step re-planned a bounded number of times.

The planner, executor and judge are scripted on a real offline-model server, so each path
is forced; the tools, PostgreSQL and Temporal are real.
"""

from __future__ import annotations

from typing import Any

import pytest
from temporalio.api.enums.v1 import EventType
from temporalio.client import WorkflowHistory
from temporalio.converter import DataConverter
from temporalio.testing import WorkflowEnvironment

from accounting.principals import Principal, Role
from activities.planning import check_plan
from ledgerd.contracts import DaemonResult, Outcome, Plan
from ledgerd.runtime import Dependencies
from ledgerd.trace import load_trace
from standin import MessagesRequest
from standin._policy import user_text
from tests._scripted_model import RoleScript, scripted_deps
from tests.conftest import record_history, running_worker
from workflows import LedgerQuestion, QuestionRequest

VIEWER = Principal(id="acme-viewer", tenant_id="acme", role=Role.VIEWER)
Reply = list[tuple[str, dict[str, Any]]]


def step(id: str, tool: str, input: dict[str, Any], *after: str) -> dict[str, Any]:
    return {
        "id": id,
        "goal": f"run {tool}",
        "call": {"tool": tool, "input": input},
        "depends_on": list(after),
    }


def vendor_of(search_step: str) -> dict[str, Any]:
    return {"vendor_id": {"$from": search_step, "path": "matches.0.vendor.id"}}


def rounds_so_far(request: MessagesRequest) -> int:
    return 1 + user_text(request).count("Re-plan:")


def planner(plans: dict[int, list[dict[str, Any]]]) -> RoleScript:
    def reply(request: MessagesRequest) -> Reply:
        steps = plans[min(rounds_so_far(request), max(plans))]
        plan = {"steps": steps, "rationale": "scripted", "intent": {"tenant": "acme"}}
        return [("submit_plan", plan)]

    return RoleScript("ledger_question", "planner", reply)


def answering(text: str) -> RoleScript:
    return RoleScript(
        "ledger_question",
        "executor",
        lambda request: [("respond", {"text": text, "figures": [], "citations": []})],
    )


PASSING_JUDGE = RoleScript(
    "ledger_question",
    "judge",
    lambda request: [("submit_verdict", {"passed": True, "reasons": ["relevant"]})],
)


async def ask(
    env: WorkflowEnvironment, deps: Dependencies, workflow_id: str, question: str
) -> tuple[DaemonResult, WorkflowHistory]:
    async with running_worker(env) as queue:
        result = await env.client.execute_workflow(
            LedgerQuestion.run,
            QuestionRequest(tenant_id="acme", principal=VIEWER, question=question),
            id=workflow_id,
            task_queue=queue,
        )
    history = await env.client.get_workflow_handle(workflow_id).fetch_history()
    return result, history


async def tool_steps(
    history: WorkflowHistory, converter: DataConverter
) -> dict[str, tuple[int, int | None]]:
    """Per plan step (by its UI summary): (the workflow task that scheduled it, the event id
    of its completion). Summaries are encrypted in history: read through the codec."""
    scheduled: dict[int, str] = {}
    found: dict[str, tuple[int, int | None]] = {}
    for event in history.events:
        if event.event_type == EventType.EVENT_TYPE_ACTIVITY_TASK_SCHEDULED:
            attributes = event.activity_task_scheduled_event_attributes
            if attributes.activity_type.name != "call_tool":
                continue
            (summary,) = await converter.decode([event.user_metadata.summary], [str])
            scheduled[event.event_id] = summary
            found[summary] = (attributes.workflow_task_completed_event_id, None)
        elif event.event_type == EventType.EVENT_TYPE_ACTIVITY_TASK_COMPLETED:
            done = scheduled.get(event.activity_task_completed_event_attributes.scheduled_event_id)
            if done is not None:
                found[done] = (found[done][0], event.event_id)
    return found


def by_step(steps: dict[str, tuple[int, int | None]], step_id: str) -> tuple[int, int | None]:
    return next(v for k, v in steps.items() if f"[{step_id}]" in k)


async def executor_inputs(deps: Dependencies) -> dict[str, dict[str, Any]]:
    async with deps.pool.connection() as conn:
        cursor = await conn.execute(
            """SELECT block->>'id' AS id, block->'input' AS input
               FROM transcript_entries, jsonb_array_elements(content) AS block
               WHERE thread = 'executor' AND block->>'type' = 'tool_use'"""
        )
        return {row["id"]: row["input"] for row in await cursor.fetchall()}


async def test_independent_steps_run_together_and_a_dependent_step_waits_for_its_input(
    time_skipping_env: WorkflowEnvironment, seeded_pg_url: str
) -> None:
    plan = [
        step("find", "search_vendors", {"text": "Amazon Web Services"}),
        step("cats", "list_standard_categories", {}),
        step("vendor", "get_vendor", vendor_of("find"), "find"),
    ]
    scripts = (planner({1: plan}), answering("Amazon Web Services is a vendor."), PASSING_JUDGE)
    async with scripted_deps(seeded_pg_url, *scripts) as deps:
        result, history = await ask(
            time_skipping_env, deps, "plan-parallel", "Who is Amazon Web Services?"
        )
        inputs = await executor_inputs(deps)
        async with deps.pool.connection() as conn:
            trace = await load_trace(time_skipping_env.client, conn, "plan-parallel")
    await record_history(time_skipping_env, "plan-parallel", "ledger_question_planned")
    assert result.outcome is Outcome.COMPLETED, result.reason
    steps = await tool_steps(history, time_skipping_env.client.data_converter)
    find, cats, vendor = by_step(steps, "find"), by_step(steps, "cats"), by_step(steps, "vendor")
    assert find[0] == cats[0], "independent steps are scheduled by one workflow task"
    assert find[1] is not None and vendor[0] > find[1], "the dependent step waits for its input"
    found_id = inputs["step-1-vendor"]["vendor_id"]
    assert isinstance(found_id, str) and len(found_id) == 36, "the reference was resolved"
    assert (result.plan_rounds, result.tool_calls, result.steps) == (1, 3, 1)
    assert result.model_calls == 3  # planner, one executor turn, judge
    # The decision trace shows the plan's steps under the plan, with their resolved inputs.
    executed = trace.plans[0].executed
    assert [t.tool_use_id for t in executed] == ["step-1-find", "step-1-cats", "step-1-vendor"]
    assert executed[2].arguments == {"vendor_id": found_id}
    assert trace.totals.tool_calls == 3


async def test_a_failed_step_is_replanned_and_the_new_plan_uses_what_is_done(
    time_skipping_env: WorkflowEnvironment, seeded_pg_url: str
) -> None:
    plans = {
        1: [
            step("miss", "search_vendors", {"text": "zzqx no such vendor"}),
            step("cats", "list_standard_categories", {}),
            step("vendor", "get_vendor", vendor_of("miss"), "miss"),
        ],
        2: [
            step("find", "search_vendors", {"text": "Amazon Web Services"}),
            step("vendor2", "get_vendor", vendor_of("find"), "find"),
        ],
    }
    scripts = (planner(plans), answering("Found it on the second plan."), PASSING_JUDGE)
    async with scripted_deps(seeded_pg_url, *scripts) as deps:
        result, history = await ask(time_skipping_env, deps, "plan-replan", "Who is AWS?")
    await record_history(time_skipping_env, "plan-replan", "ledger_question_replanned")
    assert result.outcome is Outcome.COMPLETED, result.reason
    assert result.plan_rounds == 2
    summaries = await time_skipping_env.client.data_converter.decode(
        [
            e.user_metadata.summary
            for e in history.events
            if e.event_type == EventType.EVENT_TYPE_ACTIVITY_TASK_SCHEDULED
        ]
    )
    assert any("re-plan 2: ledger_question" in s for s in summaries)
    # Round 1: three steps ran (one failed); round 2: two more.
    assert result.tool_calls == 5


async def test_replanning_is_bounded_and_the_executor_still_answers(
    time_skipping_env: WorkflowEnvironment, seeded_pg_url: str
) -> None:
    def failing(round_: int) -> list[dict[str, Any]]:
        return [
            step(f"miss{round_}", "search_vendors", {"text": "zzqx no such vendor"}),
            step(f"vendor{round_}", "get_vendor", vendor_of(f"miss{round_}"), f"miss{round_}"),
        ]

    scripts = (
        planner({n: failing(n) for n in (1, 2, 3, 4, 5)}),
        answering("No vendor by that name is in the ledger."),
        PASSING_JUDGE,
    )
    async with scripted_deps(seeded_pg_url, *scripts) as deps:
        result, _ = await ask(time_skipping_env, deps, "plan-bounded", "Who is Zzqx?")
    assert result.outcome is Outcome.COMPLETED, result.reason
    assert result.plan_rounds == 3  # the first plan and two re-plans (max_replans)
    assert result.tool_calls == 6


@pytest.mark.parametrize(
    ("plan", "problem"),
    [
        ([step("a", "get_vendor", vendor_of("b"))], "refers to 'b' without depending on it"),
        ([step("a", "drop_tables", {})], "unknown tool 'drop_tables'"),
        ([step("a", "search_vendors", {"txt": "x"})], "invalid arguments for search_vendors"),
        (
            [step("a", "search_vendors", {"text": "x"}), step("a", "list_standard_categories", {})],
            "the id is already used",
        ),
        (
            [
                {"id": "think", "goal": "compare the totals"},
                step("b", "list_standard_categories", {}, "think"),
            ],
            "makes no tool call, so nothing to wait for",
        ),
        (
            [step("a", "search_vendors", {"text": "x", "txet": "y"})],
            "txet",  # a misspelt field is refused, not silently dropped
        ),
    ],
)
def test_a_plan_is_checked_before_anything_runs(plan: list[dict[str, Any]], problem: str) -> None:
    allowed = {"search_vendors", "get_vendor", "list_standard_categories", "respond"}
    problems = check_plan(Plan.model_validate({"steps": plan}), allowed, executable=True)
    assert any(problem in p for p in problems), problems


def test_a_replan_may_refer_to_steps_done_earlier() -> None:
    plan = Plan.model_validate({"steps": [step("v", "get_vendor", vendor_of("find"), "find")]})
    allowed = {"get_vendor", "respond"}
    assert check_plan(plan, allowed, executable=True, done=frozenset({"find"})) == []
    assert check_plan(plan, allowed, executable=True) != []


def revising(first: str, then: str) -> RoleScript:
    """An executor that states `first` until the guardrail rejects it, then `then`."""

    def reply(request: MessagesRequest) -> Reply:
        text = then if "The guardrail rejected your answer" in user_text(request) else first
        return [("respond", {"text": text, "figures": [], "citations": []})]

    return RoleScript("ledger_question", "executor", reply)


@pytest.mark.parametrize(
    ("revised", "outcome", "executor_turns"),
    [
        ("Amazon Web Services is a vendor of ours.", Outcome.COMPLETED, 2),
        ("It cost $12,345.00 in all.", Outcome.ESCALATED, 2),
    ],
)
async def test_an_ungrounded_number_gets_one_revision_then_escalates(
    time_skipping_env: WorkflowEnvironment,
    seeded_pg_url: str,
    revised: str,
    outcome: Outcome,
    executor_turns: int,
) -> None:
    plan = [step("find", "search_vendors", {"text": "Amazon Web Services"})]
    scripts = (
        planner({1: plan}),
        revising("We paid them $98,765.43 last year.", revised),
        PASSING_JUDGE,
    )
    async with scripted_deps(seeded_pg_url, *scripts) as deps:
        result, _ = await ask(time_skipping_env, deps, f"plan-grounding-{outcome}", "Who is AWS?")
    assert result.outcome is outcome, result.reason
    assert result.steps == executor_turns
    if outcome is Outcome.ESCALATED:
        assert "numbers_grounded" in result.reason and "12,345.00" in result.reason


async def test_a_planner_that_never_plans_validly_leaves_the_executor_to_work_step_by_step(
    time_skipping_env: WorkflowEnvironment, seeded_pg_url: str
) -> None:
    invalid = [step("a", "drop_tables", {})]
    scripts = (planner({1: invalid}), answering("No figures to give."), PASSING_JUDGE)
    async with scripted_deps(seeded_pg_url, *scripts) as deps:
        result, history = await ask(time_skipping_env, deps, "plan-invalid", "Who is AWS?")
    assert result.outcome is Outcome.COMPLETED, result.reason
    assert result.plan_rounds == 0 and result.steps == 1
    failures = [
        e for e in history.events if e.event_type == EventType.EVENT_TYPE_ACTIVITY_TASK_FAILED
    ]
    assert len(failures) == 1  # the plan activity, not retried: an invalid plan is final


@pytest.mark.parametrize(
    ("fault", "outcome"),
    [({"status": 400, "times": 1}, Outcome.FAILED), ({"kind": "refusal"}, Outcome.REFUSED)],
    ids=["a refused request fails fast", "a declined plan is a refusal"],
)
async def test_a_planner_that_cannot_answer_at_all_ends_the_question(
    time_skipping_env: WorkflowEnvironment,
    seeded_pg_url: str,
    fault: dict[str, Any],
    outcome: Outcome,
) -> None:
    # The first request is the planner's. Only an invalid plan is worked around: a 400 or a
    # refusal would meet the executor just the same.
    plan = [step("find", "search_vendors", {"text": "Amazon Web Services"})]
    scripts = (planner({1: plan}), answering("Never asked."), PASSING_JUDGE)
    async with scripted_deps(seeded_pg_url, *scripts, faults=[fault]) as deps:
        result, history = await ask(time_skipping_env, deps, f"plan-{outcome}", "Who is AWS?")
    assert result.outcome is outcome, result.reason
    assert result.steps == 0 and result.tool_calls == 0
    scheduled = [
        e.activity_task_scheduled_event_attributes.activity_type.name
        for e in history.events
        if e.event_type == EventType.EVENT_TYPE_ACTIVITY_TASK_SCHEDULED
    ]
    assert "model_turn" not in scheduled and "call_tool" not in scheduled
    assert scheduled[-1] == "notify"
