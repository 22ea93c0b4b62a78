"""`build_trace`: a pure function from workflow history and database rows to a DecisionTrace.

History says what the workflow decided and when: each daemon step is an activity, recognised
by its type name (plan, model_turn, call_tool, validate_answer, guardrail, append_message,
notify), with its input (tool arguments) and result (ToolOutcome summaries, verdicts). The
database adds what history deliberately leaves out: tokens, latency and prompt versions per
model call (`model_calls`), the planner's submitted plan while the plan activity has not
returned (`transcript_entries`), and the outbox row of each notification. Rows are matched
by conversation (the transcript run id a loop's activities carry: the workflow id, or one per
loop when a workflow runs several), thread and turn.

Anything else in history (other activities, child workflows, signals, updates) is listed in
order, by name. Partial histories (running runs), failed activities and continued-as-new
chains (events of several runs, concatenated in order) are all valid input.
"""

from __future__ import annotations

import contextlib
import json
import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any, Literal

from pydantic import ValidationError
from temporalio.api.common.v1 import Header, Memo, Payload, Payloads, SearchAttributes
from temporalio.api.enums.v1 import EventType
from temporalio.api.failure.v1 import Failure
from temporalio.api.history.v1 import HistoryEvent
from temporalio.contrib.pydantic import pydantic_data_converter
from temporalio.converter import PayloadConverter
from temporalio.converter import default as default_converter

from ledgerd import search_attributes as sa
from ledgerd.contracts import CheckResult, InjectionFlag, PlanStep, Usage
from ledgerd.model_registry import COST_NOTE, estimate_cost
from ledgerd.trace._model import (
    ActivityStatus,
    AnswerTrace,
    DecisionTrace,
    GuardrailTrace,
    MessageTrace,
    ModelCallTrace,
    ModelTotals,
    NotificationTrace,
    OtherTrace,
    PlanTrace,
    RunInfo,
    StepTrace,
    Timing,
    ToolCallTrace,
    Totals,
)

Row = Mapping[str, Any]
E = EventType

TRACER_HEADER = "_tracer-data"  # temporalio.contrib.opentelemetry's header key
_TRACE_ID = re.compile(r"[0-9a-f]{32}")

_CLOSED_ACTIVITY = {
    E.EVENT_TYPE_ACTIVITY_TASK_COMPLETED: ActivityStatus.COMPLETED,
    E.EVENT_TYPE_ACTIVITY_TASK_FAILED: ActivityStatus.FAILED,
    E.EVENT_TYPE_ACTIVITY_TASK_TIMED_OUT: ActivityStatus.TIMED_OUT,
    E.EVENT_TYPE_ACTIVITY_TASK_CANCELED: ActivityStatus.CANCELED,
}
_CLOSED_CHILD = {
    E.EVENT_TYPE_CHILD_WORKFLOW_EXECUTION_COMPLETED: ActivityStatus.COMPLETED,
    E.EVENT_TYPE_CHILD_WORKFLOW_EXECUTION_FAILED: ActivityStatus.FAILED,
    E.EVENT_TYPE_CHILD_WORKFLOW_EXECUTION_TIMED_OUT: ActivityStatus.TIMED_OUT,
    E.EVENT_TYPE_CHILD_WORKFLOW_EXECUTION_CANCELED: ActivityStatus.CANCELED,
    E.EVENT_TYPE_CHILD_WORKFLOW_EXECUTION_TERMINATED: ActivityStatus.FAILED,
    E.EVENT_TYPE_START_CHILD_WORKFLOW_EXECUTION_FAILED: ActivityStatus.FAILED,
}
_CLOSED_WORKFLOW = {
    E.EVENT_TYPE_WORKFLOW_EXECUTION_COMPLETED: "COMPLETED",
    E.EVENT_TYPE_WORKFLOW_EXECUTION_FAILED: "FAILED",
    E.EVENT_TYPE_WORKFLOW_EXECUTION_TIMED_OUT: "TIMED_OUT",
    E.EVENT_TYPE_WORKFLOW_EXECUTION_TERMINATED: "TERMINATED",
    E.EVENT_TYPE_WORKFLOW_EXECUTION_CANCELED: "CANCELED",
    E.EVENT_TYPE_WORKFLOW_EXECUTION_CONTINUED_AS_NEW: "CONTINUED_AS_NEW",
}


