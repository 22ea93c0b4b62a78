"""ledgerd's OpenTelemetry metrics: what model calls cost, how long each step takes, how
guardrails judge. Recorded from activities; workflow-side metrics (daemon outcomes, approval
waits) go through Temporal's replay-aware meter instead, see `workflows/_metrics.py`.

The instruments come from the global meter provider, which `ledgerd.telemetry` configures from
the `OTEL_*` variables; until then (and with no exporter) recording costs next to nothing.
Attributes are bounded and carry no content: model, daemon, step kind, tool name, verdict.

| instrument | kind, unit | attributes |
|---|---|---|
| `gen_ai.client.token.usage` | histogram, {token} | `gen_ai.token.type` input (cache reads and writes included) or output, model, step, daemon |
| `gen_ai.client.operation.duration` | histogram, s | one model call: model, step, daemon |
| `ledgerd.model.tokens` | counter, {token} | `ledgerd.token.type` input, output, cache_read, cache_write (disjoint, as billed), model, step, daemon |
| `ledgerd.model.cost` | counter, {USD} | estimated from list prices (`ledgerd/model_registry/registry.toml`), model, step, daemon |
| `ledgerd.tool.duration` | histogram, s | `gen_ai.tool.name`, `ledgerd.tool.is_error`, daemon |
| `ledgerd.guardrail.verdicts` | counter, {verdict} | `gen_ai.evaluation.score.label` pass or fail, daemon |
| `ledgerd.step.duration` | histogram, s | `ledgerd.step` plan, act, tool, respond, guardrail, notify, message, …; daemon; `error.type` when it raised |
"""

from __future__ import annotations

import functools
import time
from collections.abc import Awaitable, Callable
from typing import Any

from opentelemetry import metrics
from temporalio import activity
from temporalio.worker import (
    ActivityInboundInterceptor,
    ExecuteActivityInput,
    Interceptor,
)

from ledgerd.contracts import ToolCallRequest, ToolOutcome, Usage
from ledgerd.model_registry import estimate_cost
from tools import CATALOG

# Bucket boundaries the GenAI semantic conventions recommend for these two histograms.
DURATION_BUCKETS = (0.01, 0.02, 0.04, 0.08, 0.16, 0.32, 0.64, 1.28, 2.56, 5.12, 10.24, 20.48, 40.96, 81.92)  # fmt: skip
TOKEN_BUCKETS = (1, 4, 16, 64, 256, 1024, 4096, 16384, 65536, 262144, 1048576, 4194304, 16777216, 67108864)  # fmt: skip

# Activity type → the step kind a dashboard groups by (the daemon loop's vocabulary).
STEP_OF_ACTIVITY = {
    "plan": "plan",
    "model_turn": "act",
    "call_tool": "tool",
    "validate_answer": "respond",
    "guardrail": "guardrail",
    "notify": "notify",
    "append_message": "message",
}
# Model role → the step whose model call it is.
STEP_OF_ROLE = {"planner": "plan", "executor": "act", "judge": "guardrail"}

_meter = metrics.get_meter("ledgerd")

token_usage = _meter.create_histogram(
    "gen_ai.client.token.usage",
    unit="{token}",
    description="Tokens per model call (input counts cache reads and writes).",
    explicit_bucket_boundaries_advisory=TOKEN_BUCKETS,
)
operation_duration = _meter.create_histogram(
    "gen_ai.client.operation.duration",
    unit="s",
    description="Duration of one model call.",
    explicit_bucket_boundaries_advisory=DURATION_BUCKETS,
)
model_tokens = _meter.create_counter(
    "ledgerd.model.tokens",
    unit="{token}",
    description="Tokens by billing category: input, output, cache_read, cache_write.",
)
model_cost = _meter.create_counter(
    "ledgerd.model.cost",
    unit="{USD}",
    description="Estimated USD from list prices (ledgerd/model_registry); not a bill.",
)
tool_duration = _meter.create_histogram(
    "ledgerd.tool.duration",
    unit="s",
    description="Duration of one tool call, platform handler and transcript write included.",
    explicit_bucket_boundaries_advisory=DURATION_BUCKETS,
)
guardrail_verdicts = _meter.create_counter(
    "ledgerd.guardrail.verdicts",
    unit="{verdict}",
    description="Guardrail verdicts (deterministic checks and judge combined), pass or fail.",
)
step_duration = _meter.create_histogram(
    "ledgerd.step.duration",
    unit="s",
    description="Duration of one attempt of a daemon step (an activity), by step kind.",
    explicit_bucket_boundaries_advisory=DURATION_BUCKETS,
)


