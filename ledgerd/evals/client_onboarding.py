"""Charts of accounts with known mappings (`datasets/onboarding/`), and grading.

`datasets/onboarding/cases.jsonl` has one line per export file next to it, with the standard
category an accountant would choose for every account code:

```json
{"daemon": "client_onboarding", "id": "initech-quickbooks", "legal_name": "Initech LLC",
 "industry": "Software consulting", "chart": "../../ledgerd/onboarding/samples/initech_quickbooks.csv", "format": "quickbooks",
 "expect": {"1000": "cash", "2100": "credit_cards", "6800": "other_expense"}}
```

`chart` is relative to the JSONL file; `expect` must name every account of the chart. A case
onboards a fresh scratch tenant with no vendor rules (`top_vendors=0`: vendors have their own
dataset; this one measures the mapping), grades the proposal the accountant is asked to
approve, then approves it as the tests do, so the run ends the way a real one does.
"""

from __future__ import annotations

from pathlib import Path
from typing import Literal

from pydantic import BaseModel, Field

from accounting.clients import ClientProfile
from accounting.principals import Role
from ledgerd.evals._cases import CaseContext, CaseGrade, CaseRun, not_answered
from ledgerd.evals._tenants import open_scratch_tenant, principal
from ledgerd.onboarding import (
    AccountMapping,
    Action,
    ChartFormat,
    OnboardingRequest,
)
from ledgerd.onboarding._chart_import import parse_chart
from starter.client_onboarding import (
    decide_onboarding,
    start_client_onboarding,
    wait_for_proposal,
)

PROPOSAL_TIMEOUT = 900.0  # seconds: a real model maps a long chart in minutes, not hours


class OnboardingCase(BaseModel):
    daemon: Literal["client_onboarding"]
    id: str = Field(pattern=r"^[a-z0-9-]{3,80}$")
    legal_name: str = Field(min_length=1, max_length=200)
    industry: str = Field(min_length=1, max_length=100)
    country: str = Field(default="US", pattern=r"^[A-Z]{2}$")
    chart: Path = Field(description="The export file, relative to the dataset file.")
    format: ChartFormat
    expect: dict[str, str] = Field(min_length=1, description="Account code → standard category.")
    note: str = ""

    def resolved(self, dataset_dir: Path) -> OnboardingCase:
        """With `chart` made absolute; refuses a chart that does not import, or an `expect`
        that does not name exactly the chart's accounts."""
        path = (dataset_dir / self.chart).resolve()
        if not path.is_file():
            raise ValueError(f"{self.id}: chart file {path} does not exist")
        codes = {a.code for a in parse_chart(path.read_text(encoding="utf-8"), self.format)}
        missing, extra = sorted(codes - set(self.expect)), sorted(set(self.expect) - codes)
        if missing or extra:
            raise ValueError(
                f"{self.id}: expect must name every account of {path.name}"
                + (f"; missing {', '.join(missing)}" if missing else "")
                + (f"; not in the chart {', '.join(extra)}" if extra else "")
            )
        return self.model_copy(update={"chart": path})


def grade_mapping(mappings: list[AccountMapping], expect: dict[str, str]) -> CaseGrade:
    """The share of accounts mapped to the expected category; the reason names each miss."""
    proposed = {m.code: m.standard_category for m in mappings}
    wrong = [
        f"{code} {proposed.get(code, 'unmapped')}, expected {category}"
        for code, category in expect.items()
        if proposed.get(code) != category
    ]
    right = len(expect) - len(wrong)
    return CaseGrade(
        correct=not wrong,
        score=round(right / len(expect), 4),
        reason=f"{right}/{len(expect)} accounts right" + (f": {'; '.join(wrong)}" if wrong else ""),
    )


async def run_onboarding_case(case: OnboardingCase, ctx: CaseContext) -> CaseRun:
    tenant = ctx.scratch_tenant
    await open_scratch_tenant(ctx.pool, tenant, case.legal_name)
    request = OnboardingRequest(
        tenant_id=tenant,
        principal=principal(tenant, Role.SERVICE),
        profile=ClientProfile(
            legal_name=case.legal_name, industry=case.industry, country=case.country
        ),
        chart_format=case.format,
        chart_csv=case.chart.read_text(encoding="utf-8"),
        approvers=[principal(tenant, Role.ACCOUNTANT).id],
        top_vendors=0,
    )
    handle = await start_client_onboarding(
        ctx.client, request, task_queue=ctx.task_queue, workflow_id=ctx.workflow_id(case.id)
    )
    pending = await wait_for_proposal(handle, PROPOSAL_TIMEOUT)
    if pending is not None:
        await decide_onboarding(
            ctx.client,
            handle.id,
            approver=principal(tenant, Role.ACCOUNTANT),
            action=Action.APPROVE,
        )
    result = await handle.result()
    return CaseRun(
        workflow_id=handle.id,
        tenant=tenant,
        outcome=result.outcome.value,
        grade=grade_mapping(pending.proposal.mappings, case.expect)
        if pending is not None
        else not_answered(result.outcome.value, result.reason),
    )