@dataclass
class _Activity:
    """An activity, child workflow, signal or update, as history tells it."""

    name: str
    label: str
    input: dict[str, Any]
    scheduled_at: datetime
    seq: int
    kind: Literal["activity", "child_workflow", "signal", "update"] = "activity"
    child_id: str | None = None
    status: ActivityStatus = ActivityStatus.PENDING
    result: Any = None
    closed_at: datetime | None = None
    attempts: int = 0
    failure: str | None = None

    def timing(self) -> Timing:
        duration = None
        if self.closed_at is not None:
            duration = int((self.closed_at - self.scheduled_at).total_seconds() * 1000)
        return Timing(
            status=self.status,
            seq=self.seq,
            scheduled_at=self.scheduled_at,
            closed_at=self.closed_at,
            duration_ms=duration,
            attempts=self.attempts,
            failure=self.failure,
        )


@dataclass
class _History:
    """What one pass over the events finds."""

    workflow_id: str = ""
    workflow_type: str = ""
    run_ids: list[str] = field(default_factory=list)
    status: str = "UNKNOWN"
    summary: str | None = None
    task_queue: str | None = None
    started_at: datetime | None = None
    closed_at: datetime | None = None
    last_event_at: datetime | None = None
    search: dict[str, Any] = field(default_factory=dict)
    result: dict[str, Any] = field(default_factory=dict)
    reason: str | None = None
    next_run_id: str | None = None
    trace_id: str | None = None
    activities: list[_Activity] = field(default_factory=list)


def _time(event: HistoryEvent) -> datetime:
    return event.event_time.ToDatetime(tzinfo=UTC)


def _dict(value: Any) -> dict[str, Any]:
    return value if isinstance(value, dict) else {}


def _int(value: Any, default: int = 0) -> int:
    return value if isinstance(value, int) and not isinstance(value, bool) else default


def _failure_text(failure: Failure) -> str:
    """The failure's message and its causes' messages, skipping those already said."""
    parts: list[str] = []
    current: Failure | None = failure
    while current is not None:
        if current.message and not any(current.message in part for part in parts):
            parts.append(current.message)
        current = current.cause if current.HasField("cause") else None
    return ": ".join(parts) or "failed"


