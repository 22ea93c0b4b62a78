"""Vendor descriptors with known vendors (`datasets/vendor_descriptors.jsonl`), and grading.

Each line is a raw bank descriptor of one of the demo tenants' unlinked merchants and the
company it names, from the company directory:

```json
{"daemon": "vendor_hydration", "id": "acme-uber", "tenant": "acme",
 "descriptor": "UBER   *TRIP",
 "expect": {"canonical_name": "Uber", "domain": "uber.com", "category": "travel"}}
```

A case runs in a copy of `tenant`'s books (see `_tenants`), so both variants start from the
same vendors and unlinked transactions. The answer (a `VendorRecord`) is correct when all three
fields match: the name ignoring case, punctuation and legal suffixes ("The Home Depot, Inc."
is "Home Depot"), the domain ignoring `www.`, the category exactly.
"""

from __future__ import annotations

from typing import Any, Literal

from pydantic import BaseModel, Field

from accounting.principals import Role
from accounting.vendors import normalized_name
from ledgerd.evals._cases import CaseContext, CaseGrade, CaseRun, not_answered
from ledgerd.evals._tenants import copy_books, open_scratch_tenant, principal
from starter.vendor_hydration import start_vendor_hydration

_LEGAL_WORDS = {"the", "inc", "llc", "ltd", "corp", "corporation", "co", "company"}


class VendorExpectation(BaseModel):
    canonical_name: str = Field(min_length=1)
    domain: str = Field(min_length=3)
    category: str = Field(min_length=1, description="A standard category key.")


class VendorCase(BaseModel):
    daemon: Literal["vendor_hydration"]
    id: str = Field(pattern=r"^[a-z0-9-]{3,80}$")
    tenant: str = Field(description="The demo tenant whose books the case runs on (a copy).")
    descriptor: str = Field(min_length=2, max_length=200)
    expect: VendorExpectation
    note: str = ""


def _name_key(name: str) -> str:
    return " ".join(w for w in normalized_name(name).split() if w not in _LEGAL_WORDS)


def _domain_key(domain: str) -> str:
    return domain.strip().lower().removeprefix("www.").rstrip("/")


def grade_vendor(answer: dict[str, Any], expect: VendorExpectation) -> CaseGrade:
    """Whether a `VendorRecord` (as a dict) names the expected vendor; the reason lists each
    field that differs and what the answer had."""
    checks = {
        "canonical_name": _name_key(str(answer.get("canonical_name") or ""))
        == _name_key(expect.canonical_name),
        "domain": _domain_key(str(answer.get("domain") or "")) == _domain_key(expect.domain),
        "category": answer.get("category") == expect.category,
    }
    wrong = [
        f"{field} {answer.get(field)!r}, expected {getattr(expect, field)!r}"
        for field, ok in checks.items()
        if not ok
    ]
    return CaseGrade(
        correct=not wrong,
        score=round(sum(checks.values()) / len(checks), 4),
        reason="; ".join(wrong) if wrong else f"{expect.canonical_name}: all three fields match",
    )


async def run_vendor_case(case: VendorCase, ctx: CaseContext) -> CaseRun:
    tenant = ctx.scratch_tenant
    await open_scratch_tenant(ctx.pool, tenant, f"{case.tenant} books for eval {ctx.key}")
    await copy_books(ctx.pool, case.tenant, tenant)
    handle = await start_vendor_hydration(
        ctx.client,
        principal=principal(tenant, Role.SERVICE),
        descriptor=case.descriptor,
        workflow_id=ctx.workflow_id(case.id),
        task_queue=ctx.task_queue,
    )
    result = await handle.result()
    return CaseRun(
        workflow_id=handle.id,
        tenant=tenant,
        outcome=result.outcome.value,
        grade=grade_vendor(result.answer, case.expect)
        if result.answer is not None
        else not_answered(result.outcome.value, result.reason),
    )
