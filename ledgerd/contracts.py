"""The values that cross between daemon workflows and their activities.

They are deliberately small: conversations stay in PostgreSQL (`transcript_entries`) and
only references, tool inputs and short summaries travel through workflow history, so a
50-step run's history grows by a constant per step instead of re-sending the conversation.
"""

from __future__ import annotations

import datetime as dt
from enum import StrEnum
from typing import Any, Literal

from pydantic import BaseModel, Field

from accounting.principals import Principal


class Role(StrEnum):
    """Which configured model serves a call."""

    PLANNER = "planner"
    EXECUTOR = "executor"
    JUDGE = "judge"


class Budget(BaseModel):
    """Limits that end a run with a classified outcome instead of letting it wander."""

    max_steps: int = Field(default=12, ge=1, le=500, description="Model turns of the executor.")
    max_tokens: int = Field(default=200_000, ge=1_000, description="Input + output, all roles.")
    max_seconds: int = Field(default=900, ge=10, description="Wall time of the whole run.")


class RunRef(BaseModel):
    """Where a run's conversation lives: `transcript_entries` rows of (run_id, thread)."""

    run_id: str
    thread: str


class TranscriptMessage(BaseModel):
    """A message appended to a thread by the workflow (e.g. the task, or guardrail feedback)."""

    ref: RunRef
    turn: int
    text: str


class ToolCall(BaseModel):
    id: str
    name: str
    input: dict[str, Any]


class Usage(BaseModel):
    input_tokens: int = 0
    output_tokens: int = 0
    cache_read_tokens: int = 0
    cache_creation_tokens: int = 0
    cache_creation_1h_tokens: int = Field(
        default=0, description="Of cache_creation_tokens, those written with the 1-hour TTL."
    )

    def __add__(self, more: Usage) -> Usage:
        return Usage(
            input_tokens=self.input_tokens + more.input_tokens,
            output_tokens=self.output_tokens + more.output_tokens,
            cache_read_tokens=self.cache_read_tokens + more.cache_read_tokens,
            cache_creation_tokens=self.cache_creation_tokens + more.cache_creation_tokens,
            cache_creation_1h_tokens=self.cache_creation_1h_tokens + more.cache_creation_1h_tokens,
        )

    @property
    def total(self) -> int:
        return (
            self.input_tokens
            + self.output_tokens
            + self.cache_read_tokens
            + self.cache_creation_tokens
        )


class ModelTurnRequest(BaseModel):
    ref: RunRef
    turn: int
    role: Role
    daemon: str
    prompt: str = Field(description="Name of the system prompt file.")
    tools: list[str] = Field(description="Names of the tools offered, from the daemon's toolset.")
    answer_tool: bool = Field(default=True, description="Offer the daemon's `respond` tool.")


class ModelTurn(BaseModel):
    """What the workflow needs of one model turn: never the conversation itself."""

    stop_reason: str
    text: str = Field(
        default="",
        description="What the model said, cut to a short summary: its text and the narration "
        "the 5.5 models return in thinking blocks between tool calls.",
    )
    tool_calls: list[ToolCall] = Field(
        default_factory=list, description="Complete calls only: a cut-off reply runs none."
    )
    usage: Usage
    model: str
    prompt_version: str
    refusal_category: str | None = Field(
        default=None, description="Set when stop_reason is refusal: the policy area named."
    )


class ToolCallRequest(BaseModel):
    ref: RunRef
    turn: int
    position: int
    call: ToolCall
    daemon: str
    principal: Principal = Field(description="Injected by the runtime, never chosen by the model.")
    idempotency_key: str
    conversation_id: str | None = Field(
        default=None, description="Injected by the runtime: the conversation the run belongs to."
    )
    steps_done: dict[str, str] | None = Field(
        default=None,
        description="Set for a planned step: the tool_use id of each earlier step by step id. "
        "The activity resolves the call's `$from` references against their results and "
        "records the tool_use block itself, since no model turn wrote one.",
    )