class _Reader:
    def __init__(self, converter: PayloadConverter) -> None:
        self.converter = converter
        self.notes: list[str] = []

    def first(self, payloads: Payloads, what: str) -> Any:
        if not payloads.payloads:
            return None
        try:
            return self.converter.from_payloads(list(payloads.payloads), None)[0]
        except Exception as error:
            self.notes.append(f"could not decode the {what}: {error}")
            return None

    def text(self, payload: Payload) -> str | None:
        if not payload.data:
            return None
        try:
            value = self.converter.from_payloads([payload], None)[0]
        except Exception:
            return None
        return value if isinstance(value, str) else None

    def trace_id(self, memo: Memo, header: Header) -> str | None:
        """The memo's `trace_id` (written by the starter), else the trace of the context
        Temporal's OpenTelemetry interceptor put in the header (`_tracer-data`)."""
        if "trace_id" in memo.fields:
            text = self.text(memo.fields["trace_id"])
            if text and _TRACE_ID.fullmatch(text):
                return text
        if TRACER_HEADER in header.fields:
            decode = default_converter().payload_converter  # how the interceptor encodes it
            try:
                carrier = decode.from_payloads([header.fields[TRACER_HEADER]], None)[0]
            except Exception:
                return None
            parent = carrier.get("traceparent", "") if isinstance(carrier, dict) else ""
            parts = str(parent).split("-")
            if len(parts) == 4 and _TRACE_ID.fullmatch(parts[1]) and set(parts[1]) != {"0"}:
                return parts[1]
        return None

    def search(self, attributes: SearchAttributes, into: dict[str, Any]) -> None:
        decode = default_converter().payload_converter  # search attributes are never encoded
        for name, payload in attributes.indexed_fields.items():
            try:
                value = decode.from_payloads([payload], None)[0]
            except Exception:
                continue
            into[name] = value[0] if isinstance(value, list) and len(value) == 1 else value

    def read(self, events: Iterable[HistoryEvent]) -> _History:
        h = _History()
        by_id: dict[int, _Activity] = {}  # event ids restart with each run of a chain
        updates: dict[str, _Activity] = {}
        for seq, event in enumerate(events):
            kind = event.event_type
            at = _time(event)
            h.last_event_at = at
            if kind == E.EVENT_TYPE_WORKFLOW_EXECUTION_STARTED:
                by_id = {}
                a = event.workflow_execution_started_event_attributes
                h.run_ids.append(a.original_execution_run_id)
                h.status, h.closed_at, h.next_run_id = "RUNNING", None, None
                if h.started_at is None:
                    h.started_at = at
                    h.workflow_type = a.workflow_type.name
                    h.workflow_id = a.workflow_id
                    h.task_queue = a.task_queue.name or None
                    if event.HasField("user_metadata"):
                        h.summary = self.text(event.user_metadata.summary)
                    h.trace_id = self.trace_id(a.memo, a.header)
                self.search(a.search_attributes, h.search)
            elif kind == E.EVENT_TYPE_UPSERT_WORKFLOW_SEARCH_ATTRIBUTES:
                attrs = event.upsert_workflow_search_attributes_event_attributes
                self.search(attrs.search_attributes, h.search)
            elif kind == E.EVENT_TYPE_ACTIVITY_TASK_SCHEDULED:
                s = event.activity_task_scheduled_event_attributes
                name = s.activity_type.name
                label = (
                    self.text(event.user_metadata.summary)
                    if event.HasField("user_metadata")
                    else None
                )
                activity = _Activity(
                    name=name,
                    label=label or name,
                    input=_dict(self.first(s.input, f"input of {name} (event {event.event_id})")),
                    scheduled_at=at,
                    seq=seq,
                )
                by_id[event.event_id] = activity
                h.activities.append(activity)
            elif kind == E.EVENT_TYPE_START_CHILD_WORKFLOW_EXECUTION_INITIATED:
                c = event.start_child_workflow_execution_initiated_event_attributes
                label = (
                    self.text(event.user_metadata.summary)
                    if event.HasField("user_metadata")
                    else None
                )
                child = _Activity(
                    name=c.workflow_type.name,
                    label=label or f"child: {c.workflow_type.name}",
                    input={},
                    scheduled_at=at,
                    seq=seq,
                    kind="child_workflow",
                    child_id=c.workflow_id,
                )
                by_id[event.event_id] = child
                h.activities.append(child)
            elif kind in _CLOSED_CHILD:
                self._close_child(event, kind, at, by_id)
            elif kind == E.EVENT_TYPE_WORKFLOW_EXECUTION_SIGNALED:
                name = event.workflow_execution_signaled_event_attributes.signal_name
                signal = _Activity(name, f"signal: {name}", {}, at, seq, kind="signal")
                signal.status, signal.closed_at = ActivityStatus.COMPLETED, at
                h.activities.append(signal)
            elif kind == E.EVENT_TYPE_WORKFLOW_EXECUTION_UPDATE_ACCEPTED:
                request = event.workflow_execution_update_accepted_event_attributes.accepted_request
                name = request.input.name
                update = _Activity(name, f"update: {name}", {}, at, seq, kind="update")
                updates[request.meta.update_id] = update
                h.activities.append(update)
            elif kind == E.EVENT_TYPE_WORKFLOW_EXECUTION_UPDATE_COMPLETED:
                done = event.workflow_execution_update_completed_event_attributes
                if (accepted := updates.get(done.meta.update_id)) is not None:
                    accepted.status, accepted.closed_at = ActivityStatus.COMPLETED, at
                    if done.outcome.HasField("failure"):
                        accepted.status = ActivityStatus.FAILED
                        accepted.failure = _failure_text(done.outcome.failure)
            elif kind == E.EVENT_TYPE_ACTIVITY_TASK_STARTED:
                st = event.activity_task_started_event_attributes
                if (started := by_id.get(st.scheduled_event_id)) is not None:
                    started.attempts = st.attempt
            elif kind in _CLOSED_ACTIVITY:
                self._close_activity(event, kind, at, by_id)
            elif kind in _CLOSED_WORKFLOW:
                self._close_workflow(event, kind, at, h)
        return h

    def _close_activity(
        self,
        event: HistoryEvent,
        kind: EventType.ValueType,
        at: datetime,
        by_id: dict[int, _Activity],
    ) -> None:
        if kind == E.EVENT_TYPE_ACTIVITY_TASK_COMPLETED:
            c = event.activity_task_completed_event_attributes
            scheduled = c.scheduled_event_id
        elif kind == E.EVENT_TYPE_ACTIVITY_TASK_FAILED:
            f = event.activity_task_failed_event_attributes
            scheduled = f.scheduled_event_id
        elif kind == E.EVENT_TYPE_ACTIVITY_TASK_TIMED_OUT:
            t = event.activity_task_timed_out_event_attributes
            scheduled = t.scheduled_event_id
        else:
            scheduled = event.activity_task_canceled_event_attributes.scheduled_event_id
        activity = by_id.get(scheduled)
        if activity is None:
            return
        activity.status, activity.closed_at = _CLOSED_ACTIVITY[kind], at
        if kind == E.EVENT_TYPE_ACTIVITY_TASK_COMPLETED:
            activity.result = self.first(c.result, f"result of {activity.name}")
        elif kind == E.EVENT_TYPE_ACTIVITY_TASK_FAILED:
            activity.failure = _failure_text(f.failure)
        elif kind == E.EVENT_TYPE_ACTIVITY_TASK_TIMED_OUT:
            activity.failure = _failure_text(t.failure) if t.HasField("failure") else "timed out"
        else:
            activity.failure = "canceled"

    def _close_child(
        self,
        event: HistoryEvent,
        kind: EventType.ValueType,
        at: datetime,
        by_id: dict[int, _Activity],
    ) -> None:
        # e.g. EVENT_TYPE_CHILD_WORKFLOW_EXECUTION_FAILED -> child_workflow_execution_failed
        field_name = E.Name(kind).removeprefix("EVENT_TYPE_").lower()
        attrs = getattr(event, f"{field_name}_event_attributes")
        child = by_id.get(attrs.initiated_event_id)
        if child is None:
            return
        child.status, child.closed_at = _CLOSED_CHILD[kind], at
        if kind == E.EVENT_TYPE_CHILD_WORKFLOW_EXECUTION_FAILED:
            child.failure = _failure_text(attrs.failure)
        elif kind != E.EVENT_TYPE_CHILD_WORKFLOW_EXECUTION_COMPLETED:
            child.failure = field_name.removeprefix("child_workflow_execution_").replace("_", " ")

    def _close_workflow(
        self, event: HistoryEvent, kind: EventType.ValueType, at: datetime, h: _History
    ) -> None:
        h.status, h.closed_at = _CLOSED_WORKFLOW[kind], at
        if kind == E.EVENT_TYPE_WORKFLOW_EXECUTION_COMPLETED:
            result = event.workflow_execution_completed_event_attributes.result
            h.result = _dict(self.first(result, "workflow result"))
            h.reason = h.result.get("reason") or None
        elif kind == E.EVENT_TYPE_WORKFLOW_EXECUTION_FAILED:
            h.reason = _failure_text(event.workflow_execution_failed_event_attributes.failure)
        elif kind == E.EVENT_TYPE_WORKFLOW_EXECUTION_TERMINATED:
            reason = event.workflow_execution_terminated_event_attributes.reason
            h.reason = f"terminated: {reason}" if reason else "terminated"
        elif kind == E.EVENT_TYPE_WORKFLOW_EXECUTION_TIMED_OUT:
            h.reason = "the workflow timed out"
        elif kind == E.EVENT_TYPE_WORKFLOW_EXECUTION_CANCELED:
            h.reason = "canceled"
        else:
            attrs = event.workflow_execution_continued_as_new_event_attributes
            h.next_run_id = attrs.new_execution_run_id


