"""Evaluation datasets: JSON Lines whose every line names its daemon, and the runner of each.

| `daemon` | dataset | graded by |
|---|---|---|
| `ledger_question` (also a line without `daemon`: the question set predates the field) | `datasets/ledger_questions.jsonl` | `ledger_questions.grade` |
| `vendor_hydration` | `datasets/vendor_descriptors.jsonl` | `vendor_hydration.grade_vendor` |
| `client_onboarding` | `datasets/onboarding/cases.jsonl` | `client_onboarding.grade_mapping` |

A file may mix daemons. A bad line fails naming the file and line number.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from pathlib import Path
from typing import Literal

from pydantic import ValidationError

from accounting.principals import load_principal
from ledgerd.evals._cases import CaseContext, CaseGrade, CaseRun, not_answered
from ledgerd.evals.client_onboarding import OnboardingCase, run_onboarding_case
from ledgerd.evals.ledger_questions import Expected, Question, expected, grade
from ledgerd.evals.vendor_hydration import VendorCase, run_vendor_case
from starter.ledger_question import start_ledger_question


class QuestionCase(Question):
    daemon: Literal["ledger_question"] = "ledger_question"


Case = QuestionCase | VendorCase | OnboardingCase
CASES: dict[str, type[Case]] = {
    "ledger_question": QuestionCase,
    "vendor_hydration": VendorCase,
    "client_onboarding": OnboardingCase,
}
DATASETS = Path(__file__).resolve().parents[2] / "datasets"
SHIPPED = (
    DATASETS / "ledger_questions.jsonl",
    DATASETS / "vendor_descriptors.jsonl",
    DATASETS / "onboarding" / "cases.jsonl",
)


def load_cases(path: Path) -> list[Case]:
    """Every case of a dataset file, in file order."""
    cases: list[Case] = []
    for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), start=1):
        if not line.strip():
            continue
        try:
            raw = json.loads(line)
            daemon = raw.get("daemon", "ledger_question") if isinstance(raw, dict) else None
            if daemon not in CASES:
                raise ValueError(f"unknown daemon {daemon!r}; expected one of {', '.join(CASES)}")
            case = CASES[daemon].model_validate(raw)
            if isinstance(case, OnboardingCase):
                case = case.resolved(path.parent)
        except (ValueError, ValidationError) as error:
            raise ValueError(f"{path}:{number}: {error}") from None
        cases.append(case)
    return cases


def load_datasets(
    paths: Sequence[Path], *, only: Sequence[str] = (), limit: int | None = None
) -> list[Case]:
    """The cases of every file, in order: those named in `only`, else the first `limit` of
    each file (a slice of each daemon's set). Ids must be unique across the files."""
    loaded = [load_cases(path) for path in paths]
    ids = [c.id for cases in loaded for c in cases]
    duplicated = sorted({i for i in ids if ids.count(i) > 1})
    if duplicated:
        raise ValueError(f"case ids repeat across the datasets: {', '.join(duplicated)}")
    if only:
        missing = sorted(set(only) - set(ids))
        if missing:
            raise ValueError(f"no case with id {', '.join(missing)} in the dataset(s)")
        return [c for cases in loaded for c in cases if c.id in only]
    return [c for cases in loaded for c in cases[:limit]]


def tenant_of(case: Case) -> str:
    """The demo tenant a case reads (onboarding creates its own)."""
    return "new" if isinstance(case, OnboardingCase) else case.tenant


async def run_question_case(case: QuestionCase, ctx: CaseContext) -> CaseRun:
    """Questions only read the ledger, so they run in the demo tenant itself: their expected
    answers are SQL over it."""
    principal = await load_principal(ctx.pool, f"{case.tenant}-viewer")
    want = await expected(ctx.pool, case)
    handle = await start_ledger_question(
        ctx.client,
        principal=principal,
        question=case.question,
        workflow_id=ctx.workflow_id(case.id),
        task_queue=ctx.task_queue,
    )
    result = await handle.result()
    if result.answer is None:
        graded = not_answered(result.outcome.value, result.reason)
    else:
        overall = grade(result.answer, want)
        met = sum(
            grade(result.answer, Expected(question_id=case.id, checks=[check])).correct
            for check in want.checks
        )
        graded = CaseGrade(
            correct=overall.correct, score=round(met / len(want.checks), 4), reason=overall.reason
        )
    return CaseRun(
        workflow_id=handle.id, tenant=case.tenant, outcome=result.outcome.value, grade=graded
    )


async def run_case(case: Case, ctx: CaseContext) -> CaseRun:
    if isinstance(case, VendorCase):
        return await run_vendor_case(case, ctx)
    if isinstance(case, OnboardingCase):
        return await run_onboarding_case(case, ctx)
    return await run_question_case(case, ctx)
