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
from ledgerd.daemons._common_checks import followed_check, pii_check, run_findings
from ledgerd.daemons._spec import DaemonSpec, Evidence
from ledgerd.injection import blocks

_DOMAIN = re.compile(r"^[a-z0-9-]+(\.[a-z0-9-]+)+$")
_WORD = re.compile(r"[a-z0-9]+")
# Legal forms and filler that a vendor's name may add or drop without naming anyone new.
_LEGAL_FORMS = {"inc", "incorporated", "llc", "ltd", "corp", "corporation", "co", "company"}
_FILLER = frozenset(
    {*_LEGAL_FORMS, "the", "and", "of", "plc", "gmbh", "limited"}
    # Placeholders that claim no identity ("Unknown vendor"): a non-answer, not a guess.
    | {"unknown", "unidentified", "vendor", "merchant"}
)
# Without a directory or vendor record behind it, an enrichment is a guess at best.
_UNSUPPORTED_CONFIDENCE = 0.5


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


def _words(text: str) -> set[str]:
    return set(_WORD.findall(text.lower())) - _FILLER


def _descriptor_words(evidence: list[Evidence], task: str) -> set[str]:
    """Words of the descriptor: the task's data, or the transactions the run listed."""
    words: set[str] = set()
    for _, content in blocks(task):
        words |= _words(content)
    for output in _outputs(evidence, "list_transactions"):
        for item in output.get("items", []):
            words |= _words(str(item.get("raw_descriptor", "")))
    return words


def _names(company: dict[str, Any], name: str) -> bool:
    """Whether a record is the company `name` names (all of the record's name words)."""
    own = _words(str(company.get("name") or company.get("canonical_name") or ""))
    return bool(own) and own <= _words(name)


def _known_names(companies: list[dict[str, Any]]) -> set[str]:
    names: set[str] = set()
    for company in companies:
        for name in [
            company.get("name"),
            company.get("canonical_name"),
            *company.get("aliases", []),
        ]:
            if name:
                names |= _words(str(name))
    return names


def _fact_checks(
    answer: VendorRecord, companies: list[dict[str, Any]], evidence: list[Evidence], task: str
) -> list[CheckResult]:
    """The name and headquarters come from the evidence; the directory's best match is the
    company chosen."""
    checks = []
    known = _known_names(companies) | _descriptor_words(evidence, task)
    unknown = sorted(_words(answer.canonical_name) - known)
    checks.append(
        CheckResult(
            name="name_grounded",
            passed=not unknown,
            reason=f"{answer.canonical_name[:60]!r}: {', '.join(unknown[:5])} in no tool result "
            "or the descriptor"
            if unknown
            else "every word of the name is in the evidence",
        )
    )
    if answer.headquarters:
        # The headquarters of the company the answer is about: another record's city (the
        # directory's second match) is no evidence for this one.
        about = [c for c in companies if answer.domain and c.get("domain") == answer.domain]
        places = {str(c.get("headquarters", "")).lower() for c in about or companies}
        found = answer.headquarters.lower() in places
        checks.append(
            CheckResult(
                name="headquarters_grounded",
                passed=found,
                reason="returned by a tool"
                if found
                else f"no tool returned the headquarters {answer.headquarters[:60]!r}",
            )
        )
    looked_up = [
        {**m["record"], "score": m["score"]}
        for output in _outputs(evidence, "lookup_company")
        for m in output.get("matches", [])
    ]
    chosen = [c for c in looked_up if answer.domain and c.get("domain") == answer.domain]
    if chosen and looked_up:
        best = max(looked_up, key=lambda c: float(c.get("score", 0.0)))
        score = max(float(c.get("score", 0.0)) for c in chosen)
        honest = score >= float(best.get("score", 0.0)) - 0.05
        checks.append(
            CheckResult(
                name="best_match_chosen",
                passed=honest,
                reason=f"the directory's best match ({best.get('score', 0):.2f})"
                if honest
                else f"the answer is {answer.domain!r} ({score:.2f}), but the directory's best "
                f"match for the descriptor is {best.get('name')!r} ({float(best['score']):.2f})",
            )
        )
    return checks


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
    # The best score of a record behind the domain; without a domain, a record the answer
    # names, else no support at all (at most a guess's confidence).
    named = [c for c in companies if _names(c, answer.canonical_name)]
    backing = supporting if answer.domain else named
    best = max((float(c.get("score", 0.0)) for c in backing), default=_UNSUPPORTED_CONFIDENCE)
    honest = answer.confidence <= best + 0.05
    check(
        "confidence_in_range",
        honest,
        f"{answer.confidence:.2f} within the evidence's {best:.2f}"
        if honest
        else f"{answer.confidence:.2f} exceeds what the evidence supports ({best:.2f})",
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
    checks += _fact_checks(answer, companies, evidence, task)
    checks.append(
        pii_check([answer.canonical_name, answer.headquarters or "", answer.domain or ""])
    )
    supported = {str(c.get(k)) for c in companies for k in ("category", "domain") if c.get(k)}
    checks.append(
        followed_check(
            {
                "category": answer.category,
                "domain": answer.domain,
                "headquarters": answer.headquarters,
                "account": answer.account_code,
            },
            run_findings(evidence, task),
            # A value an unflagged record gives is the evidence's, whatever flagged data says.
            exempt=supported - _flagged_values(companies, evidence, task),
        )
    )
    return checks


def _flagged_values(
    companies: list[dict[str, Any]], evidence: list[Evidence], task: str
) -> set[str]:
    """Category and domain values of records that themselves carry flagged text."""
    flagged = {f.where.split(".")[0] for f in run_findings(evidence, task)}
    values: set[str] = set()
    for item in evidence:
        if item.use_id in flagged:
            for key in ("category", "domain"):
                values |= {str(v) for v in _values(item.output, key)}
    return values


def _values(value: Any, key: str) -> list[Any]:
    if isinstance(value, dict):
        return [v for k, v in value.items() if k == key and v] + [
            found for v in value.values() for found in _values(v, key)
        ]
    if isinstance(value, list):
        return [found for v in value for found in _values(v, key)]
    return []


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