class InjectionFlag(BaseModel):
    """Instruction-like content found in data a model reads (a tool result, outside data in
    the task): recorded on the run, shown in the trace and notified. No raw content: the
    excerpt is PII-redacted and short."""

    channel: str = Field(description="Where it was found: 'bank descriptor', 'memory', ...")
    rule: str = Field(description="The detector rule (or 'judge') that flagged it.")
    where: str = Field(default="", description="The tool_use id and field path, or 'task'.")
    excerpt: str = Field(default="", max_length=200)


class ToolOutcome(BaseModel):
    tool_use_id: str
    name: str
    is_error: bool
    summary: str = Field(description="A short, PII-free description of the result.")
    flags: list[InjectionFlag] = Field(
        default_factory=list, description="Instruction-like content found in the result."
    )
    held: str | None = Field(
        default=None,
        description="Set when a mutating call was not run because its arguments trace back "
        "to flagged content: why, for the person who must approve it.",
    )


class AnswerCheck(BaseModel):
    """The model's `respond` call, validated against the daemon's output schema."""

    valid: bool
    answer: dict[str, Any] | None = None
    error: str | None = None


class CheckResult(BaseModel):
    name: str
    passed: bool
    reason: str


class Verdict(BaseModel):
    """The guardrail's decision: deterministic checks and the judge model, combined."""

    passed: bool
    checks: list[CheckResult]
    judge_passed: bool
    judge_reasons: list[str]
    judge_model: str
    injection: list[InjectionFlag] = Field(
        default_factory=list,
        description="Instruction-like content in the evidence, as the rules and the judge saw it.",
    )

    def reasons(self) -> list[str]:
        failed = [f"{c.name}: {c.reason}" for c in self.checks if not c.passed]
        if not self.judge_passed:
            failed += [f"judge: {r}" for r in self.judge_reasons]
        return failed


class GuardrailRequest(BaseModel):
    ref: RunRef
    daemon: str
    answer: dict[str, Any]
    turn: int


class Severity(StrEnum):
    INFO = "info"
    ATTENTION = "attention"
    FAILURE = "failure"


class Notification(BaseModel):
    dedupe_key: str
    tenant_id: str
    workflow_id: str
    kind: str
    severity: Severity
    subject: str
    body: dict[str, Any] = Field(default_factory=dict)


class Outcome(StrEnum):
    """How a daemon run ended; also the `LedgerdOutcome` search attribute."""

    COMPLETED = "completed"
    ESCALATED = "escalated"
    BUDGET_EXHAUSTED = "budget_exhausted"
    INVALID_ANSWER = "invalid_answer"
    # The model's safety classifiers declined (stop_reason "refusal"): asking the same model
    # again gets the same answer, so a person looks at it instead.
    REFUSED = "refused"
    FAILED = "failed"


class DaemonResult(BaseModel):
    """The end of a run: the validated answer (if any), how it ended and what it cost."""

    outcome: Outcome
    answer: dict[str, Any] | None = None
    reason: str = ""
    steps: int = 0
    model_calls: int = 0
    tool_calls: int = 0
    usage: Usage = Field(default_factory=Usage)
    verdict: Verdict | None = None
    plan_rounds: int = Field(default=0, description="Plans written: 1, plus one per re-plan.")
    seconds: float = Field(default=0.0, description="Wall time of the run, by workflow time.")
    injection_flags: list[InjectionFlag] = Field(
        default_factory=list, description="Instruction-like content the run's data carried."
    )
    held_actions: list[str] = Field(
        default_factory=list,
        description="Mutating calls not run because they trace back to flagged content; "
        "each needs a person's approval.",
    )


