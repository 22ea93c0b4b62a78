"""`tool: <name>`: one tool call of the model, as its own activity.

Failures the model can fix (invalid arguments, a refused request) come back to it as a
`tool_result` with `is_error`, in words it can act on. Failures it cannot fix (the database is
down) raise, so Temporal retries the activity; the idempotency key makes that safe for
mutating tools.
"""

from __future__ import annotations

from opentelemetry import trace
from pydantic import BaseModel, ValidationError
from temporalio import activity

from accounting.errors import PlatformError
from ledgerd import transcript
from ledgerd.contracts import ToolCallRequest, ToolOutcome
from ledgerd.daemons import daemon_spec
from ledgerd.injection.conversation import held_reason, result_flags
from ledgerd.memory import EmbeddingError
from ledgerd.metrics import timed_tool_call
from ledgerd.plan_refs import UnresolvedReference, references, resolve
from ledgerd.runtime import dependencies
from tools import toolset
from tools._declaration import ToolContext


def describe_validation(tool: str, error: ValidationError) -> str:
    problems = [
        f"{'.'.join(str(p) for p in item['loc']) or 'input'}: {item['msg']}"
        for item in error.errors()
    ]
    return f"invalid arguments for {tool}: " + "; ".join(problems)


def summarize(result: BaseModel) -> str:
    """A short, PII-free line for history and the trace: sizes and ids, not contents."""
    parts = []
    for name, value in result:
        if isinstance(value, list):
            parts.append(f"{len(value)} {name}")
        elif name in {"id", "vendor_id", "linked", "total", "code"}:
            parts.append(f"{name}={value}")
    return ", ".join(parts) or type(result).__name__


_tracer = trace.get_tracer("ledgerd.tools")


@activity.defn(name="call_tool")
@timed_tool_call  # ledgerd.tool.duration
async def call_tool(request: ToolCallRequest) -> ToolOutcome:
    with _tracer.start_as_current_span(
        f"execute_tool {request.call.name}",
        attributes={
            "gen_ai.operation.name": "execute_tool",
            "gen_ai.tool.name": request.call.name,
            "gen_ai.tool.call.id": request.call.id,
            "ledgerd.tenant": request.principal.tenant_id,
        },
    ) as span:
        outcome = await _call_tool(request)
        span.set_attribute("ledgerd.tool.is_error", outcome.is_error)
        return outcome


async def _resolve_planned(request: ToolCallRequest) -> str | None:
    """For a plan step: resolve its `$from` references against the earlier steps' results.
    Returns why it cannot run."""
    if not references(request.call.input):
        return None
    deps = dependencies()
    done = request.steps_done or {}
    by_id = await transcript.tool_results_by_id(deps.pool, request.ref)
    outputs = {
        step: by_id[use_id][1]
        for step, use_id in done.items()
        if use_id in by_id and not by_id[use_id][2]
    }
    try:
        request.call.input = resolve(request.call.input, outputs)
    except UnresolvedReference as error:
        return str(error)
    return None


async def _call_tool(request: ToolCallRequest) -> ToolOutcome:
    deps = dependencies()
    call = request.call
    tools = toolset(*daemon_spec(request.daemon).tools)
    tool = tools.get(call.name)
    is_error = True
    planned = request.steps_done is not None
    unresolved = await _resolve_planned(request) if planned else None
    flags = []
    # The injection gate: a mutating call whose arguments trace back to instruction-like
    # data is not run (ledgerd.injection); the model hears why, the run records it.
    held = (
        await held_reason(deps.pool, request.ref, call)
        if unresolved is None and tool is not None and tool.mutating
        else None
    )
    if unresolved is not None:
        content = summary = unresolved
    elif tool is None:
        content = f"unknown tool {call.name!r}; available tools: {', '.join(sorted(tools))}"
        summary = "unknown tool"
    elif held is not None:
        content = summary = f"Held for a person's approval, not run: {held}"
    else:
        try:
            result = await tool.invoke(
                deps.pool,
                request.principal,
                call.input,
                request.idempotency_key,
                ToolContext(run_id=request.ref.run_id, conversation_id=request.conversation_id),
            )
        except ValidationError as error:
            content = summary = describe_validation(call.name, error)
        except PlatformError as error:
            # The platform's own words (ids, keys, what is allowed), never row contents: the
            # re-planner only sees this summary, so it must say what to change.
            content = summary = f"{type(error).__name__}: {error}"
        except EmbeddingError as error:
            if error.retryable:
                raise  # the provider is busy or down: Temporal retries the activity
            # A refused embedding (bad key, bad input) will not fix itself by retrying; the
            # model hears of it and can do without memory.
            content = f"memory is unavailable: {error}"
            summary = "EmbeddingError"
        else:
            content, summary, is_error = result.model_dump_json(), summarize(result), False
            flags = result_flags(call, content)
    block: dict[str, object] = {"type": "tool_result", "tool_use_id": call.id, "content": content}
    if is_error:
        block["is_error"] = True
    answered = transcript.Entry(request.turn, request.position, "user", [block])
    if planned:
        # No model turn wrote this step's tool_use, so the runtime records it, together
        # with its result: a step that never completes leaves neither, never a call
        # without its answer (which the API refuses on the next request).
        use = {"type": "tool_use", "id": call.id, "name": call.name, "input": call.input}
        position = request.position * 2
        answered = transcript.Entry(request.turn, position, "user", [block])
        await transcript.append_all(
            deps.pool,
            request.ref,
            transcript.Entry(request.turn, position - 1, "assistant", [use]),
            answered,
        )
    else:
        await transcript.append_all(deps.pool, request.ref, answered)
    return ToolOutcome(
        tool_use_id=call.id,
        name=call.name,
        is_error=is_error,
        summary=summary[:300],
        flags=flags,
        held=held,
    )
