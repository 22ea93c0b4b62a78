"""`plan`: the planner model writes a structured plan before anything acts.

The planner runs with extended thinking, which the API does not allow together with a
forced `tool_choice`; so `submit_plan` is offered with `auto` and a reply without it is
repaired once with feedback in the planner's own thread.
"""

from __future__ import annotations

from pydantic import ValidationError
from temporalio import activity
from temporalio.exceptions import ApplicationError

from activities._model_client import call_model, content_blocks, record_call, usage_of
from activities.tool_call import describe_validation
from ledgerd import transcript
from ledgerd.contracts import Plan, PlanRequest, PlanResult, PlanStep, Usage
from ledgerd.daemons import daemon_spec
from ledgerd.plan_refs import references
from ledgerd.prompts import load_prompt
from ledgerd.runtime import dependencies
from tools import CATALOG

SUBMIT_PLAN = {
    "name": "submit_plan",
    "description": "Submit the plan: ordered steps, the tools each needs, and their dependencies.",
    "input_schema": Plan.model_json_schema(),
}


def render_plan(plan: Plan) -> str:
    lines = ["Plan:"]
    for step in plan.steps:
        after = f" (after {', '.join(step.depends_on)})" if step.depends_on else ""
        tools = f" [tools: {', '.join(step.tool_names)}]" if step.tool_names else ""
        lines.append(f"- {step.id}: {step.goal}{tools}{after}")
    return "\n".join(lines)


def check_plan(
    plan: Plan, allowed: set[str], *, executable: bool = False, done: frozenset[str] = frozenset()
) -> list[str]:
    """What is wrong with a plan, in words the planner can act on. For daemons that execute
    plans, each call must name an offered tool, refer only to steps it depends on, and
    (when it has no references) already satisfy the tool's input schema."""
    problems = []
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
    usage = Usage()
    for turn in (base + 1, base + 3):  # one try and one repair
        messages = await transcript.messages(deps.pool, request.planner)
        message, latency = await call_model(
            deps.settings,
            role="planner",
            prompt=prompt,
            messages=messages,
            tools=[SUBMIT_PLAN],
            thinking=True,
        )
        await transcript.append(
            deps.pool, request.planner, turn, 0, "assistant", content_blocks(message)
        )
        await record_call(deps.pool, request.planner, turn, "planner", prompt, message, latency)
        step_usage = usage_of(message)
        usage += step_usage
        calls = [b for b in message.content if b.type == "tool_use" and b.name == "submit_plan"]
        feedback: list[dict[str, object]]
        if not calls:
            feedback = [{"type": "text", "text": "Call submit_plan with the plan."}]
        else:
            try:
                result = Plan.model_validate(calls[0].input)
                problems = check_plan(
                    result,
                    allowed,
                    executable=spec.execute_plan,
                    done=frozenset(request.done),
                )
            except ValidationError as error:
                problems = [str(error)]
            if not problems:
                await transcript.append(
                    deps.pool,
                    request.planner,
                    turn + 1,
                    1,
                    "user",
                    [
                        {
                            "type": "tool_result",
                            "tool_use_id": calls[0].id,
                            "content": "Plan accepted.",
                        }
                    ],
                )
                if request.round == 1:
                    await transcript.append(
                        deps.pool,
                        request.executor,
                        0,
                        0,
                        "user",
                        [{"type": "text", "text": f"{request.task}\n\n{render_plan(result)}"}],
                    )
                return PlanResult(
                    plan=result, usage=usage, model=message.model, prompt_version=prompt.version
                )
            feedback = [
                {
                    "type": "tool_result",
                    "tool_use_id": calls[0].id,
                    "is_error": True,
                    "content": "The plan is invalid: " + "; ".join(problems),
                }
            ]
        await transcript.append(deps.pool, request.planner, turn + 1, 1, "user", feedback)
    raise ApplicationError(
        "the planner did not produce a valid plan", type="InvalidPlan", non_retryable=True
    )