_Ref = tuple[str, str]  # (transcript run id, thread)


def _model_call(row: Row) -> ModelCallTrace:
    usage = Usage(
        input_tokens=_int(row.get("input_tokens")),
        output_tokens=_int(row.get("output_tokens")),
        cache_read_tokens=_int(row.get("cache_read_tokens")),
        cache_creation_tokens=_int(row.get("cache_creation_tokens")),
        cache_creation_1h_tokens=_int(row.get("cache_creation_1h_tokens")),
    )
    model = str(row.get("model") or "?")
    cost, priced = estimate_cost(model, usage)
    return ModelCallTrace(
        conversation=str(row.get("run_id") or ""),
        thread=str(row.get("thread")),
        turn=_int(row.get("turn")),
        role=str(row.get("role") or "?"),
        model=model,
        prompt_name=row.get("prompt_name"),
        prompt_version=row.get("prompt_version"),
        stop_reason=row.get("stop_reason"),
        usage=usage,
        latency_ms=row.get("latency_ms"),
        cost_usd=cost,
        priced=priced,
        source="model_calls",
    )


def _call_from_result(ref: _Ref, turn: int, role: str, result: dict[str, Any]) -> ModelCallTrace:
    """A model call known only from its activity result (no `model_calls` row)."""
    usage = Usage.model_validate(_dict(result.get("usage")))
    model = str(result.get("model") or "?")
    cost, priced = estimate_cost(model, usage)
    return ModelCallTrace(
        conversation=ref[0],
        thread=ref[1],
        turn=turn,
        role=role,
        model=model,
        prompt_version=result.get("prompt_version"),
        stop_reason=result.get("stop_reason"),
        usage=usage,
        cost_usd=cost,
        priced=priced,
        source="history",
    )


