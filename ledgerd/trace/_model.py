"""`DecisionTrace`: what a daemon run decided, step by step, as one JSON-able document."""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum
from typing import Any, Literal

from pydantic import BaseModel, Field

from ledgerd.contracts import CheckResult, InjectionFlag, PlanStep, Usage


class ActivityStatus(StrEnum):
    PENDING = "pending"  # scheduled, not closed yet (running or waiting for a retry)
    COMPLETED = "completed"
    FAILED = "failed"
    TIMED_OUT = "timed_out"
    CANCELED = "canceled"


class Timing(BaseModel):
    """One activity's life in workflow history: scheduled → closed (all attempts)."""

    status: ActivityStatus
    seq: int = Field(default=0, description="Order of scheduling in the history (chain).")
    scheduled_at: datetime
    closed_at: datetime | None = None
    duration_ms: int | None = Field(default=None, description="Scheduled → closed.")
    attempts: int = Field(default=0, description="The last started attempt; 0 if none yet.")
    failure: str | None = None


class ModelCallTrace(BaseModel):
    """One model call: from `model_calls` when recorded there, else from the activity result."""

    conversation: str = Field(default="", description="The transcript run id of the call.")
    thread: str
    turn: int
    role: str
    model: str
    prompt_name: str | None = None
    prompt_version: str | None = None
    stop_reason: str | None = None
    usage: Usage = Field(default_factory=Usage)
    latency_ms: int | None = None
    cost_usd: float = Field(default=0.0, description="Estimate from list prices.")
    priced: bool = Field(default=False, description="False: the model has no list price here.")
    source: Literal["model_calls", "history"] = "model_calls"


class PlanTrace(BaseModel):
    conversation: str = Field(default="", description="The loop's transcript run id.")
    steps: list[PlanStep]
    rationale: str = ""
    source: Literal["history", "transcript"] = Field(
        description="The plan activity's result, or the planner's last submit_plan call."
    )
    accepted: bool = Field(description="The plan activity returned it as valid.")
    model_calls: list[ModelCallTrace] = Field(default_factory=list)
    timing: Timing | None = None
    executed: list[ToolCallTrace] = Field(
        default_factory=list,
        description="The plan's tool calls, run by the workflow (daemons that execute plans).",
    )


class ToolCallTrace(BaseModel):
    position: int
    tool_use_id: str
    name: str
    arguments: dict[str, Any]
    is_error: bool | None = Field(default=None, description="None while the call is pending.")
    summary: str | None = Field(default=None, description="The ToolOutcome's PII-free summary.")
    timing: Timing
    flags: list[InjectionFlag] = Field(
        default_factory=list, description="Instruction-like content found in the result."
    )
    held: str | None = Field(
        default=None, description="Why the call was held for approval instead of run."
    )


class AnswerTrace(BaseModel):
    """The `respond` call and its validation against the daemon's output schema."""

    label: str = Field(description="The activity summary, e.g. 'respond: validate VendorRecord'.")
    arguments: dict[str, Any]
    valid: bool | None = None
    error: str | None = None
    timing: Timing


class GuardrailTrace(BaseModel):
    passed: bool | None = None
    checks: list[CheckResult] = Field(default_factory=list)
    judge_passed: bool | None = None
    judge_reasons: list[str] = Field(default_factory=list)
    judge_model: str | None = None
    judge_call: ModelCallTrace | None = None
    timing: Timing
    injection: list[InjectionFlag] = Field(
        default_factory=list, description="What the rules and the judge flagged as instructions."
    )


class MessageTrace(BaseModel):
    """A message the workflow appended to the conversation: the task, a nudge, a revision."""

    turn: int
    kind: str = Field(description="'task', 'revise', 'nudge', …: the summary's first word.")
    summary: str = Field(description="The activity summary; never the message text.")
    timing: Timing


