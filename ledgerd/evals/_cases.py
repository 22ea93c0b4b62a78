"""What every daemon's case runner shares: where to run (`CaseContext`) and what it found
(`CaseRun`, with its `CaseGrade`)."""

from __future__ import annotations

from dataclasses import dataclass

from pydantic import BaseModel, Field
from temporalio.client import Client

from ledgerd.db import Pool


class CaseGrade(BaseModel):
    correct: bool = Field(description="Every expectation of the case is met.")
    score: float = Field(ge=0.0, le=1.0, description="The share of expectations met.")
    reason: str


class CaseRun(BaseModel):
    """One case run once, under one variant, graded."""

    workflow_id: str
    tenant: str
    outcome: str
    grade: CaseGrade


@dataclass(frozen=True)
class CaseContext:
    """Where one case runs under one variant: the variant's queue, and the names of what the
    run creates, `<key>-<position>…`, so two variants (and two comparisons) never collide."""

    client: Client
    pool: Pool
    task_queue: str
    key: str
    position: int

    def workflow_id(self, case_id: str) -> str:
        return f"{self.key}-{self.position}-{case_id}"

    @property
    def scratch_tenant(self) -> str:
        return f"{self.key}-{self.position}"


def not_answered(outcome: str, reason: str) -> CaseGrade:
    return CaseGrade(correct=False, score=0.0, reason=f"no answer ({outcome}): {reason}")