def _ref(value: Any, default_thread: str) -> _Ref:
    ref = _dict(value)
    return str(ref.get("run_id", "")), str(ref.get("thread", default_thread))


def _plan_steps(raw: Any, notes: list[str]) -> list[PlanStep]:
    steps = []
    for item in raw if isinstance(raw, list) else []:
        try:
            steps.append(PlanStep.model_validate(item))
        except ValidationError as error:
            notes.append(f"skipped an invalid plan step: {error.errors()[0]['msg']}")
    return steps


class _Transcript:
    """The rows of `transcript_entries`, by (run id, thread)."""

    def __init__(self, rows: Sequence[Row]) -> None:
        self.rows: dict[_Ref, list[Row]] = {}
        ordered = sorted(rows, key=lambda r: (_int(r.get("turn")), _int(r.get("position"))))
        for row in ordered:
            key = (str(row.get("run_id", "")), str(row.get("thread")))
            self.rows.setdefault(key, []).append(row)

    def _blocks(
        self,
        ref: _Ref,
        turn: int | None = None,
        *,
        kinds: tuple[str, ...] = ("tool_use",),
        role: str = "assistant",
    ) -> list[dict[str, Any]]:
        rows = self.rows.get(ref) or self.rows.get(("", ref[1]), [])  # rows without run_id
        return [
            block
            for row in rows
            if row.get("role") == role and (turn is None or row.get("turn") == turn)
            for block in row.get("content") or []
            if isinstance(block, dict) and block.get("type") in kinds
        ]

    def submitted_plan(self, ref: _Ref) -> dict[str, Any] | None:
        """The planner thread's last submitted plan: a `submit_plan` call's input, or the
        JSON text of a structured-output reply."""
        found: dict[str, Any] | None = None
        for block in self._blocks(ref, kinds=("tool_use", "text"), role="assistant"):
            if block.get("type") == "tool_use" and block.get("name") == "submit_plan":
                found = _dict(block.get("input"))
            elif block.get("type") == "text":
                with contextlib.suppress(ValueError):
                    parsed = json.loads(str(block.get("text")))
                    if isinstance(parsed, dict) and "steps" in parsed:
                        found = parsed
        return found

    def requested_tools(self, ref: _Ref, turn: int) -> list[str]:
        return [str(b.get("name")) for b in self._blocks(ref, turn)]

    def tool_input(self, ref: _Ref, tool_use_id: str) -> dict[str, Any] | None:
        """The input a tool_use block recorded: for a plan step, with references resolved."""
        for block in self._blocks(ref):
            if block.get("id") == tool_use_id:
                return _dict(block.get("input"))
        return None


