"""The daemon loop every daemon composes: plan → act → respond → guard → notify.

Read it top to bottom; each step is one activity with a readable summary in the Temporal UI:

- plan: the planner model writes a structured plan (steps, tools, dependencies);
- act: an executor turn; each `tool_use` block becomes its own activity, and the blocks of
  one turn run concurrently;
- respond: the `respond` call is validated against the daemon's output schema; an invalid
  answer goes back to the model with the errors (bounded);
- guard: deterministic checks plus a judge model; a failure gets one revision round with the
  reasons, then escalates;
- notify: the team hears of every ending, and loudly of failures and escalations.

Budgets (steps, tokens, wall time) end a run with a classified outcome, never a hang. The
conversation lives in PostgreSQL, so history holds only references, tool inputs and short
summaries: its size per step does not grow with the conversation.
"""

from __future__ import annotations

import asyncio
from datetime import timedelta

from temporalio import workflow
from temporalio.common import RetryPolicy
from temporalio.exceptions import ActivityError, ApplicationError

from workflows._keys import execution_key
from workflows._metrics import record_outcome
from workflows._queues import model_queue

with workflow.unsafe.imports_passed_through():
    from accounting.principals import Principal
    from activities.answer import AnswerRequest, validate_answer
    from activities.guardrails import guardrail
    from activities.messages import append_message
    from activities.model_turn import model_turn
    from activities.notify import notify
    from activities.planning import plan
    from activities.tool_call import call_tool
    from ledgerd.contracts import (
        Budget,
        DaemonResult,
        GuardrailRequest,
        ModelTurn,
        ModelTurnRequest,
        Notification,
        Outcome,
        Plan,
        PlanRequest,
        Role,
        RunRef,
        Severity,
        ToolCall,
        ToolCallRequest,
        ToolOutcome,
        TranscriptMessage,
        Verdict,
    )
    from ledgerd.daemons import RESPOND, DaemonSpec
    from ledgerd.daemons._relevance import same_tenant

MODEL_RETRY = RetryPolicy(
    initial_interval=timedelta(seconds=2),
    backoff_coefficient=2.0,
    maximum_interval=timedelta(seconds=60),
    maximum_attempts=8,
)
STEP_RETRY = RetryPolicy(initial_interval=timedelta(seconds=1), maximum_attempts=5)
# A failing notification channel is retried (only that channel: deliveries are recorded per
# dedupe key) a bounded number of times, then given up on; the run's outcome stands.
NOTIFY_RETRY = RetryPolicy(
    initial_interval=timedelta(seconds=5),
    backoff_coefficient=2.0,
    maximum_interval=timedelta(minutes=2),
    maximum_attempts=5,
)
# A model activity streams for as long as its max_tokens allows (up to about a quarter of an
# hour at 32,000 tokens; the activity bounds each call by that); heartbeats show the worker
# is alive meanwhile, so a dead worker is noticed in a minute, not at the timeout.
MODEL_TIMEOUT = timedelta(minutes=30)
MODEL_HEARTBEAT = timedelta(seconds=60)
STEP_TIMEOUT = timedelta(seconds=60)


def describe_call(call: ToolCall, step: str | None = None) -> str:
    """`tool: search_vendors text='SQ *BLUE BOTTLE COFF…'`: the UI's name for a tool step
    (`tool: query_ledger [q3] metrics=…` for a plan step)."""
    shown = [f"[{step}]"] if step else []
    for key, value in list(call.input.items())[:2]:
        text = repr(value)
        shown.append(f"{key}={text[:40] + '…' if len(text) > 40 else text}")
    return f"tool: {call.name} {' '.join(shown)}".strip()


