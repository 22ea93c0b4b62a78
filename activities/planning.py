"""`plan`: the planner model writes a structured plan before anything acts.

The planner thinks, and how a thinking model can be made to answer in a structure differs
per model (see `activities._structured`): structured outputs where supported, else
`submit_plan` offered with `auto`; an invalid plan is repaired once with feedback in the
planner's own thread.
"""

from __future__ import annotations

from pydantic import ValidationError
from temporalio import activity
from temporalio.exceptions import ApplicationError

from activities._structured import structured_answer
from activities.tool_call import describe_validation
from ledgerd import transcript
from ledgerd.contracts import Plan, PlanRequest, PlanResult, PlanStep
from ledgerd.daemons import daemon_spec
from ledgerd.daemons._intent import render_intent
from ledgerd.model_registry import AnswerTool
from ledgerd.plan_refs import references
from ledgerd.prompts import load_prompt
from ledgerd.runtime import dependencies
from tools import CATALOG

SUBMIT_PLAN = AnswerTool(
    name="submit_plan",
    description="Submit the plan: ordered steps, the tools each needs, and their dependencies.",
    schema=Plan.model_json_schema(),
)


def render_plan(plan: Plan) -> str:
    lines = ["Plan:"]
    for step in plan.steps:
        after = f" (after {', '.join(step.depends_on)})" if step.depends_on else ""
        tools = f" [tools: {', '.join(step.tool_names)}]" if step.tool_names else ""
        lines.append(f"- {step.id}: {step.goal}{tools}{after}")
    if plan.intent is not None:
        lines.append(render_intent(plan.intent))
    return "\n".join(lines)


def check_plan(
    plan: Plan,
    allowed: set[str],
    *,
    executable: bool = False,
    done: frozenset[str] = frozenset(),
    needs_intent: bool = False,
) -> list[str]:
    """What is wrong with a plan, in words the planner can act on. For daemons that execute
    plans, each call must name an offered tool, refer only to steps it depends on, and
    (when it has no references) already satisfy the tool's input schema. A daemon whose
    guardrail holds answers to the intent needs one."""
    problems = []
    if needs_intent and plan.intent is None:
        problems.append(
            "the plan has no intent: give `intent` (tenant, metric, aggregation, grouping, "
            "period, compare_period, entity) as you read the task"
        )
    seen: set[str] = set(done)
    with_calls: set[str] = set(done)
    for step in plan.steps:
        if step.id in seen:
            problems.append(f"step {step.id}: the id is already used")
        problems += [f"step {step.id}: unknown tool {t!r}" for t in step.tools if t not in allowed]
        problems += [
            f"step {step.id}: depends on {d!r}, which is not an earlier step"
            for d in step.depends_on
            if d not in seen
        ]
        seen.add(step.id)
        if step.call is None or not executable:
            continue
        problems += [
            f"step {step.id}: depends on {d!r}, which makes no tool call, so nothing to wait for"
            for d in step.depends_on
            if d in seen and d not in with_calls
        ]
        problems += _check_call(step, allowed - {"respond"}, with_calls)
        with_calls.add(step.id)
    return problems


def _check_call(step: PlanStep, allowed: set[str], with_calls: set[str]) -> list[str]:
    assert step.call is not None
    where = f"step {step.id}"
    if step.call.tool not in allowed:
        return [
            f"{where}: unknown tool {step.call.tool!r}; choose from {', '.join(sorted(allowed))}"
        ]
    problems = [
        f"{where}: refers to {ref!r} without depending on it"
        for ref in references(step.call.input)
        if ref not in step.depends_on
    ]
    if not references(step.call.input):
        try:
            CATALOG[step.call.tool].input_model.model_validate(step.call.input)
        except ValidationError as error:
            problems.append(f"{where}: {describe_validation(step.call.tool, error)}")
    return problems


@activity.defn(name="plan")
async def plan(request: PlanRequest) -> PlanResult:
    deps = dependencies()
    spec = daemon_spec(request.daemon)
    prompt = load_prompt(spec.prompt("planner"))
    allowed = set(spec.tools) | {"respond"}
    # Each round of planning owns a band of turn numbers in the planner's thread, so a
    # re-plan continues the same conversation (the planner sees its earlier plan).
    base = (request.round - 1) * 10
    opening = (
        request.replan
        if request.replan is not None
        else f"{request.task}\n\nTools available: {', '.join(sorted(allowed))}"
    )
    await transcript.append(
        deps.pool, request.planner, base, 0, "user", [{"type": "text", "text": opening}]
    )
    planned = await structured_answer(
        deps.settings,
        deps.pool,
        ref=request.planner,
        first_turn=base + 1,
        role="planner",
        prompt=prompt,
        answer=SUBMIT_PLAN,
        model_type=Plan,
        check=lambda p: check_plan(
            p,
            allowed,
            executable=spec.execute_plan,
            done=frozenset(request.done),
            needs_intent=spec.needs_intent and request.round == 1,
        ),
        accepted="Plan accepted.",
    )
    if planned.value is None:
        kind = "PlannerDeclined" if planned.refusal is not None else "InvalidPlan"
        raise ApplicationError(
            f"the planner did not produce a valid plan: {'; '.join(planned.problems)}"[:500],
            type=kind,
            non_retryable=True,
        )
    if request.round == 1:
        await transcript.append(
            deps.pool,
            request.executor,
            0,
            0,
            "user",
            [{"type": "text", "text": f"{request.task}\n\n{render_plan(planned.value)}"}],
        )
    return PlanResult(
        plan=planned.value,
        usage=planned.usage,
        model=planned.model,
        prompt_version=prompt.version,
        model_calls=planned.calls,
    )
