"""Vendor hydration: a raw bank descriptor in, an enriched vendor record out.

The deterministic checks hold the answer to the tools' evidence: a domain or category that
no tool returned is a guess, and a confidence above the directory's match score is a claim
the evidence does not support.
"""

from __future__ import annotations

import re
from typing import Any
from uuid import UUID

from pydantic import BaseModel, Field

from ledgerd.contracts import Budget, CheckResult
from ledgerd.daemons._spec import DaemonSpec, Evidence

_DOMAIN = re.compile(r"^[a-z0-9-]+(\.[a-z0-9-]+)+$")


class VendorRecord(BaseModel):
    """The enriched vendor, as the daemon answers it."""

    vendor_id: UUID | None = Field(description="The upserted vendor's id; null if none was saved.")
    canonical_name: str = Field(min_length=1, max_length=200)
    domain: str | None = Field(default=None, description="The company's web domain.")
    category: str | None = Field(default=None, description="A standard category key.")
    account_code: str | None = Field(default=None, description="The tenant account chosen.")
    headquarters: str | None = None
    confidence: float = Field(ge=0.0, le=1.0, description="How sure the enrichment is, 0 to 1.")
    linked_transactions: int = Field(ge=0, description="Transactions linked to the vendor.")


def _outputs(evidence: list[Evidence], tool: str) -> list[Any]:
    return [e.output for e in evidence if e.tool == tool and not e.is_error and e.output]


def _companies(evidence: list[Evidence]) -> list[dict[str, Any]]:
    """Every company record the directory and the tenant's vendor search returned."""
    found: list[dict[str, Any]] = []
    for output in _outputs(evidence, "lookup_company"):
        found += [{**m["record"], "score": m["score"]} for m in output.get("matches", [])]
    for output in _outputs(evidence, "search_vendors"):
        found += [{**m["vendor"], "score": 1.0} for m in output.get("matches", [])]
    return found


def vendor_checks(
    answer: VendorRecord, evidence: list[Evidence], task: str = ""
) -> list[CheckResult]:
    companies = _companies(evidence)
    checks: list[CheckResult] = []

    def check(name: str, passed: bool, reason: str) -> None:
        checks.append(CheckResult(name=name, passed=passed, reason=reason))

    supporting = [c for c in companies if answer.domain and c.get("domain") == answer.domain]
    if answer.domain is None:
        check("domain_plausible", True, "no domain claimed")
    elif not _DOMAIN.match(answer.domain):
        check("domain_plausible", False, f"{answer.domain!r} is not a domain name")
    else:
        check(
            "domain_plausible",
            bool(supporting),
            "returned by a tool"
            if supporting
            else f"no tool returned the domain {answer.domain!r}",
        )
    if answer.category is None:
        check("category_consistent", True, "no category claimed")
    else:
        agree = [c for c in supporting or companies if c.get("category") == answer.category]
        check(
            "category_consistent",
            bool(agree),
            "matches the evidence" if agree else f"no evidence gives category {answer.category!r}",
        )
    best = max((float(c.get("score", 0.0)) for c in supporting), default=0.0)
    honest = answer.confidence <= best + 0.05 or not answer.domain
    check(
        "confidence_in_range",
        honest,
        f"{answer.confidence:.2f} within the evidence's {best:.2f}"
        if honest
        else f"{answer.confidence:.2f} exceeds the best match score {best:.2f}",
    )
    if answer.account_code is not None:
        accounts = {
            a["code"]: a.get("standard_category")
            for output in _outputs(evidence, "list_accounts")
            for a in output.get("accounts", [])
        }
        mapped = accounts.get(answer.account_code, "missing")
        consistent = mapped == answer.category or answer.category is None
        check(
            "account_matches_category",
            consistent,
            "account maps to the category"
            if consistent
            else f"account {answer.account_code} maps to {mapped!r}, not {answer.category!r}",
        )
    if answer.vendor_id is not None:
        saved = {str(o.get("id")) for o in _outputs(evidence, "upsert_vendor")}
        check(
            "vendor_persisted",
            str(answer.vendor_id) in saved,
            "upserted in this run"
            if str(answer.vendor_id) in saved
            else "vendor id was not saved by this run",
        )
    return checks


VENDOR_HYDRATION = DaemonSpec(
    kind="vendor_hydration",
    output_model=VendorRecord,
    tools=(
        "search_vendors",
        "lookup_company",
        "list_accounts",
        "upsert_vendor",
        "list_transactions",
        "link_transactions",
    ),
    budget=Budget(max_steps=10, max_tokens=150_000, max_seconds=600),
    checks=vendor_checks,
)
