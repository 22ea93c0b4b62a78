"""Least privilege as one table: every tool, API route, CLI command, Update, Signal and
daemon start, against each role. docs/security.md shows the same table, and
tests/test_role_matrix.py checks the two agree and exercises every cell at its enforcement
point. Every check of a role goes through `permits`/`require` here, nowhere else.
"""

from __future__ import annotations

from accounting.errors import AccessDenied
from accounting.principals import Principal, Role

ALL = frozenset(Role)
WRITERS = frozenset({Role.OWNER, Role.ACCOUNTANT, Role.SERVICE})
APPROVERS = frozenset({Role.OWNER, Role.ACCOUNTANT})
PEOPLE_WHO_CORRECT = frozenset({Role.OWNER, Role.ACCOUNTANT})
NOBODY: frozenset[Role] = frozenset()

# Kind of subject → subject → roles allowed. Anything not listed is refused.
MATRIX: dict[str, dict[str, frozenset[Role]]] = {
    "tool": {
        "search_vendors": ALL,
        "get_vendor": ALL,
        "upsert_vendor": WRITERS,
        "link_transactions": WRITERS,
        "list_transactions": ALL,
        "aggregate_transactions": ALL,
        "query_ledger": ALL,
        "list_accounts": ALL,
        "list_standard_categories": ALL,
        "upsert_account": WRITERS,
        "get_client_profile": ALL,
        "update_client_profile": WRITERS,
        "lookup_company": ALL,
        "remember": WRITERS,
        "recall": ALL,
    },
    "api": {
        "POST /v1/vendor-hydrations": WRITERS,
        "POST /v1/vendor-hydrations/batch": WRITERS,
        "POST /v1/questions": ALL,
        "POST /v1/onboardings": WRITERS,
        "GET /v1/runs/{workflow_id}": ALL,
        "GET /v1/runs/{workflow_id}/result": ALL,
        "GET /v1/approvals": ALL,
        "POST /v1/approvals/{workflow_id}/decision": APPROVERS,
        "POST /v1/runs/{workflow_id}/feedback": ALL,
        "POST /v1/runs/{workflow_id}/feedback (correction)": PEOPLE_WHO_CORRECT,
        # Platform administrators only (their own tokens, `PlatformAdmin`).
        "POST /v1/tenants": NOBODY,
        "POST /v1/tenants/{tenant_id}/principals": NOBODY,
        "POST /v1/principals/{principal_id}/revoke": NOBODY,
        "POST /v1/admins": NOBODY,
    },
    "cli": {
        "hydrate": WRITERS,
        "ask": ALL,
        "onboard": WRITERS,
        "approve": APPROVERS,
        "reject": APPROVERS,
        "edit": APPROVERS,
        "approval-token": APPROVERS,
        "action-token": ALL,
        "feedback": ALL,
        "feedback (correction)": PEOPLE_WHO_CORRECT,
        # Platform administrators only (their own tokens).
        "tenant create": NOBODY,
        "tenant add-principal": NOBODY,
        "principal revoke": NOBODY,
        "admin create": NOBODY,
    },
    "update": {
        "decide": APPROVERS,
        "feedback": ALL,
        "feedback (correction)": PEOPLE_WHO_CORRECT,
    },
    "signal": {
        "submit_decision": APPROVERS,
    },
    "workflow": {
        "VendorHydration": WRITERS,
        "HydrateUnlinked": WRITERS,
        "LedgerQuestion": ALL,
        "ClientOnboarding": WRITERS,
    },
}


def permits(role: Role, kind: str, subject: str) -> bool:
    return role in MATRIX.get(kind, {}).get(subject, NOBODY)


def refusal(principal: Principal, kind: str, subject: str) -> str | None:
    """Why `principal` may not do `subject`, or None if the matrix allows it."""
    if permits(principal.role, kind, subject):
        return None
    allowed = sorted(r.value for r in MATRIX.get(kind, {}).get(subject, NOBODY))
    who = ", ".join(allowed) if allowed else "platform administrators"
    return (
        f"principal {principal.id!r} is a {principal.role.value}; {kind} {subject!r} "
        f"is for {who} only"
    )


def require(principal: Principal, kind: str, subject: str) -> None:
    """Raise `AccessDenied` unless the matrix allows `principal`'s role to do `subject`."""
    refused = refusal(principal, kind, subject)
    if refused is not None:
        raise AccessDenied(refused)