class StepTrace(BaseModel):
    """One executor step: a model turn and everything the workflow did with its reply."""

    number: int
    conversation: str = Field(default="", description="The loop's transcript run id.")
    turn: int
    label: str
    model_call: ModelCallTrace | None = None
    stop_reason: str | None = None
    said: str = Field(
        default="",
        description="What the model said this turn, cut short: its text and the narration "
        "between tool calls that the 5.5 models return in (summarised) thinking blocks.",
    )
    requested_tools: list[str] = Field(default_factory=list)
    timing: Timing
    tool_calls: list[ToolCallTrace] = Field(default_factory=list)
    answer: AnswerTrace | None = None
    guardrail: GuardrailTrace | None = None
    messages: list[MessageTrace] = Field(default_factory=list)


class OtherTrace(BaseModel):
    """Something outside the daemon loop: an activity, a child workflow (trace it by its id),
    or a signal or update the run received (named only: their arguments are not shown)."""

    kind: Literal["activity", "child_workflow", "signal", "update"]
    name: str = Field(description="Activity type, child workflow type, signal or update name.")
    label: str = Field(description="Its summary in the Temporal UI.")
    workflow_id: str | None = Field(default=None, description="The child workflow's id.")
    timing: Timing


class NotificationTrace(BaseModel):
    kind: str
    severity: str
    subject: str
    dedupe_key: str
    body: dict[str, Any] = Field(default_factory=dict)
    queued: bool | None = Field(default=None, description="The notify activity's result.")
    outbox_id: int | None = None
    queued_at: datetime | None = None
    delivered_at: datetime | None = None
    timing: Timing | None = None


class ModelTotals(BaseModel):
    model: str
    calls: int
    usage: Usage
    cost_usd: float
    priced: bool


class Totals(BaseModel):
    steps: int
    model_calls: int
    tool_calls: int
    tool_errors: int
    tokens: Usage
    by_model: list[ModelTotals]
    estimated_cost_usd: float
    cost_note: str
    unpriced_models: list[str] = Field(default_factory=list)
    wall_seconds: float | None = Field(
        default=None, description="Start → close; start → last event while running."
    )


class RunInfo(BaseModel):
    workflow_id: str
    run_ids: list[str] = Field(description="Every run of the chain, first to last.")
    workflow_type: str
    status: str = Field(description="RUNNING, COMPLETED, FAILED, TERMINATED, …")
    summary: str | None = None
    task_queue: str | None = None
    started_at: datetime | None = None
    closed_at: datetime | None = None
    tenant: str | None = None
    daemon: str | None = None
    outcome: str | None = None
    reason: str | None = None
    injection_flags: list[InjectionFlag] = Field(
        default_factory=list, description="The run's result: instruction-like data it read."
    )
    held_actions: list[str] = Field(
        default_factory=list, description="Mutating calls held for a person's approval."
    )
    temporal_ui: str | None = None
    trace_id: str | None = Field(
        default=None,
        description="The run's OpenTelemetry trace id (hex): the memo the starter wrote, else "
        "the trace context Temporal carried in the start event's header.",
    )


class DecisionTrace(BaseModel):
    """A daemon run's decision timeline: workflow history joined with the transcript,
    `model_calls` and `notification_outbox`."""

    run: RunInfo
    plans: list[PlanTrace] = Field(
        default_factory=list, description="One per daemon loop; most runs have one."
    )
    preamble: list[MessageTrace] = Field(
        default_factory=list, description="Messages appended before the first step."
    )
    steps: list[StepTrace] = Field(default_factory=list)
    others: list[OtherTrace] = Field(
        default_factory=list, description="Activities outside the loop, child workflows."
    )
    other_model_calls: list[ModelCallTrace] = Field(
        default_factory=list, description="Recorded calls no activity in history accounts for."
    )
    notifications: list[NotificationTrace] = Field(default_factory=list)
    totals: Totals
    notes: list[str] = Field(default_factory=list)

    @property
    def plan(self) -> PlanTrace | None:
        """The (first) loop's plan."""
        return self.plans[0] if self.plans else None


PlanTrace.model_rebuild()  # `executed` names ToolCallTrace, defined after it
