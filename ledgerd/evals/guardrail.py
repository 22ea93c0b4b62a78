"""`ledgerd eval guardrail`: the full guardrail over the labelled corpus.

Each case's conversation (its task, its tool calls and results) is written to
`transcript_entries` under a run of its own, and the `guardrail` activity function judges
its answer exactly as a daemon's run calls it: the daemon's deterministic checks, then the
judge model (the configured one: the offline stand-in, or Claude with ANTHROPIC_API_KEY).
A bad answer that fails is caught; a good answer that fails is a false positive.

Reported: recall per mode and overall, the false-positive rate, which layer caught each bad
answer (a deterministic check, or the judge alone), and per verdict the cost (from the
judge call's `model_calls` row, priced by the model registry) and the latency.
"""

from __future__ import annotations

import asyncio
import statistics
import time
import uuid
from collections.abc import Callable
from typing import Any

from pydantic import BaseModel, Field
from temporalio.exceptions import ApplicationError

from activities.guardrails import guardrail
from ledgerd import transcript
from ledgerd.contracts import GuardrailRequest, RunRef, Usage
from ledgerd.daemons import RESPOND
from ledgerd.db import Pool
from ledgerd.evals.guardrail_corpus import BAD_MODES, GuardrailCase
from ledgerd.model_registry import estimate_cost

TARGET_RECALL = 0.95
TARGET_MODE_RECALL = 0.9
TARGET_FALSE_POSITIVES = 0.02
_ATTEMPTS = 5  # a rate-limited or overloaded judge is retried, as Temporal would


class CaseVerdict(BaseModel):
    id: str
    daemon: str
    label: str
    mode: str
    passed: bool | None = Field(description="The guardrail's verdict; None if it errored.")
    failed_checks: list[str] = Field(default_factory=list)
    judge_passed: bool | None = None
    judge_reasons: list[str] = Field(default_factory=list)
    latency_ms: int = 0
    cost_usd: float = 0.0
    tokens: int = 0
    error: str | None = None

    @property
    def caught(self) -> bool:
        return self.label == "bad" and self.passed is False

    @property
    def by_checks(self) -> bool:
        return bool(self.failed_checks)


class ModeFigures(BaseModel):
    cases: int
    caught: int
    recall: float
    by_checks: int = Field(description="Caught by a deterministic check.")
    by_judge_only: int = Field(description="Caught by the judge when every check passed.")
    judge_failed: int = Field(
        default=0, description="Bad answers the judge failed, on its own, whatever the checks."
    )


class GuardrailReport(BaseModel):
    run: str
    corpus: str
    judge_model: str
    cases: int
    bad: int
    good: int
    recall: float
    false_positive_rate: float
    false_positives: list[str]
    missed: list[str]
    per_mode: dict[str, ModeFigures]
    per_daemon: dict[str, ModeFigures]
    errors: list[str]
    cost_usd_total: float
    cost_usd_per_verdict: float
    latency_ms_mean: float
    latency_ms_p50: float
    latency_ms_p95: float
    targets_met: bool
    shortfalls: list[str]
    verdicts: list[CaseVerdict]


async def _write_conversation(pool: Pool, ref: RunRef, case: GuardrailCase) -> int:
    """The case's run as the daemon loop leaves it: the task, the calls and their results,
    then the answer's respond call. Returns the answer's turn."""
    entries = [transcript.Entry(0, 0, "user", [{"type": "text", "text": case.task}])]
    if case.exchanges:
        uses = [
            {"type": "tool_use", "id": e.id, "name": e.tool, "input": e.input}
            for e in case.exchanges
        ]
        entries.append(transcript.Entry(1, 0, "assistant", uses))
        for position, e in enumerate(case.exchanges, start=1):
            result: dict[str, Any] = {
                "type": "tool_result",
                "tool_use_id": e.id,
                "content": e.output if isinstance(e.output, str) else _json(e.output),
            }
            if e.is_error:
                result["is_error"] = True
            entries.append(transcript.Entry(1, position, "user", [result]))
    answer = {"type": "tool_use", "id": "toolu_answer", "name": RESPOND, "input": case.answer}
    entries.append(transcript.Entry(2, 0, "assistant", [answer]))
    await transcript.append_all(pool, ref, *entries)
    return 2


def _json(value: Any) -> str:
    import json

    return json.dumps(value, default=str)


async def _cost(pool: Pool, run_id: str) -> tuple[float, int, str]:
    async with pool.connection() as conn:
        cursor = await conn.execute(
            """SELECT model, input_tokens, output_tokens, cache_read_tokens,
                      cache_creation_tokens, cache_creation_1h_tokens
               FROM model_calls WHERE run_id = %s""",
            (run_id,),
        )
        rows = await cursor.fetchall()
    cost, tokens, model = 0.0, 0, "?"
    for row in rows:
        usage = Usage(
            input_tokens=row["input_tokens"],
            output_tokens=row["output_tokens"],
            cache_read_tokens=row["cache_read_tokens"],
            cache_creation_tokens=row["cache_creation_tokens"],
            cache_creation_1h_tokens=row["cache_creation_1h_tokens"],
        )
        cost += estimate_cost(row["model"], usage)[0]
        tokens += usage.total
        model = row["model"]
    return cost, tokens, model