class StepCall(BaseModel):
    """A tool call the runtime makes for a plan step, with no model turn in between.

    Any value of `input` may be a reference to an earlier step's result,
    `{"$from": "<step id>", "path": "matches.0.vendor.id"}`, resolved when the step runs
    (see `ledgerd.plan_refs`); the step must list that step in `depends_on`.
    """

    tool: str = Field(min_length=1, max_length=64)
    input: dict[str, Any] = Field(default_factory=dict)


class PlanStep(BaseModel):
    id: str = Field(pattern=r"^[a-z0-9_-]{1,40}$")
    goal: str = Field(min_length=1, max_length=500)
    tools: list[str] = Field(default_factory=list, description="Tools this step needs.")
    depends_on: list[str] = Field(default_factory=list, description="Ids of earlier steps.")
    call: StepCall | None = Field(
        default=None,
        description="For daemons that execute plans: the tool call this step makes. "
        "Steps without a call are left to the executor.",
    )

    @property
    def tool_names(self) -> list[str]:
        """The tools the step names, or else the one its call makes."""
        return self.tools or ([self.call.tool] if self.call else [])


class Period(BaseModel):
    start: dt.date = Field(description="Inclusive ISO date.")
    end: dt.date = Field(description="Inclusive ISO date.")

    def label(self) -> str:
        return f"{self.start.isoformat()} to {self.end.isoformat()}"


class Entity(BaseModel):
    """What the task is about besides the period: categories, vendors and direction of a
    question; the descriptor or chart of the other daemons."""

    categories: list[str] = Field(
        default_factory=list, description="Standard category keys the question names."
    )
    vendors: list[str] = Field(
        default_factory=list, description="Vendor names as the question gives them."
    )
    direction: Literal["out", "in", "all"] = Field(
        default="out", description="out: spend; in: money received; all: both."
    )
    subject: str | None = Field(
        default=None, description="For a vendor: the descriptor; for a chart: 'chart'."
    )


Metric = Literal["sum", "count", "average", "min", "max"]
Aggregation = Literal[
    "total", "per_group", "top_group", "bottom_group", "average_per_group", "change"
]
Grouping = Literal["vendor", "category", "month", "quarter"]


class Intent(BaseModel):
    """What the task asks, as the planner read it. The guardrail holds the answer to it:
    every figure must come from a query of this metric, period, grouping and entity, and
    the tenant must be the caller's.

    `aggregation` says how the answer combines the grouped values: `total` over the period,
    `per_group` (a breakdown or a top-N), `top_group` / `bottom_group` (the one group with the
    highest / lowest value: "which month had the highest ..."), `average_per_group` (the
    mean of the groups: "average monthly payroll"), `change` (between `period` and
    `compare_period`)."""

    tenant: str = Field(description="The tenant the task is about, as the task names it.")
    metric: Metric | None = Field(default=None, description="What is measured per group.")
    aggregation: Aggregation | None = None
    grouping: list[Grouping] = Field(default_factory=list)
    period: Period | None = None
    compare_period: Period | None = None
    entity: Entity = Field(default_factory=Entity)


class Plan(BaseModel):
    """The planner's structured plan: steps, their tools, and which depend on which."""

    steps: list[PlanStep] = Field(min_length=1, max_length=20)
    rationale: str = Field(default="", max_length=2000)
    intent: Intent | None = Field(
        default=None,
        description="What the task asks (metric, period, aggregation, grouping, entity, "
        "tenant); the guardrail checks the answer against it.",
    )


class PlanRequest(BaseModel):
    planner: RunRef
    executor: RunRef
    daemon: str
    task: str
    round: int = Field(default=1, ge=1, description="1 for the first plan; more for re-plans.")
    replan: str | None = Field(
        default=None, description="Why a new plan is needed: failed steps and what is done."
    )
    done: list[str] = Field(
        default_factory=list, description="Steps of earlier rounds a re-plan may refer to."
    )


class PlanResult(BaseModel):
    plan: Plan
    usage: Usage
    model: str
    prompt_version: str
    model_calls: int = Field(default=1, description="Calls the plan took: 1, or 2 with a repair.")