class _Assembler:
    def __init__(
        self,
        history: _History,
        transcript: Sequence[Row],
        model_calls: Sequence[Row],
        outbox: Sequence[Row],
        notes: list[str],
    ) -> None:
        self.h = history
        self.transcript = _Transcript(transcript)
        self.calls: dict[tuple[str, str, int], ModelCallTrace] = {}
        # Attempts of a turn that called the model and then failed: billed, then retried.
        self.retried: list[ModelCallTrace] = []
        for row in sorted(model_calls, key=lambda r: _int(r.get("attempt")) or 1):
            call = _model_call(row)
            key = (call.conversation, call.thread, call.turn)
            if key in self.calls:
                self.retried.append(self.calls[key])
            self.calls[key] = call
        self.outbox = {str(r.get("dedupe_key")): r for r in outbox}
        self.outbox_order = [str(r.get("dedupe_key")) for r in outbox]
        self.notes = notes
        self.plans: list[PlanTrace] = []
        self.preamble: list[MessageTrace] = []
        self.steps: list[StepTrace] = []
        self.others: list[OtherTrace] = []
        self.by_turn: dict[tuple[str, int], StepTrace] = {}
        self.notifications: list[NotificationTrace] = []

    def _pop_call(self, ref: _Ref, turn: int) -> ModelCallTrace | None:
        # Rows without a run id (hand-built ones) match any conversation.
        return self.calls.pop((ref[0], ref[1], turn), None) or self.calls.pop(
            ("", ref[1], turn), None
        )

    def _pop_thread(self, ref: _Ref) -> list[ModelCallTrace]:
        keys = sorted(k for k in self.calls if k[1] == ref[1] and k[0] in (ref[0], ""))
        return [self.calls.pop(k) for k in keys]

    def _step_for(self, conversation: str, turn: int, what: str) -> StepTrace | None:
        step = self.by_turn.get((conversation, turn)) or (self.steps[-1] if self.steps else None)
        if step is None:
            self.notes.append(f"{what} of turn {turn} came before any model turn")
        return step

    def assemble(self) -> None:
        for activity in self.h.activities:
            handler = getattr(self, f"_on_{activity.name}", None)
            if activity.kind != "activity" or handler is None:
                self._other(activity)
            else:
                handler(activity)
        for key in self.outbox_order:
            if key in self.outbox:
                self.notifications.append(self._notification(self.outbox.pop(key), None, None))

    def _other(self, activity: _Activity) -> None:
        self.others.append(
            OtherTrace(
                kind=activity.kind,
                name=activity.name,
                label=activity.label,
                workflow_id=activity.child_id,
                timing=activity.timing(),
            )
        )

    def _on_plan(self, activity: _Activity) -> None:
        ref = _ref(activity.input.get("planner"), "planner")
        result = _dict(activity.result)
        plan = _dict(result.get("plan"))
        calls = self._pop_thread(ref)
        if plan and not calls and result.get("usage"):
            calls = [_call_from_result(ref, 1, "planner", result)]
        # No accepted plan in history: show what the planner last submitted instead.
        shown = plan or self.transcript.submitted_plan(ref) or {}
        self.plans.append(
            PlanTrace(
                conversation=ref[0],
                steps=_plan_steps(shown.get("steps"), self.notes),
                rationale=str(shown.get("rationale", ""))[:500],
                source="history" if plan else "transcript",
                accepted=bool(plan),
                model_calls=calls,
                timing=activity.timing(),
            )
        )

    def _on_model_turn(self, activity: _Activity) -> None:
        request = activity.input
        ref = _ref(request.get("ref"), "executor")
        turn = _int(request.get("turn"))
        result = _dict(activity.result)
        call = self._pop_call(ref, turn)
        if call is None and result.get("usage"):
            call = _call_from_result(ref, turn, str(request.get("role", "executor")), result)
        requested = [str(_dict(c).get("name")) for c in result.get("tool_calls") or []]
        step = StepTrace(
            number=len(self.steps) + 1,
            conversation=ref[0],
            turn=turn,
            label=activity.label,
            model_call=call,
            stop_reason=result.get("stop_reason") or (call.stop_reason if call else None),
            said=str(result.get("text") or ""),
            requested_tools=requested or self.transcript.requested_tools(ref, turn),
            timing=activity.timing(),
        )
        self.steps.append(step)
        self.by_turn[(ref[0], turn)] = step

    def _on_call_tool(self, activity: _Activity) -> None:
        request = activity.input
        call = _dict(request.get("call"))
        outcome = _dict(activity.result)
        trace = ToolCallTrace(
            position=_int(request.get("position")),
            tool_use_id=str(call.get("id", "")),
            name=str(call.get("name", "?")),
            arguments=_dict(call.get("input")),
            is_error=outcome.get("is_error") if outcome else None,
            summary=outcome.get("summary") if outcome else None,
            timing=activity.timing(),
            flags=self._flags(outcome.get("flags") if outcome else None),
            held=str(outcome["held"]) if outcome and outcome.get("held") else None,
        )
        conversation = _ref(request.get("ref"), "executor")[0]
        turn = _int(request.get("turn"))
        if request.get("steps_done") is not None:  # a plan step: no model turn asked for it
            ref = _ref(request.get("ref"), "executor")
            # History holds the planned input (with `$from` references); the transcript holds
            # what the step actually ran with.
            trace.arguments = self.transcript.tool_input(ref, trace.tool_use_id) or trace.arguments
            plans = [p for p in self.plans if p.conversation == conversation]
            if plans:
                plans[-1].executed.append(trace)
                return
        if (step := self._step_for(conversation, turn, f"tool call {trace.name}")) is not None:
            step.tool_calls.append(trace)

    def _flags(self, raw: Any) -> list[InjectionFlag]:
        flags = []
        for item in raw if isinstance(raw, list) else []:
            try:
                flags.append(InjectionFlag.model_validate(item))
            except ValidationError:
                self.notes.append(f"skipped a malformed injection flag: {item!r:.80}")
        return flags

    def _on_validate_answer(self, activity: _Activity) -> None:
        request = activity.input
        check = _dict(activity.result)
        trace = AnswerTrace(
            label=activity.label,
            arguments=_dict(_dict(request.get("call")).get("input")),
            valid=check.get("valid") if check else None,
            error=check.get("error"),
            timing=activity.timing(),
        )
        conversation = _ref(request.get("ref"), "executor")[0]
        turn = _int(request.get("turn"))
        if (step := self._step_for(conversation, turn, "an answer")) is not None:
            step.answer = trace

    def _on_guardrail(self, activity: _Activity) -> None:
        conversation = _ref(activity.input.get("ref"), "executor")[0]
        turn = _int(activity.input.get("turn"))
        verdict = _dict(activity.result)
        checks = []
        for raw in verdict.get("checks") or []:
            try:
                checks.append(CheckResult.model_validate(raw))
            except ValidationError:
                self.notes.append(f"skipped a malformed guardrail check: {raw!r:.80}")
        trace = GuardrailTrace(
            passed=verdict.get("passed"),
            checks=checks,
            judge_passed=verdict.get("judge_passed"),
            judge_reasons=[str(r) for r in verdict.get("judge_reasons") or []],
            judge_model=verdict.get("judge_model"),
            judge_call=self._pop_call((conversation, f"judge-{turn}"), 1),
            timing=activity.timing(),
            injection=self._flags(verdict.get("injection")),
        )
        if (step := self._step_for(conversation, turn, "a guardrail review")) is not None:
            step.guardrail = trace

    def _on_append_message(self, activity: _Activity) -> None:
        conversation = _ref(activity.input.get("ref"), "executor")[0]
        turn = _int(activity.input.get("turn"))
        summary = activity.label if activity.label != activity.name else "message"
        trace = MessageTrace(
            turn=turn,
            kind=summary.split(":", 1)[0].strip(),
            summary=summary,
            timing=activity.timing(),
        )
        if turn == 0 or not self.steps:
            self.preamble.append(trace)
        elif (step := self._step_for(conversation, turn, "a message")) is not None:
            step.messages.append(trace)

    def _on_notify(self, activity: _Activity) -> None:
        key = str(activity.input.get("dedupe_key", ""))
        row = self.outbox.pop(key, None)
        queued = activity.result if isinstance(activity.result, bool) else None
        self.notifications.append(self._notification(row, activity, queued))

    def _notification(
        self, row: Row | None, activity: _Activity | None, queued: bool | None
    ) -> NotificationTrace:
        source: Mapping[str, Any] = activity.input if activity is not None else (row or {})
        return NotificationTrace(
            kind=str(source.get("kind", "?")),
            severity=str(source.get("severity", "?")),
            subject=str(source.get("subject", "")),
            dedupe_key=str(source.get("dedupe_key", "")),
            body=_dict(source.get("body")),
            queued=queued,
            outbox_id=row.get("id") if row else None,
            queued_at=row.get("created_at") if row else None,
            delivered_at=row.get("delivered_at") if row else None,
            timing=activity.timing() if activity else None,
        )


