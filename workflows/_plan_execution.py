"""A daemon loop that executes its plan: the planner's tool calls run as activities, each as
soon as the steps it depends on have finished, so independent steps run concurrently.

A step that fails (a tool error, or a reference to a result that is not there) does not
stop the others that do not need it; once the round is over the planner is told what
failed and what is done, and writes a new plan for the rest, a bounded number of times.
Then the executor answers from the results (and may still call a tool the plan missed),
and the usual respond → guard steps follow.
"""

from __future__ import annotations

import asyncio

from temporalio import workflow
from temporalio.exceptions import ActivityError, ApplicationError

with workflow.unsafe.imports_passed_through():
    from activities.tool_call import call_tool
    from ledgerd.contracts import (
        Plan,
        PlanRequest,
        PlanStep,
        ToolCall,
        ToolCallRequest,
        ToolOutcome,
    )
    from workflows._daemon_loop import STEP_RETRY, STEP_TIMEOUT, DaemonLoop, describe_call


class PlannedLoop(DaemonLoop):
    """A DaemonLoop whose opening runs the plan's tool calls as a dependency graph."""

    async def _open(self, task: str) -> int:
        done: dict[str, str] = {}  # step id -> the tool_use id holding its result
        summaries: dict[str, str] = {}
        try:
            first = await self._plan(
                PlanRequest(**self._plan_refs(), daemon=self.spec.kind, task=task)
            )
        except ActivityError as error:
            # No valid plan even after its repairs: the executor works step by step instead.
            # A request the model refused (a 400) or a declined plan is no such case: the run
            # fails fast and says why (earlier runs fell back on any failure).
            invalid = (
                isinstance(error.cause, ApplicationError) and error.cause.type == "InvalidPlan"
            )
            if not invalid and workflow.patched("plan-fallback-invalid-only"):
                raise
            workflow.logger.warning("planning failed, answering step by step: %s", error.cause)
            await self._append(0, task, "task: planning failed, step by step")
            return 1
        self.check_scope(first)
        if self.refusal is not None:
            return 1
        current: Plan | None = first
        rounds = 1
        failed: dict[str, str] = {}
        while current is not None:
            failed = await self._execute(current, rounds, done, summaries)
            if not failed or rounds > self.spec.max_replans:
                break
            rounds += 1
            current = await self._replan(task, rounds, failed, done, summaries)
        note = "The planned steps have run. Their results are above"
        if failed:
            note += "; these steps failed: " + "; ".join(f"{k}: {v}" for k, v in failed.items())
        await self._append(
            rounds + 1,
            note + ". Answer the question with `respond`, or call a tool the plan missed.",
            "answer: results ready",
        )
        return rounds + 2

    async def _replan(
        self,
        task: str,
        rounds: int,
        failed: dict[str, str],
        done: dict[str, str],
        summaries: dict[str, str],
    ) -> Plan | None:
        lines = [f"- {step} failed: {reason}" for step, reason in failed.items()]
        lines += [f"- {step} done: {summaries[step]}" for step in done]
        try:
            return await self._plan(
                PlanRequest(
                    **self._plan_refs(),
                    daemon=self.spec.kind,
                    task=task,
                    round=rounds,
                    replan="Re-plan: some steps failed.\n"
                    + "\n".join(lines)
                    + "\nSubmit a new plan for what is still needed. New step ids must differ"
                    " from the done ones; `$from` may refer to done steps.",
                    done=list(done),
                )
            )
        except ActivityError:
            # No usable new plan: the executor answers from what the done steps returned.
            return None

    async def _execute(
        self, plan: Plan, rounds: int, done: dict[str, str], summaries: dict[str, str]
    ) -> dict[str, str]:
        """Run every step that has a call; returns the failed ones with their reasons."""
        steps = [step for step in plan.steps if step.call is not None]
        self._say(f"running {len(steps)} planned step(s)")
        failed: dict[str, str] = {}
        tasks: dict[str, asyncio.Task[None]] = {}

        async def run(position: int, step: PlanStep) -> None:
            assert step.call is not None
            await asyncio.gather(*(tasks[d] for d in step.depends_on if d in tasks))
            blocked = [d for d in step.depends_on if d in failed]
            if blocked:
                failed[step.id] = f"not run, because {', '.join(blocked)} failed"
                return
            call = ToolCall(
                id=f"step-{rounds}-{step.id}", name=step.call.tool, input=step.call.input
            )
            self.result.tool_calls += 1
            try:
                # Only the steps it refers to: the map is in every step's input in history.
                needs = {d: done[d] for d in step.depends_on if d in done}
                outcome = await self._run_step(call, step.id, rounds, position, needs)
            except ActivityError as error:
                # Out of retries (the database or the embedder stayed down): the step failed
                # like a tool error would; its siblings run on and the planner hears of it.
                failed[step.id] = f"{call.name} did not complete: {error.cause or error}"[:300]
                return
            self.screened(outcome)
            if outcome.is_error:
                failed[step.id] = outcome.summary
            else:
                done[step.id] = call.id
                summaries[step.id] = f"{call.name}: {outcome.summary}"

        # Tasks start in plan order and each waits only for its own dependencies: the
        # workflow's event loop is deterministic, so this replays exactly.
        for position, step in enumerate(steps, start=1):
            tasks[step.id] = asyncio.create_task(run(position, step))
        await asyncio.gather(*tasks.values())
        return failed

    async def _run_step(
        self, call: ToolCall, step_id: str, rounds: int, position: int, done: dict[str, str]
    ) -> ToolOutcome:
        return await workflow.execute_activity(
            call_tool,
            ToolCallRequest(
                ref=self.executor,
                turn=rounds,
                position=position,
                call=call,
                daemon=self.spec.kind,
                principal=self.principal,
                idempotency_key=f"{self.run_id}/plan-{rounds}/{step_id}",
                conversation_id=self.conversation_id,
                steps_done=done,
            ),
            start_to_close_timeout=STEP_TIMEOUT,
            retry_policy=STEP_RETRY,
            summary=describe_call(call, step_id),
        )