async def judge_case(pool: Pool, case: GuardrailCase, run: str) -> tuple[CaseVerdict, str]:
    """The guardrail's verdict on one case, through the guardrail activity's own code."""
    ref = RunRef(run_id=f"eval-guardrail-{run}/{case.id}", thread="executor")
    turn = await _write_conversation(pool, ref, case)
    request = GuardrailRequest(ref=ref, daemon=case.daemon, answer=case.answer, turn=turn)
    verdict = None
    error = None
    started = time.monotonic()
    for attempt in range(_ATTEMPTS):
        try:
            verdict = await guardrail(request)
            break
        except ApplicationError as failure:
            error = f"{failure.type}: {failure}"[:300]
            if failure.non_retryable or attempt == _ATTEMPTS - 1:
                break
            await asyncio.sleep(min(2**attempt, 30))
    latency = int((time.monotonic() - started) * 1000)
    cost, tokens, model = await _cost(pool, ref.run_id)
    shown = CaseVerdict(
        id=case.id,
        daemon=case.daemon,
        label=case.label,
        mode=case.mode,
        passed=verdict.passed if verdict else None,
        failed_checks=[c.name for c in verdict.checks if not c.passed] if verdict else [],
        judge_passed=verdict.judge_passed if verdict else None,
        judge_reasons=[r[:200] for r in verdict.judge_reasons[:3]] if verdict else [],
        latency_ms=latency,
        cost_usd=cost,
        tokens=tokens,
        error=None if verdict else error,
    )
    return shown, model


def _figures(verdicts: list[CaseVerdict]) -> ModeFigures:
    caught = [v for v in verdicts if v.caught]
    return ModeFigures(
        cases=len(verdicts),
        caught=len(caught),
        recall=round(len(caught) / len(verdicts), 4) if verdicts else 0.0,
        by_checks=sum(1 for v in caught if v.by_checks),
        by_judge_only=sum(1 for v in caught if not v.by_checks),
        judge_failed=sum(1 for v in verdicts if v.label == "bad" and v.judge_passed is False),
    )


def _percentile(values: list[int], share: float) -> float:
    if not values:
        return 0.0
    ordered = sorted(values)
    return float(ordered[min(len(ordered) - 1, int(share * len(ordered)))])


def summarise(
    verdicts: list[CaseVerdict], *, run: str, corpus: str, judge_model: str
) -> GuardrailReport:
    judged = [v for v in verdicts if v.passed is not None]
    bad = [v for v in judged if v.label == "bad"]
    good = [v for v in judged if v.label == "good"]
    fps = [v for v in good if not v.passed]
    per_mode = {
        mode: _figures([v for v in bad if v.mode == mode])
        for mode in BAD_MODES
        if any(v.mode == mode for v in bad)
    }
    per_daemon = {
        daemon: _figures([v for v in bad if v.daemon == daemon])
        for daemon in sorted({v.daemon for v in bad})
    }
    recall = len([v for v in bad if v.caught]) / len(bad) if bad else 0.0
    fp_rate = len(fps) / len(good) if good else 0.0
    shortfalls = []
    if recall < TARGET_RECALL:
        shortfalls.append(f"recall {recall:.3f} < {TARGET_RECALL}")
    shortfalls += [
        f"{mode}: recall {figures.recall:.3f} < {TARGET_MODE_RECALL}"
        for mode, figures in per_mode.items()
        if figures.recall < TARGET_MODE_RECALL
    ]
    if fp_rate > TARGET_FALSE_POSITIVES:
        shortfalls.append(f"false positives {fp_rate:.3f} > {TARGET_FALSE_POSITIVES}")
    errors = [f"{v.id}: {v.error}" for v in verdicts if v.passed is None]
    if errors:
        shortfalls.append(f"{len(errors)} case(s) got no verdict")
    latencies = [v.latency_ms for v in judged]
    total_cost = sum(v.cost_usd for v in judged)
    return GuardrailReport(
        run=run,
        corpus=corpus,
        judge_model=judge_model,
        cases=len(verdicts),
        bad=len(bad),
        good=len(good),
        recall=round(recall, 4),
        false_positive_rate=round(fp_rate, 4),
        false_positives=[v.id for v in fps],
        missed=[v.id for v in bad if not v.caught],
        per_mode=per_mode,
        per_daemon=per_daemon,
        errors=errors,
        cost_usd_total=round(total_cost, 6),
        cost_usd_per_verdict=round(total_cost / len(judged), 6) if judged else 0.0,
        latency_ms_mean=round(statistics.fmean(latencies), 1) if latencies else 0.0,
        latency_ms_p50=_percentile(latencies, 0.5),
        latency_ms_p95=_percentile(latencies, 0.95),
        targets_met=not shortfalls,
        shortfalls=shortfalls,
        verdicts=verdicts,
    )


async def evaluate(
    pool: Pool,
    cases: list[GuardrailCase],
    *,
    corpus: str,
    concurrency: int = 4,
    progress: Callable[[str], None] = lambda _: None,
) -> GuardrailReport:
    run = uuid.uuid4().hex[:10]
    gate = asyncio.Semaphore(concurrency)
    models: set[str] = set()

    async def one(case: GuardrailCase) -> CaseVerdict:
        async with gate:
            verdict, model = await judge_case(pool, case, run)
        models.add(model)
        state = "no verdict" if verdict.passed is None else "pass" if verdict.passed else "FAIL"
        ok = "ok" if (verdict.label == "bad") != bool(verdict.passed) else "WRONG"
        progress(f"{case.id:<60} {case.label:<4} {state:<10} {ok}")
        return verdict

    verdicts = list(await asyncio.gather(*(one(c) for c in cases)))
    return summarise(
        verdicts, run=run, corpus=corpus, judge_model=", ".join(sorted(models - {"?"})) or "?"
    )