def daemon_of_prompt(prompt_name: str) -> str:
    """`vendor_hydration.executor` → `vendor_hydration`: prompts are named per daemon."""
    return prompt_name.split(".", 1)[0]


def record_model_call(*, model: str, role: str, daemon: str, usage: Usage, latency_ms: int) -> None:
    """Tokens, estimated cost and latency of one model call that returned."""
    common: dict[str, str] = {
        "gen_ai.operation.name": "chat",
        "gen_ai.provider.name": "anthropic",
        "gen_ai.response.model": model,
        "ledgerd.step": STEP_OF_ROLE.get(role, role),
        "ledgerd.daemon": daemon,
    }
    all_input = usage.input_tokens + usage.cache_read_tokens + usage.cache_creation_tokens
    token_usage.record(all_input, {**common, "gen_ai.token.type": "input"})
    token_usage.record(usage.output_tokens, {**common, "gen_ai.token.type": "output"})
    billed = {
        "input": usage.input_tokens,
        "output": usage.output_tokens,
        "cache_read": usage.cache_read_tokens,
        "cache_write": usage.cache_creation_tokens,
    }
    for kind, count in billed.items():
        model_tokens.add(count, {**common, "ledgerd.token.type": kind})
    cost, _priced = estimate_cost(model, usage)  # unpriced models add 0, still named
    model_cost.add(cost, common)
    operation_duration.record(latency_ms / 1000, common)


def record_verdict(daemon: str, passed: bool) -> None:
    guardrail_verdicts.add(
        1, {"ledgerd.daemon": daemon, "gen_ai.evaluation.score.label": "pass" if passed else "fail"}
    )


ToolActivity = Callable[[ToolCallRequest], Awaitable[ToolOutcome]]


def timed_tool_call(call_tool: ToolActivity) -> ToolActivity:
    """Record `ledgerd.tool.duration` around the tool-call activity (its span included)."""

    @functools.wraps(call_tool)
    async def timed(request: ToolCallRequest) -> ToolOutcome:
        started = time.monotonic()
        is_error = True  # an exception is an error too (the activity will be retried)
        try:
            outcome = await call_tool(request)
            is_error = outcome.is_error
            return outcome
        finally:
            tool_duration.record(
                time.monotonic() - started,
                {
                    # The model names the tool: only catalogued names become attribute values.
                    "gen_ai.tool.name": request.call.name
                    if request.call.name in CATALOG
                    else "unknown",
                    "ledgerd.tool.is_error": is_error,
                    "ledgerd.daemon": request.daemon,
                },
            )

    return timed


class StepMetricsInterceptor(Interceptor):
    """Times every activity attempt as `ledgerd.step.duration`, by step kind and daemon.

    Activities are the daemon's steps, so one interceptor covers plan, act, tool, respond,
    guardrail and notify alike, including attempts that raise (`error.type`) and are retried.
    """

    def intercept_activity(self, next: ActivityInboundInterceptor) -> ActivityInboundInterceptor:
        return _StepTimer(next)


class _StepTimer(ActivityInboundInterceptor):
    async def execute_activity(self, input: ExecuteActivityInput) -> Any:
        started = time.monotonic()
        kind = activity.info().activity_type
        attributes: dict[str, str] = {"ledgerd.step": STEP_OF_ACTIVITY.get(kind, kind)}
        daemon = getattr(input.args[0], "daemon", None) if input.args else None
        if isinstance(daemon, str):
            attributes["ledgerd.daemon"] = daemon
        try:
            return await super().execute_activity(input)
        except BaseException as error:
            attributes["error.type"] = type(error).__name__
            raise
        finally:
            step_duration.record(time.monotonic() - started, attributes)
