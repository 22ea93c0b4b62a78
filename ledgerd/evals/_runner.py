"""Run the question set through the LedgerQuestion daemon as real workflows and grade it.

The same runner serves the tests (offline stand-in), `ledgerd eval questions` against the
dev stack, and Claude when `ANTHROPIC_API_KEY` is set: it only starts workflows and reads
their results, so what it measures is what a user would get.
"""

from __future__ import annotations

import asyncio
from collections.abc import Sequence
from dataclasses import asdict, dataclass

from temporalio.client import Client

from accounting.principals import load_principal
from ledgerd.contracts import DaemonResult
from ledgerd.db import Pool
from ledgerd.evals.ledger_questions import Question, expected, grade
from starter.ledger_question import start_ledger_question
from workflows.ledger_question import QuestionMode


@dataclass(frozen=True)
class CaseResult:
    id: str
    tenant: str
    question: str
    mode: str
    workflow_id: str
    outcome: str
    correct: bool
    grounded: bool
    reason: str
    plan_rounds: int
    steps: int
    model_calls: int
    tool_calls: int
    tokens: int
    seconds: float

    def as_dict(self) -> dict[str, object]:
        return asdict(self)


def is_grounded(result: DaemonResult) -> bool:
    """The deterministic checks (numbers, figures, calculations, citations) all passed."""
    return result.verdict is not None and all(c.passed for c in result.verdict.checks)


async def run_case(
    client: Client, pool: Pool, question: Question, mode: QuestionMode, task_queue: str | None
) -> CaseResult:
    principal = await load_principal(pool, f"{question.tenant}-viewer")
    want = await expected(pool, question)
    handle = await start_ledger_question(
        client, principal=principal, question=question.question, mode=mode, task_queue=task_queue
    )
    result = await handle.result()
    graded = grade(result.answer, want) if result.answer else None
    return CaseResult(
        id=question.id,
        tenant=question.tenant,
        question=question.question,
        mode=mode.value,
        workflow_id=handle.id,
        outcome=result.outcome.value,
        correct=bool(graded and graded.correct),
        grounded=is_grounded(result),
        reason=graded.reason if graded else result.reason,
        plan_rounds=result.plan_rounds,
        steps=result.steps,
        model_calls=result.model_calls,
        tool_calls=result.tool_calls,
        tokens=result.usage.total,
        seconds=round(result.seconds, 2),
    )


async def run_cases(
    client: Client,
    pool: Pool,
    questions: Sequence[Question],
    *,
    mode: QuestionMode = QuestionMode.PLANNED,
    task_queue: str | None = None,
    concurrency: int = 4,
) -> list[CaseResult]:
    gate = asyncio.Semaphore(concurrency)

    async def one(question: Question) -> CaseResult:
        async with gate:
            return await run_case(client, pool, question, mode, task_queue)

    return list(await asyncio.gather(*(one(q) for q in questions)))


def report(results: Sequence[CaseResult]) -> str:
    """A plain-text table, one line per case, and the totals."""
    lines = [
        f"{'id':<24} {'mode':<9} {'outcome':<16} {'ok':<3} {'grd':<3} "
        f"{'plans':>5} {'steps':>5} {'calls':>5} {'tools':>5} {'tokens':>7} {'sec':>6}"
    ]
    for r in results:
        lines.append(
            f"{r.id:<24} {r.mode:<9} {r.outcome:<16} {'✓' if r.correct else '✗':<3} "
            f"{'✓' if r.grounded else '✗':<3} {r.plan_rounds:>5} {r.steps:>5} "
            f"{r.model_calls:>5} {r.tool_calls:>5} {r.tokens:>7} {r.seconds:>6.1f}"
        )
    n = len(results) or 1
    lines.append(
        f"correct {sum(r.correct for r in results)}/{len(results)}, "
        f"grounded {sum(r.grounded for r in results)}/{len(results)}, "
        f"mean model calls {sum(r.model_calls for r in results) / n:.1f}, "
        f"mean tool calls {sum(r.tool_calls for r in results) / n:.1f}, "
        f"mean executor steps {sum(r.steps for r in results) / n:.1f}, "
        f"mean seconds {sum(r.seconds for r in results) / n:.1f}"
    )
    return "\n".join(lines)