def _totals(calls: list[ModelCallTrace], asm: _Assembler, h: _History) -> Totals:
    tokens = Usage()
    by_model: dict[str, ModelTotals] = {}
    for call in calls:
        tokens += call.usage
        entry = by_model.setdefault(
            call.model,
            ModelTotals(model=call.model, calls=0, usage=Usage(), cost_usd=0.0, priced=call.priced),
        )
        entry.calls += 1
        entry.usage += call.usage
        entry.cost_usd += call.cost_usd
    tools = [t for p in asm.plans for t in p.executed] + [
        t for s in asm.steps for t in s.tool_calls
    ]
    end = h.closed_at or h.last_event_at
    wall = (end - h.started_at).total_seconds() if end and h.started_at else None
    return Totals(
        steps=len(asm.steps),
        model_calls=len(calls),
        tool_calls=len(tools),
        tool_errors=sum(1 for t in tools if t.is_error),
        tokens=tokens,
        by_model=sorted(by_model.values(), key=lambda m: m.model),
        estimated_cost_usd=sum(c.cost_usd for c in calls),
        cost_note=COST_NOTE,
        unpriced_models=sorted(m.model for m in by_model.values() if not m.priced),
        wall_seconds=wall,
    )


_REFS = ("ref", "planner", "executor")


