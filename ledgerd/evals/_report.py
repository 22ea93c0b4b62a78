"""The comparison report: per case and in aggregate, both variants side by side.

`ComparisonReport` is the JSON (`--json`); `render_table` the terminal's view of it.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime
from typing import Literal

from pydantic import BaseModel, Field

from ledgerd.contracts import Usage
from ledgerd.evals._variants import Variant

Label = Literal["a", "b"]


class Measures(BaseModel):
    """What one run cost, from its decision trace (workflow history joined with `model_calls`)."""

    model_calls: int = 0
    tool_calls: int = 0
    tool_errors: int = 0
    tokens: int = Field(default=0, description="Every role's input + output + cache tokens.")
    usage: Usage = Field(default_factory=Usage)
    cost_usd: float = Field(default=0.0, description="Estimate from list prices.")
    seconds: float = Field(default=0.0, description="Workflow wall time, start to close.")
    guardrail_verdicts: int = 0
    guardrail_failures: int = Field(default=0, description="Verdicts that failed.")
    revisions: int = Field(default=0, description="Failed verdicts sent back to the executor.")
    escalations: int = Field(default=0, description="Daemon loops that ended escalated.")
    models: dict[str, list[str]] = Field(
        default_factory=dict, description="Role → models that served it (model_calls)."
    )
    prompt_versions: dict[str, list[str]] = Field(
        default_factory=dict, description="Prompt name → versions used (model_calls)."
    )
    unpriced_models: list[str] = Field(default_factory=list)


class VariantResult(BaseModel):
    """One case under one variant."""

    workflow_id: str | None
    tenant: str | None
    outcome: str = Field(description="The run's outcome, or `error` if it could not run.")
    correct: bool
    score: float
    reason: str
    measures: Measures


class CaseComparison(BaseModel):
    id: str
    daemon: str
    tenant: str
    a: VariantResult
    b: VariantResult


class Aggregate(BaseModel):
    cases: int = 0
    correct: int = 0
    accuracy: float = Field(default=0.0, description="correct / cases")
    mean_score: float = 0.0
    errors: int = Field(default=0, description="Cases that could not run at all.")
    guardrail_failures: int = 0
    revisions: int = 0
    escalations: int = 0
    tool_calls: int = 0
    model_calls: int = 0
    tokens: int = 0
    cost_usd: float = 0.0
    mean_seconds: float = 0.0
    max_seconds: float = 0.0


class VariantSummary(BaseModel):
    label: Label
    variant: Variant
    task_queue: str
    models: dict[str, str] = Field(description="Role → the model the variant's worker ran with.")
    prompt_overrides: dict[str, str] = Field(
        description="Prompt name → version of each file in the variant's prompt directory."
    )
    prompt_versions_used: dict[str, list[str]] = Field(
        description="Prompt name → versions its runs recorded in model_calls."
    )
    total: Aggregate
    by_daemon: dict[str, Aggregate]


class ComparisonReport(BaseModel):
    run: str = Field(description="The comparison's id: in its task queues, workflow ids, tenants.")
    started_at: datetime
    seconds: float
    datasets: list[str]
    a: VariantSummary
    b: VariantSummary
    cases: list[CaseComparison]
    cost_note: str


def aggregate(results: Iterable[VariantResult]) -> Aggregate:
    rows = list(results)
    n = len(rows)
    if not n:
        return Aggregate()
    m = [r.measures for r in rows]
    correct = sum(r.correct for r in rows)
    return Aggregate(
        cases=n,
        correct=correct,
        accuracy=round(correct / n, 4),
        mean_score=round(sum(r.score for r in rows) / n, 4),
        errors=sum(r.outcome == "error" for r in rows),
        guardrail_failures=sum(x.guardrail_failures for x in m),
        revisions=sum(x.revisions for x in m),
        escalations=sum(x.escalations for x in m),
        tool_calls=sum(x.tool_calls for x in m),
        model_calls=sum(x.model_calls for x in m),
        tokens=sum(x.tokens for x in m),
        cost_usd=round(sum(x.cost_usd for x in m), 6),
        mean_seconds=round(sum(x.seconds for x in m) / n, 3),
        max_seconds=round(max(x.seconds for x in m), 3),
    )


def union_by_key(found: Iterable[dict[str, list[str]]]) -> dict[str, list[str]]:
    merged: dict[str, set[str]] = {}
    for mapping in found:
        for key, values in mapping.items():
            merged.setdefault(key, set()).update(values)
    return {key: sorted(values) for key, values in sorted(merged.items())}


# ------------------------------------------------------------------ the terminal's view
_SHORT = {
    "ledger_question": "question",
    "vendor_hydration": "vendor",
    "client_onboarding": "onboard",
}


def _cells(r: VariantResult) -> str:
    m = r.measures
    mark = "!" if r.outcome == "error" else ("✓" if r.correct else "✗")
    return (
        f"{mark:<2} {r.score:>5.2f} {m.guardrail_failures:>3} {m.tool_calls:>5} "
        f"{m.model_calls:>5} {m.tokens:>7} {m.cost_usd:>8.4f} {m.seconds:>6.1f}"
    )


def _delta(a: float, b: float, digits: int) -> str:
    diff = b - a
    if not diff:
        return "="
    share = f" ({diff / a:+.0%})" if a else ""
    return f"{diff:+,.{digits}f}{share}"


def render_table(report: ComparisonReport) -> str:
    """Per case, then in aggregate: variant a's figures, b's, and b − a."""
    a, b = report.a, report.b
    lines = [
        f"comparison {report.run}: {len(report.cases)} case(s) from {', '.join(report.datasets)}",
    ]
    for summary in (a, b):
        overrides = ", ".join(f"{k} {v}" for k, v in summary.prompt_overrides.items())
        used = ", ".join(f"{k} {'/'.join(v)}" for k, v in summary.prompt_versions_used.items())
        lines += [
            f"  {summary.label} = {summary.variant.name}: "
            + ", ".join(f"{role} {model}" for role, model in summary.models.items()),
            f"      prompts: {summary.variant.prompts or 'packaged'}"
            + (f" (overrides {overrides})" if overrides else ""),
            f"      prompt versions used: {used or 'none recorded'}",
        ]
    head = "ok score grd tools calls  tokens     cost    sec"
    lines += ["", f"{'case':<34} {'daemon':<8} │ a: {head} │ b: {head}"]
    for case in report.cases:
        lines.append(
            f"{case.id[:34]:<34} {_SHORT.get(case.daemon, case.daemon):<8} │    "
            f"{_cells(case.a)} │    {_cells(case.b)}"
        )
    lines += [
        "",
        f"{'':<22} {'a: ' + a.variant.name[:20]:>24} {'b: ' + b.variant.name[:20]:>24}  b − a",
    ]
    ta, tb = a.total, b.total
    rows: list[tuple[str, float, float, str, int]] = [
        ("correct", ta.correct, tb.correct, f"/{ta.cases}", 0),
        ("mean score", ta.mean_score, tb.mean_score, "", 3),
        ("guardrail failures", ta.guardrail_failures, tb.guardrail_failures, "", 0),
        ("revisions", ta.revisions, tb.revisions, "", 0),
        ("escalations", ta.escalations, tb.escalations, "", 0),
        ("tool calls", ta.tool_calls, tb.tool_calls, "", 0),
        ("model calls", ta.model_calls, tb.model_calls, "", 0),
        ("tokens", ta.tokens, tb.tokens, "", 0),
        ("cost (USD, estimate)", ta.cost_usd, tb.cost_usd, "", 4),
        ("mean latency (s)", ta.mean_seconds, tb.mean_seconds, "", 2),
        ("max latency (s)", ta.max_seconds, tb.max_seconds, "", 2),
    ]
    for label, x, y, suffix, digits in rows:
        lines.append(
            f"{label:<22} {f'{x:,.{digits}f}{suffix}':>24} {f'{y:,.{digits}f}{suffix}':>24}  "
            f"{_delta(x, y, digits)}"
        )
    for daemon in sorted(set(a.by_daemon) | set(b.by_daemon)):
        da, db = a.by_daemon.get(daemon, Aggregate()), b.by_daemon.get(daemon, Aggregate())
        lines.append(
            f"{daemon:<22} {f'{da.correct}/{da.cases} correct':>24} "
            f"{f'{db.correct}/{db.cases} correct':>24}  "
            f"mean score {da.mean_score:.2f} → {db.mean_score:.2f}"
        )
    errors = ta.errors + tb.errors
    if errors:
        lines.append(f"{errors} run(s) could not run: see their reason in the JSON report")
    lines.append(f"cost: {report.cost_note}")
    return "\n".join(lines)
