"""`compare`: every case of the datasets under two variants, as real workflows, side by side.

Each variant gets its own worker process on its own task queue (`_workers`); each case runs
under both variants at the same time, so neither variant systematically goes second (a fact a
question run remembers is visible to later runs of its tenant, whichever variant they are).
What a run cost is read afterwards from its decision trace, the same join `ledgerd trace`
prints: model calls and tokens from `model_calls` (so the judge's tokens count too), tool
calls and guardrail verdicts from workflow history, cost from the list prices.
"""

from __future__ import annotations

import asyncio
import contextlib
import time
import uuid
from collections.abc import Callable, Coroutine, Sequence
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, TypeVar

from temporalio.client import Client

from ledgerd.config import Settings
from ledgerd.db import Pool
from ledgerd.evals._cases import CaseContext
from ledgerd.evals._dataset import Case, run_case, tenant_of
from ledgerd.evals._report import (
    CaseComparison,
    ComparisonReport,
    Label,
    Measures,
    VariantResult,
    VariantSummary,
    aggregate,
    union_by_key,
)
from ledgerd.evals._variants import Variant, check_models
from ledgerd.evals._workers import VariantWorker
from ledgerd.model_registry import COST_NOTE
from ledgerd.trace import load_trace

Progress = Callable[[str], None]
T = TypeVar("T")


async def measure(client: Client, pool: Pool, workflow_id: str) -> Measures:
    """A finished run's costs and guardrail verdicts from its trace, and the models and
    prompt versions its calls recorded in `model_calls`."""
    async with pool.connection() as conn:
        trace = await load_trace(client, conn, workflow_id)
        cursor = await conn.execute(
            """SELECT DISTINCT role, model, prompt_name, prompt_version FROM model_calls
               WHERE starts_with(run_id, %s)""",
            # Conversations are keyed `<workflow id>@<first run id>[/<loop>]` (workflows/_keys.py).
            (f"{workflow_id}@",),
        )
        calls = await cursor.fetchall()
    totals = trace.totals
    verdicts = [s.guardrail for s in trace.steps if s.guardrail is not None]
    failures = sum(1 for v in verdicts if v.passed is False)
    # A failed verdict is revised, or escalated once revisions run out (workflows/_daemon_loop.py).
    escalations = sum(1 for n in trace.notifications if n.kind.endswith(".escalated"))
    return Measures(
        model_calls=totals.model_calls,
        tool_calls=totals.tool_calls,
        tool_errors=totals.tool_errors,
        tokens=totals.tokens.total,
        usage=totals.tokens,
        cost_usd=round(totals.estimated_cost_usd, 6),
        seconds=round(totals.wall_seconds or 0.0, 3),
        guardrail_verdicts=len(verdicts),
        guardrail_failures=failures,
        revisions=max(failures - escalations, 0),
        escalations=escalations,
        models=union_by_key({row["role"]: [row["model"]]} for row in calls),
        prompt_versions=union_by_key(
            {row["prompt_name"]: [row["prompt_version"]]} for row in calls
        ),
        unpriced_models=totals.unpriced_models,
    )


async def _run_one(case: Case, ctx: CaseContext) -> VariantResult:
    """One case under one variant; a case that cannot run (or be measured) is reported as an
    `error` with the reason, and must not sink the rest of the comparison."""
    try:
        run = await run_case(case, ctx)
    except Exception as error:
        return _failed(None, None, error)
    try:
        measures = await measure(ctx.client, ctx.pool, run.workflow_id)
    except Exception as error:
        return _failed(run.workflow_id, run.tenant, error)
    return VariantResult(
        workflow_id=run.workflow_id,
        tenant=run.tenant,
        outcome=run.outcome,
        correct=run.grade.correct,
        score=run.grade.score,
        reason=run.grade.reason,
        measures=measures,
    )


def _failed(workflow_id: str | None, tenant: str | None, error: Exception) -> VariantResult:
    return VariantResult(
        workflow_id=workflow_id,
        tenant=tenant,
        outcome="error",
        correct=False,
        score=0.0,
        reason=f"{type(error).__name__}: {error}",
        measures=Measures(),
    )


