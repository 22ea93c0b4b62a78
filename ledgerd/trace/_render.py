"""The terminal rendering of a DecisionTrace: plain, aligned text; colour only when asked."""

from __future__ import annotations

import json
import textwrap
from collections.abc import Callable
from datetime import datetime
from functools import partial
from typing import Any

import typer

from ledgerd.contracts import InjectionFlag, Usage
from ledgerd.trace._model import (
    ActivityStatus,
    DecisionTrace,
    GuardrailTrace,
    MessageTrace,
    ModelCallTrace,
    NotificationTrace,
    OtherTrace,
    PlanTrace,
    StepTrace,
    Timing,
    ToolCallTrace,
)

WIDTH = 100
Style = Callable[[str, str], str]


def _plain(text: str, _colour: str) -> str:
    return text


def _coloured(text: str, colour: str) -> str:
    return typer.style(text, fg=colour, bold=colour == "red")


def _when(at: datetime | None) -> str:
    return at.strftime("%Y-%m-%d %H:%M:%S UTC") if at else "—"


def _ms(ms: int | None) -> str:
    if ms is None:
        return "—"
    return f"{ms} ms" if ms < 1000 else f"{ms / 1000:.1f} s"


def _tokens(usage: Usage) -> str:
    return (
        f"in {usage.input_tokens:,} · out {usage.output_tokens:,} · "
        f"cache read {usage.cache_read_tokens:,} · cache write {usage.cache_creation_tokens:,}"
    )


def _json(value: Any) -> str:
    return json.dumps(value, ensure_ascii=False, default=str, sort_keys=False)


def _wrap(label: str, text: str, indent: int, hang: int = 0) -> list[str]:
    """`label  text`, the text wrapped under itself (no label: just indented), continuation
    lines `hang` further in."""
    head = " " * indent + (f"{label:<9} " if label else "")
    lines = textwrap.wrap(
        text,
        width=WIDTH,
        initial_indent=head,
        subsequent_indent=" " * (len(head) + hang),
        break_long_words=True,
        break_on_hyphens=False,
    )
    return lines or [head.rstrip()]


