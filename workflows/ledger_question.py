"""LedgerQuestion: a user's question about the ledger, answered with cited figures.

Planned (the default): a planner writes the ledger queries with their dependencies, the
runtime runs them (independent ones concurrently), and the executor answers from the
results. Step-by-step: the executor alone calls one tool per turn, the plain agent loop;
it exists so both can be compared on the same questions (steps, model calls, wall time).
"""

from __future__ import annotations

from dataclasses import replace
from enum import StrEnum

from pydantic import BaseModel, Field, ValidationError, model_validator
from temporalio import workflow

with workflow.unsafe.imports_passed_through():
    from accounting.principals import Principal
    from ledgerd.contracts import Budget, DaemonResult
    from ledgerd.daemons import daemon_spec
    from workflows._daemon_loop import DaemonLoop
    from workflows._daemon_workflow import DaemonWorkflow
    from workflows._plan_execution import PlannedLoop


class QuestionMode(StrEnum):
    PLANNED = "planned"
    STEPWISE = "stepwise"


class QuestionRequest(BaseModel):
    """Who asks (the runtime's principal, never the model's choice) and what."""

    tenant_id: str
    principal: Principal
    question: str = Field(min_length=3, max_length=2000)
    mode: QuestionMode = QuestionMode.PLANNED
    conversation_id: str | None = Field(
        default=None,
        pattern=r"^[A-Za-z0-9._:-]{1,100}$",
        description="Links follow-up questions; memories record it.",
    )
    budget: Budget | None = None

    @model_validator(mode="after")
    def _caller_of_the_tenant(self) -> QuestionRequest:
        if self.principal.tenant_id != self.tenant_id:
            raise ValueError(
                f"principal {self.principal.id!r} belongs to tenant "
                f"{self.principal.tenant_id!r}, not {self.tenant_id!r}"
            )
        return self

    def task(self, today: str) -> str:
        return (
            f"Question: {' '.join(self.question.split())}\n"
            f"Tenant: {self.tenant_id}\n"
            f"Today's date: {today}\n"
            f"Conversation: {self.conversation_id or 'none'}"
        )


@workflow.defn(name="LedgerQuestion", failure_exception_types=[ValidationError])
class LedgerQuestion(DaemonWorkflow):
    @workflow.run
    async def run(self, request: QuestionRequest) -> DaemonResult:
        spec = daemon_spec("ledger_question")
        loop: DaemonLoop
        if request.mode is QuestionMode.STEPWISE:
            loop = DaemonLoop(
                replace(spec, plan=False, execute_plan=False),
                request.principal,
                request.budget,
                conversation_id=request.conversation_id,
            )
        else:
            loop = PlannedLoop(
                spec, request.principal, request.budget, conversation_id=request.conversation_id
            )
        return await self.run_loop(loop, request.task(workflow.now().date().isoformat()))