class DaemonLoop:
    """One run of a daemon inside a workflow. Holds only counters and small results."""

    def __init__(
        self,
        spec: DaemonSpec,
        principal: Principal,
        budget: Budget | None = None,
        run_id: str | None = None,
        conversation_id: str | None = None,
    ) -> None:
        """`run_id` names the conversation; a workflow that runs several loops (onboarding's
        mapping, then its revisions) gives each its own, so transcripts and idempotency
        keys never collide. `conversation_id` links runs of one user conversation (memory)."""
        self.spec = spec
        self.principal = principal
        self.conversation_id = conversation_id
        self.budget = budget or spec.budget
        self.workflow_id = workflow.info().workflow_id
        self.run_id = run_id or execution_key()
        self.executor = RunRef(run_id=self.run_id, thread="executor")
        self.result = DaemonResult(outcome=Outcome.FAILED)
        self.status = "starting"
        # Set when the plan's intent is about another tenant: the run ends refused, saying
        # why, before any tool runs.
        self.refusal: str | None = None

    def _say(self, status: str) -> None:
        self.status = status
        workflow.set_current_details(f"{self.spec.kind}: {status}")

    async def run(self, task: str) -> DaemonResult:
        self.started = workflow.now()
        try:
            turn = await self._open(task)
            if self.refusal is not None:
                result = self._end(Outcome.REFUSED, self.refusal)
            else:
                result = await self._converse(turn)
        except ActivityError as error:
            cause = error.cause or error
            if isinstance(cause, ApplicationError) and cause.type == "PlannerDeclined":
                # A classifier declined the task: asking again gets the same answer.
                result = self._end(Outcome.REFUSED, f"the planner declined: {cause.message}")
            else:
                result = self._end(Outcome.FAILED, f"{error.activity_type} failed: {cause}")
        if result.held_actions and result.outcome is Outcome.COMPLETED:
            # A mutating call was held: a person must approve it, so the run is not done.
            result.outcome = Outcome.ESCALATED
            result.reason = (
                f"{len(result.held_actions)} mutating call(s) held for approval, traced to "
                f"instruction-like data: {result.held_actions[0][:200]}"
            )
            self._say(f"{result.outcome.value}: {result.reason[:200]}")
        result.seconds = (workflow.now() - self.started).total_seconds()
        await self._notify(result)
        record_outcome(self.spec.kind, result.outcome.value)
        return result

    async def _open(self, task: str) -> int:
        """Start the executor's thread (the task, and the plan if the daemon plans); return
        the executor's first turn. Daemons that execute their plans override this."""
        if self.spec.plan:
            request = PlanRequest(**self._plan_refs(), daemon=self.spec.kind, task=task)
            try:
                self.check_scope(await self._plan(request))
            except ActivityError as error:
                # A plan that stays invalid after its repairs (a model that mangles its tool
                # input) is no reason to give up the run: the executor works without one, as
                # a planned question does. A declined plan or a refused request still ends it.
                invalid = (
                    isinstance(error.cause, ApplicationError) and error.cause.type == "InvalidPlan"
                )
                if not (invalid and workflow.patched("invalid-plan-step-by-step")):
                    raise
                workflow.logger.warning("planning failed, working without a plan: %s", error.cause)
                await self._append(0, task, "task: planning failed, no plan")
        else:
            await self._append(0, task, "task")
        return 1

    def check_scope(self, plan: Plan) -> None:
        """A plan whose intent is about another tenant than the caller's ends the run, refused
        with the reason: a principal reads its own tenant's books only."""
        intent = plan.intent
        if intent is None or same_tenant(intent.tenant, self.principal.tenant_id):
            return
        if workflow.patched("refuse-other-tenant"):
            self.refusal = (
                f"the question is about tenant {intent.tenant[:60]!r}, but "
                f"{self.principal.id} can only read tenant {self.principal.tenant_id!r}'s "
                "books; nothing was run"
            )

    def _plan_refs(self) -> dict[str, RunRef]:
        return {"planner": RunRef(run_id=self.run_id, thread="planner"), "executor": self.executor}

    async def _plan(self, request: PlanRequest) -> Plan:
        self._say("planning" if request.round == 1 else f"re-planning (round {request.round})")
        planned = await workflow.execute_activity(
            plan,
            request,
            task_queue=model_queue(Role.PLANNER),
            start_to_close_timeout=MODEL_TIMEOUT,
            heartbeat_timeout=MODEL_HEARTBEAT,
            retry_policy=MODEL_RETRY,
            summary=f"plan: {self.spec.kind}"
            if request.round == 1
            else f"re-plan {request.round}: {self.spec.kind}",
        )
        self.result.plan_rounds += 1
        self.result.model_calls += planned.model_calls
        self.result.usage += planned.usage
        return planned.plan

    async def _converse(self, turn: int) -> DaemonResult:
        """Executor turns until a validated answer passes the guardrail or a bound is hit."""
        repairs = revisions = 0
        while True:
            exhausted = self._exhausted()
            if exhausted:
                return self._end(Outcome.BUDGET_EXHAUSTED, exhausted)
            self._say(f"step {self.result.steps + 1}: thinking")
            reply = await self._act(turn)
            if reply.stop_reason == "refusal":
                category = reply.refusal_category or "unknown"
                return self._end(Outcome.REFUSED, f"the model declined (category {category})")
            if reply.stop_reason == "model_context_window_exceeded":
                return self._end(Outcome.BUDGET_EXHAUSTED, "the model's context window is full")
            calls = [c for c in reply.tool_calls if c.name != RESPOND]
            answers = [c for c in reply.tool_calls if c.name == RESPOND]
            if calls:
                self._say(f"step {self.result.steps}: calling {', '.join(c.name for c in calls)}")
                await self._tools(turn, reply.tool_calls, calls)
            if answers:
                check = await workflow.execute_activity(
                    validate_answer,
                    AnswerRequest(
                        ref=self.executor,
                        turn=turn,
                        position=reply.tool_calls.index(answers[0]) + 1,
                        call=answers[0],
                        daemon=self.spec.kind,
                        ignored={a.id: reply.tool_calls.index(a) + 1 for a in answers[1:]},
                    ),
                    start_to_close_timeout=STEP_TIMEOUT,
                    retry_policy=STEP_RETRY,
                    summary=f"respond: validate {self.spec.output_model.__name__}",
                )
                if not check.valid:
                    repairs += 1
                    if repairs > self.spec.max_answer_repairs:
                        return self._end(Outcome.INVALID_ANSWER, check.error or "invalid answer")
                    turn += 1
                    continue
                assert check.answer is not None
                self.result.answer = check.answer
                verdict = await self._guard(turn, check.answer)
                if verdict.passed:
                    return self._end(Outcome.COMPLETED, "answer passed the guardrail")
                revisions += 1
                if revisions > self.spec.max_revisions:
                    return self._end(Outcome.ESCALATED, "; ".join(verdict.reasons()))
                await self._append(
                    turn,
                    "The guardrail rejected your answer:\n- "
                    + "\n- ".join(verdict.reasons())
                    + "\nRevise it using the tools, then call respond again.",
                    "revise: guardrail feedback",
                )
            elif not calls:
                repairs += 1
                if repairs > self.spec.max_answer_repairs:
                    return self._end(Outcome.INVALID_ANSWER, "the model stopped without answering")
                note = {
                    "max_tokens": "Your reply was cut at max_tokens; be brief and continue.",
                    # A paused long turn: the reply so far stays, and the model goes on from it.
                    "pause_turn": "Continue.",
                }.get(reply.stop_reason, "Use the tools, then call respond with the final answer.")
                await self._append(turn, note, "nudge: ask for an answer")
            turn += 1

    async def _act(self, turn: int) -> ModelTurn:
        reply = await workflow.execute_activity(
            model_turn,
            ModelTurnRequest(
                ref=self.executor,
                turn=turn,
                role=Role.EXECUTOR,
                daemon=self.spec.kind,
                prompt=self.spec.prompt("executor"),
                tools=list(self.spec.tools),
            ),
            task_queue=model_queue(Role.EXECUTOR),
            start_to_close_timeout=MODEL_TIMEOUT,
            heartbeat_timeout=MODEL_HEARTBEAT,
            retry_policy=MODEL_RETRY,
            summary=f"act: step {self.result.steps + 1}",
        )
        self.result.steps += 1
        self.result.model_calls += 1
        self.result.usage += reply.usage
        return reply

    async def _tools(
        self, turn: int, blocks: list[ToolCall], calls: list[ToolCall]
    ) -> list[ToolOutcome]:
        outcomes = await asyncio.gather(
            *(
                workflow.execute_activity(
                    call_tool,
                    ToolCallRequest(
                        ref=self.executor,
                        turn=turn,
                        position=blocks.index(call) + 1,
                        call=call,
                        daemon=self.spec.kind,
                        principal=self.principal,
                        idempotency_key=f"{self.run_id}/{turn}/{blocks.index(call) + 1}",
                        conversation_id=self.conversation_id,
                    ),
                    start_to_close_timeout=STEP_TIMEOUT,
                    retry_policy=STEP_RETRY,
                    summary=describe_call(call),
                )
                for call in calls
            )
        )
        self.result.tool_calls += len(outcomes)
        for outcome in outcomes:
            self.screened(outcome)
        return list(outcomes)

    def screened(self, outcome: ToolOutcome) -> None:
        """Keep what the injection screen found in a tool's result, and a call it held."""
        for flag in outcome.flags:
            if flag not in self.result.injection_flags and len(self.result.injection_flags) < 50:
                self.result.injection_flags.append(flag)
        if outcome.held is not None and len(self.result.held_actions) < 20:
            self.result.held_actions.append(outcome.held[:300])

    async def _guard(self, turn: int, answer: dict[str, object]) -> Verdict:
        self._say("guardrail review")
        verdict = await workflow.execute_activity(
            guardrail,
            GuardrailRequest(ref=self.executor, daemon=self.spec.kind, answer=answer, turn=turn),
            task_queue=model_queue(Role.JUDGE),
            start_to_close_timeout=MODEL_TIMEOUT,
            heartbeat_timeout=MODEL_HEARTBEAT,
            retry_policy=MODEL_RETRY,
            summary=f"guardrail: {self.spec.kind}",
        )
        self.result.model_calls += 1
        self.result.verdict = verdict
        for flag in verdict.injection:
            if flag not in self.result.injection_flags and len(self.result.injection_flags) < 50:
                self.result.injection_flags.append(flag)
        return verdict

    async def _append(self, turn: int, text: str, summary: str) -> None:
        await workflow.execute_activity(
            append_message,
            TranscriptMessage(ref=self.executor, turn=turn, text=text),
            start_to_close_timeout=STEP_TIMEOUT,
            retry_policy=STEP_RETRY,
            summary=summary,
        )

    def _exhausted(self) -> str | None:
        b = self.budget
        if self.result.steps >= b.max_steps:
            return f"step budget of {b.max_steps} used up"
        if self.result.usage.total >= b.max_tokens:
            return f"token budget of {b.max_tokens} used up ({self.result.usage.total})"
        elapsed = (workflow.now() - self.started).total_seconds()
        if elapsed >= b.max_seconds:
            return f"time budget of {b.max_seconds}s used up ({elapsed:.0f}s)"
        return None

    def _end(self, outcome: Outcome, reason: str) -> DaemonResult:
        self.result.outcome = outcome
        self.result.reason = reason
        if outcome is not Outcome.COMPLETED and outcome is not Outcome.ESCALATED:
            self.result.answer = None
        self._say(f"{outcome.value}: {reason[:200]}")
        return self.result

    async def _notify(self, result: DaemonResult) -> None:
        severity = {
            Outcome.COMPLETED: Severity.INFO,
            Outcome.ESCALATED: Severity.ATTENTION,
            Outcome.REFUSED: Severity.ATTENTION,
        }.get(result.outcome, Severity.FAILURE)
        body: dict[str, object] = {"steps": result.steps, "tool_calls": result.tool_calls}
        subject = f"{self.spec.kind} {result.outcome.value}: {result.reason[:200]}"
        if result.injection_flags or result.held_actions:
            # Someone must look at planted instructions even when the run went well.
            if severity is Severity.INFO:
                severity = Severity.ATTENTION
            subject = f"possible prompt injection; {subject}"
            body["injection_flags"] = [f.model_dump() for f in result.injection_flags[:10]]
            body["held_actions"] = result.held_actions[:10]
        await send_notification(
            Notification(
                dedupe_key=f"{self.run_id}/{result.outcome.value}",
                tenant_id=self.principal.tenant_id,
                workflow_id=self.workflow_id,
                kind=f"{self.spec.kind}.{result.outcome.value}",
                severity=severity,
                subject=subject[:300],
                body=body,
            ),
            summary=f"notify: {result.outcome.value}",
        )


async def send_notification(notification: Notification, summary: str) -> None:
    """Notify through the `notify` activity; a channel that stays down never fails the daemon:
    after the bounded retries the failure is logged and the run goes on."""
    try:
        await workflow.execute_activity(
            notify,
            notification,
            start_to_close_timeout=STEP_TIMEOUT,
            retry_policy=NOTIFY_RETRY,
            summary=summary,
        )
    except ActivityError:
        workflow.logger.warning("notification %s could not be delivered", notification.dedupe_key)