def _guess_workflow_id(h: _History, outbox: Sequence[Row]) -> str:
    """For histories whose start event lacks the id (older servers, the test server): the
    notifications name it; else the first loop's conversation, which defaults to it."""
    for row in [*outbox, *(a.input for a in h.activities if a.name == "notify")]:
        if row.get("workflow_id"):
            return str(row["workflow_id"])
    for activity in h.activities:
        for key in _REFS:
            if run_id := _dict(activity.input.get(key)).get("run_id"):
                return str(run_id)
    return "?"


def conversations(
    history_events: Iterable[HistoryEvent], payload_converter: PayloadConverter | None = None
) -> list[str]:
    """The transcript run ids the run's daemon-loop activities refer to (a workflow may run
    several loops, each with its own conversation), in order of first use."""
    reader = _Reader(payload_converter or pydantic_data_converter.payload_converter)
    found: dict[str, None] = {}
    for activity in reader.read(history_events).activities:
        for key in _REFS:
            run_id = _dict(activity.input.get(key)).get("run_id")
            if isinstance(run_id, str) and run_id:
                found[run_id] = None
    return list(found)


def build_trace(
    history_events: Iterable[HistoryEvent],
    transcript_rows: Sequence[Row],
    model_call_rows: Sequence[Row],
    outbox_rows: Sequence[Row],
    *,
    workflow_id: str | None = None,
    temporal_ui: str | None = None,
    payload_converter: PayloadConverter | None = None,
) -> DecisionTrace:
    """The decision timeline of one daemon run.

    `history_events` are the run's history events (of every run of a continue-as-new chain,
    in order); the rows are the run's `transcript_entries`, `model_calls` and
    `notification_outbox` rows as mappings (rows are matched to activities by their
    conversation: `run_id`, thread and turn). Payloads decode with `payload_converter`
    (default: ledgerd's pydantic converter). No I/O; partial histories work too.
    """
    reader = _Reader(payload_converter or pydantic_data_converter.payload_converter)
    h = reader.read(history_events)
    notes = reader.notes
    asm = _Assembler(h, transcript_rows, model_call_rows, outbox_rows, notes)
    asm.assemble()
    other = sorted(
        [*asm.calls.values(), *asm.retried], key=lambda c: (c.conversation, c.thread, c.turn)
    )
    calls = [
        *(c for p in asm.plans for c in p.model_calls),
        *(s.model_call for s in asm.steps if s.model_call),
        *(s.guardrail.judge_call for s in asm.steps if s.guardrail and s.guardrail.judge_call),
        *other,
    ]
    totals = _totals(calls, asm, h)
    if not h.run_ids:
        notes.append("the history has no start event: is the workflow id right?")
    if h.status == "RUNNING":
        notes.append("the run is still running: this is the history so far")
    if h.status == "CONTINUED_AS_NEW" and h.next_run_id:
        notes.append(f"the run continued as new as run {h.next_run_id}, which is not included")
    for model in totals.unpriced_models:
        notes.append(f"no list price for model {model!r}: its calls are priced at $0")
    if asm.retried:
        notes.append(
            f"{len(asm.retried)} model call(s) were billed by an attempt that then failed "
            "and was retried; they are counted in the totals"
        )
    if len(other) > len(asm.retried):
        notes.append(
            f"{len(other) - len(asm.retried)} recorded model call(s) match no activity in history"
        )
    outcome = h.search.get(sa.OUTCOME.name) or h.result.get("outcome")
    run = RunInfo(
        workflow_id=workflow_id or h.workflow_id or _guess_workflow_id(h, outbox_rows),
        run_ids=h.run_ids,
        workflow_type=h.workflow_type or "?",
        status=h.status,
        summary=h.summary,
        task_queue=h.task_queue,
        started_at=h.started_at,
        closed_at=h.closed_at,
        tenant=h.search.get(sa.TENANT.name),
        daemon=h.search.get(sa.DAEMON.name),
        outcome=str(outcome) if outcome else None,
        reason=h.reason,
        injection_flags=asm._flags(h.result.get("injection_flags")),
        held_actions=[str(a) for a in h.result.get("held_actions") or []],
        temporal_ui=temporal_ui,
        trace_id=h.trace_id,
    )
    return DecisionTrace(
        run=run,
        plans=asm.plans,
        preamble=asm.preamble,
        steps=asm.steps,
        others=asm.others,
        other_model_calls=other,
        notifications=asm.notifications,
        totals=totals,
        notes=notes,
    )