class _Renderer:
    def __init__(self, style: Style) -> None:
        self.s = style
        self.out: list[str] = []
        self.many_loops = False

    def line(self, text: str = "") -> None:
        self.out.append(text)

    def heading(self, text: str) -> None:
        self.line()
        self.line(self.s(text, "cyan"))

    def status(self, timing: Timing) -> str:
        if timing.status is ActivityStatus.COMPLETED:
            text = _ms(timing.duration_ms)
        elif timing.status is ActivityStatus.PENDING:
            return self.s("pending…", "yellow")
        else:
            text = f"{timing.status.value.upper()} after {_ms(timing.duration_ms)}"
            return self.s(text, "red")
        if timing.attempts > 1:
            text += f" ({timing.attempts} attempts)"
        return text

    def model(self, call: ModelCallTrace | None, indent: int) -> None:
        pad = " " * indent
        if call is None:
            self.line(f"{pad}{'model':<9} (no call recorded)")
            return
        prompt = call.prompt_version or "?"
        if call.prompt_name:
            prompt = f"{call.prompt_name}@{prompt}"
        self.line(f"{pad}{'model':<9} {call.model} · prompt {prompt} · {_ms(call.latency_ms)}")
        self.line(f"{pad}{'tokens':<9} {_tokens(call.usage)}")

    def render(self, trace: DecisionTrace) -> str:
        self.header(trace)
        loops = {p.conversation for p in trace.plans} | {s.conversation for s in trace.steps}
        self.many_loops = len(loops) > 1
        timeline: list[tuple[int, Callable[[], None]]] = [
            *((p.timing.seq if p.timing else -1, partial(self.plan, p)) for p in trace.plans),
            *((m.timing.seq, partial(self.message, m)) for m in trace.preamble),
            *((s.timing.seq, partial(self.step, s)) for s in trace.steps),
            *((o.timing.seq, partial(self.other, o)) for o in trace.others),
        ]
        for _, draw in sorted(timeline, key=lambda item: item[0]):
            draw()
        self.notifications(trace.notifications)
        self.totals(trace)
        if trace.notes:
            self.heading("NOTES")
            for note in trace.notes:
                self.out.extend(_wrap("", f"- {note}", 2, hang=2))
        return "\n".join(self.out)

    def header(self, trace: DecisionTrace) -> None:
        run = trace.run
        colour = {"COMPLETED": "green", "RUNNING": "yellow"}.get(run.status, "red")
        outcome_colour = "green" if run.outcome in ("completed", "applied") else "yellow"
        self.line(self.s(f"TRACE {run.workflow_id}", "cyan"))
        rows = [
            ("type", run.workflow_type),
            ("status", self.s(run.status, colour)),
            ("started", _when(run.started_at)),
            ("closed", _when(run.closed_at)),
            ("tenant", run.tenant or "—"),
            ("daemon", run.daemon or "—"),
            ("outcome", self.s(run.outcome, outcome_colour) if run.outcome else "—"),
        ]
        if run.summary:
            rows.insert(2, ("summary", run.summary))
        for label, value in rows:
            self.line(f"  {label:<9} {value}")
        if run.reason:
            self.out.extend(_wrap("reason", run.reason, 2))
        for flag in run.injection_flags:
            self.out.extend(_wrap("⚠ flag", self.s(_flag(flag), "yellow"), 2))
        for held in run.held_actions:
            self.out.extend(_wrap("HELD", self.s(held, "red"), 2))
        self.line(f"  {'runs':<9} {', '.join(run.run_ids) or '—'}")
        if run.temporal_ui:
            self.line(f"  {'UI':<9} {run.temporal_ui}")
        if run.trace_id:
            self.line(f"  {'trace':<9} {run.trace_id}")

    def loop(self, conversation: str) -> str:
        return f"  [{conversation}]" if self.many_loops and conversation else ""

    def message(self, message: MessageTrace) -> None:
        self.heading(f"MESSAGE  {message.summary}  ({self.status(message.timing)})")
        if message.timing.failure:
            self.out.extend(_wrap("failure", self.s(message.timing.failure, "red"), 2))

    def other(self, other: OtherTrace) -> None:
        if not (self.out and self.out[-1].startswith(("ACTIVITY", "CHILD", "SIGNAL", "UPDATE"))):
            self.line()  # consecutive ones stay together
        if other.kind == "child_workflow":
            where = f"child workflow {other.name} {other.workflow_id}"
            self.line(f"CHILD     {other.label}  ({where}; {self.status(other.timing)})")
        elif other.kind == "signal":
            self.line(f"SIGNAL    {other.name}  (at {_when(other.timing.scheduled_at)})")
        elif other.kind == "update":
            self.line(f"UPDATE    {other.name}  ({self.status(other.timing)})")
        else:
            self.line(f"ACTIVITY  {other.label}  ({other.name}; {self.status(other.timing)})")
        if other.timing.failure:
            self.out.extend(_wrap("failure", self.s(other.timing.failure, "red"), 2))

    def plan(self, plan: PlanTrace) -> None:
        where = "plan activity" if plan.source == "history" else "planner transcript, not accepted"
        timing = self.status(plan.timing) if plan.timing else "no activity"
        self.heading(f"PLAN{self.loop(plan.conversation)}  ({where}; {timing})")
        for call in plan.model_calls:
            self.model(call, 2)
        width = max((len(s.id) for s in plan.steps), default=0)
        for step in plan.steps:
            tools = ", ".join(step.tool_names) or "—"
            after = f"  after {', '.join(step.depends_on)}" if step.depends_on else ""
            self.line(f"  {step.id:<{width}}  {step.goal}")
            self.line(f"  {'':<{width}}    tools {tools}{after}")
        if plan.rationale:
            self.out.extend(_wrap("rationale", plan.rationale, 2))
        for executed in plan.executed:
            self.tool(executed)

    def step(self, step: StepTrace) -> None:
        where = f"turn {step.turn}; {self.status(step.timing)}"
        self.heading(f"STEP {step.number}  {step.label}{self.loop(step.conversation)}  ({where})")
        self.model(step.model_call, 2)
        if step.timing.failure:
            self.out.extend(_wrap("failure", self.s(step.timing.failure, "red"), 2))
        if step.said:
            self.out.extend(_wrap("said", step.said, 2))
        if step.stop_reason:
            requested = ", ".join(step.requested_tools) or "no tools"
            self.line(f"  {'reply':<9} stop {step.stop_reason} → {requested}")
        for call in step.tool_calls:
            self.tool(call)
        if step.answer is not None:
            answer = step.answer
            if answer.valid is None:
                verdict = self.s("pending…", "yellow")
            elif answer.valid:
                verdict = self.s("✓ valid", "green")
            else:
                verdict = self.s(f"✗ INVALID: {answer.error}", "red")
            self.line(f"  {'answer':<9} {answer.label} · {verdict} · {self.status(answer.timing)}")
            self.out.extend(_wrap("", _json(answer.arguments), 12))
            if answer.timing.failure:
                self.out.extend(_wrap("failure", self.s(answer.timing.failure, "red"), 2))
        if step.guardrail is not None:
            self.guardrail(step.guardrail)
        for message in step.messages:
            self.line(f"  {message.kind:<9} {message.summary} ({self.status(message.timing)})")
            if message.timing.failure:
                self.out.extend(_wrap("failure", self.s(message.timing.failure, "red"), 12))

    def tool(self, call: ToolCallTrace) -> None:
        if call.is_error is None:
            mark = self.s("…", "yellow")
        elif call.is_error:
            mark = self.s("✗ ERROR", "red")
        else:
            mark = self.s("✓", "green")
        self.line(f"  {'tool':<9} {call.name}  {mark}  {self.status(call.timing)}")
        self.out.extend(_wrap("args", _json(call.arguments), 4))
        if call.summary is not None:
            self.out.extend(_wrap("result", call.summary, 4))
        elif call.timing.failure:
            self.out.extend(_wrap("failure", call.timing.failure, 4))
        if call.held is not None:
            self.out.extend(_wrap("HELD", self.s(call.held, "red"), 4))
        for flag in call.flags:
            self.out.extend(_wrap("⚠ flag", self.s(_flag(flag), "yellow"), 4))

    def guardrail(self, guard: GuardrailTrace) -> None:
        if guard.passed is None:
            verdict = self.s("pending…", "yellow")
            if guard.timing.failure:
                verdict = self.s(f"{guard.timing.status.value}: {guard.timing.failure}", "red")
        else:
            verdict = self.s("PASSED", "green") if guard.passed else self.s("FAILED", "red")
        self.line(f"  {'guardrail':<9} {verdict}  {self.status(guard.timing)}")
        width = max((len(c.name) for c in guard.checks), default=5)
        hang = len("✓ pass ") + width + 2
        for check in guard.checks:
            mark = self.s("✓ pass", "green") if check.passed else self.s("✗ FAIL", "red")
            text = f"{mark} {check.name:<{width}}  {check.reason}"
            self.out.extend(_wrap("", text, 12, hang))
        if guard.judge_passed is not None:
            mark = self.s("✓ pass", "green") if guard.judge_passed else self.s("✗ FAIL", "red")
            reasons = "; ".join(guard.judge_reasons) or "no reasons given"
            text = f"{mark} {'judge':<{width}}  ({guard.judge_model}) {reasons}"
            self.out.extend(_wrap("", text, 12, hang))
        for flag in guard.injection:
            self.out.extend(_wrap("", self.s(f"⚠ injection? {_flag(flag)}", "yellow"), 12))
        if (call := guard.judge_call) is not None:
            prompt = f"{call.prompt_name or '?'}@{call.prompt_version or '?'}"
            text = f"judge call: {call.model} · prompt {prompt} · {_ms(call.latency_ms)} · "
            self.out.extend(_wrap("", text + _tokens(call.usage), 12))

    def notifications(self, notes: list[NotificationTrace]) -> None:
        if not notes:
            return
        self.heading("NOTIFICATIONS")
        for n in notes:
            colour = {"info": "green", "attention": "yellow"}.get(n.severity, "red")
            self.line(f"  {self.s(f'{n.severity:<9}', colour)} {n.kind}")
            self.out.extend(_wrap("subject", n.subject, 4))
            if n.body:
                self.out.extend(_wrap("body", _json(n.body), 4))
            if n.outbox_id is not None:
                delivered = _when(n.delivered_at) if n.delivered_at else "not yet delivered"
                where = f"outbox #{n.outbox_id}, queued {_when(n.queued_at)}, {delivered}"
            elif n.timing is not None and n.timing.status is ActivityStatus.PENDING:
                where = "notify activity pending"
            else:
                where = "no outbox row"
            self.out.extend(_wrap("status", where, 4))
            if n.timing is not None and n.timing.failure:
                failure = f"notify {n.timing.status.value}: {n.timing.failure}"
                self.out.extend(_wrap("failure", self.s(failure, "red"), 4))

    def totals(self, trace: DecisionTrace) -> None:
        t = trace.totals
        self.heading("TOTALS")
        wall = f"{t.wall_seconds:.1f} s" if t.wall_seconds is not None else "—"
        if trace.run.status == "RUNNING" and t.wall_seconds is not None:
            wall += " so far"
        self.line(
            f"  steps {t.steps} · model calls {t.model_calls} · tool calls {t.tool_calls} "
            f"({t.tool_errors} errors) · wall time {wall}"
        )
        self.line(f"  {'tokens':<9} {_tokens(t.tokens)} · total {t.tokens.total:,}")
        width = max((len(m.model) for m in t.by_model), default=5)
        columns = ("calls", "input", "output", "cache rd", "cache wr", "est. USD")
        self.line(f"  {'by model':<9} {'model':<{width}}" + "".join(f"{c:>10}" for c in columns))
        for m in t.by_model:
            u = m.usage
            numbers = [m.calls, u.input_tokens, u.output_tokens]
            numbers += [u.cache_read_tokens, u.cache_creation_tokens]
            cost = f"{m.cost_usd:.4f}" if m.priced else "no price"
            cells = "".join(f"{n:>10,}" for n in numbers) + f"{cost:>10}"
            self.line(f"  {'':<9} {m.model:<{width}}{cells}")
        self.line(f"  {'cost':<9} ~${t.estimated_cost_usd:.4f} USD  ESTIMATE")
        self.out.extend(_wrap("", t.cost_note, 12))


def _flag(flag: InjectionFlag) -> str:
    where = f" at {flag.where}" if flag.where else ""
    return f"instructions in the {flag.channel}{where} ({flag.rule}): {flag.excerpt}"


def render_trace(trace: DecisionTrace, *, colour: bool = False) -> str:
    """The trace as aligned plain text (ANSI colours only with `colour=True`)."""
    return _Renderer(_coloured if colour else _plain).render(trace)