def _summary(
    label: Label,
    worker: VariantWorker,
    settings: Settings,
    results: list[tuple[str, VariantResult]],
) -> VariantSummary:
    by_daemon: dict[str, list[VariantResult]] = {}
    for daemon, result in results:
        by_daemon.setdefault(daemon, []).append(result)
    return VariantSummary(
        label=label,
        variant=worker.variant,
        task_queue=worker.task_queue,
        models=worker.variant.models(settings),
        prompt_overrides=worker.variant.prompt_overrides(),
        prompt_versions_used=union_by_key(r.measures.prompt_versions for _, r in results),
        total=aggregate(r for _, r in results),
        by_daemon={daemon: aggregate(rows) for daemon, rows in sorted(by_daemon.items())},
    )


async def compare(
    settings: Settings,
    client: Client,
    pool: Pool,
    a: Variant,
    b: Variant,
    cases: Sequence[Case],
    *,
    datasets: Sequence[str] = (),
    concurrency: int = 3,
    logs: Path | None = None,
    progress: Progress | None = None,
) -> ComparisonReport:
    """Run every case under `a` and `b` (each on its own worker process, started and stopped
    here) and report. `concurrency` cases run at once, each under both variants at the same
    time; worker logs go to `logs` (default `<state dir>/logs`)."""
    for option, variant in (("--a", a), ("--b", b)):
        check_models(variant, settings, option)
    run = uuid.uuid4().hex[:8]
    started, clock = datetime.now(UTC), time.monotonic()
    folder = logs or settings.state_dir / "logs"
    workers = {
        label: VariantWorker(
            label, variant, settings, f"eval-{run}-{label}", folder / f"eval-{run}-{label}.log"
        )
        for label, variant in (("a", a), ("b", b))
    }
    gate = asyncio.Semaphore(max(concurrency, 1))

    async def one(label: Label, case: Case, position: int) -> VariantResult:
        ctx = CaseContext(client, pool, workers[label].task_queue, f"eval-{run}-{label}", position)
        result = await _run_one(case, ctx)
        if progress is not None:
            mark = "!" if result.outcome == "error" else ("✓" if result.correct else "✗")
            progress(f"{case.id} [{label}] {mark} {result.outcome} {result.measures.seconds:.1f}s")
        return result

    async def both(case: Case, position: int) -> tuple[VariantResult, VariantResult]:
        async with gate:  # a case's two runs start together: neither variant goes second
            x, y = await asyncio.gather(one("a", case, position), one("b", case, position))
        return x, y

    async def everything() -> list[tuple[VariantResult, VariantResult]]:
        return list(await asyncio.gather(*(both(case, n) for n, case in enumerate(cases))))

    try:
        for worker in workers.values():
            worker.start()
        await asyncio.gather(*(w.ready() for w in workers.values()))
        if progress is not None:
            progress(f"comparison {run}: workers ready; running {len(cases)} case(s) × 2")
        results = await _unless_a_worker_dies(everything(), list(workers.values()))
    finally:
        await asyncio.gather(*(w.stop() for w in workers.values()))
    comparisons = [
        CaseComparison(id=case.id, daemon=case.daemon, tenant=tenant_of(case), a=x, b=y)
        for case, (x, y) in zip(cases, results, strict=True)
    ]
    return ComparisonReport(
        run=run,
        started_at=started,
        seconds=round(time.monotonic() - clock, 2),
        datasets=list(datasets),
        a=_summary("a", workers["a"], settings, [(c.daemon, c.a) for c in comparisons]),
        b=_summary("b", workers["b"], settings, [(c.daemon, c.b) for c in comparisons]),
        cases=comparisons,
        cost_note=COST_NOTE,
    )


async def _unless_a_worker_dies(
    work: Coroutine[Any, Any, T], workers: Sequence[VariantWorker]
) -> T:
    """`work`'s result; but if a worker dies first, its `WorkerFailed` (with the log's end)
    instead of waiting forever for runs nobody will pick up."""
    task = asyncio.ensure_future(work)
    watchers = [asyncio.ensure_future(w.watch()) for w in workers]
    try:
        await asyncio.wait([task, *watchers], return_when=asyncio.FIRST_COMPLETED)
        for watcher in watchers:
            if watcher.done():
                watcher.result()
        return task.result()
    finally:
        for pending in (task, *watchers):
            pending.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await asyncio.gather(task, *watchers, return_exceptions=True)
