"""`verify_principal`: the platform, not the payload, says who acts.

A workflow's input (or an Update's) names a principal; anyone who can reach Temporal can
write any name into it. Each daemon's first activity, and each decision before anything is
written, checks that name against the `principals` table: it exists, belongs to the tenant
with exactly the claimed role, is not revoked, its tenant is active, and the role matrix
allows it what it is doing; and the run's budget is within the configured ceilings
(ledgerd.security.budget). A refusal is final (not retried) and ends the run before any tool.
"""

from __future__ import annotations

from pydantic import BaseModel, Field
from temporalio import activity
from temporalio.exceptions import ApplicationError

from accounting.errors import AccessDenied
from accounting.principals import Principal, confirm_principal
from ledgerd.contracts import Budget
from ledgerd.runtime import dependencies
from ledgerd.security.budget import budget_problems
from ledgerd.security.policy import require


class PrincipalCheck(BaseModel):
    principal: Principal
    tenant_id: str
    kind: str
    subject: str
    budget: Budget | None = Field(
        default=None, description="The run's budget, checked against the configured ceilings."
    )


@activity.defn(name="verify_principal")
async def verify_principal(check: PrincipalCheck) -> None:
    deps = dependencies()
    try:
        await confirm_principal(deps.pool, check.principal, check.tenant_id)
        require(check.principal, check.kind, check.subject)
    except AccessDenied as error:
        activity.logger.warning("refused principal %r: %s", check.principal.id, error)
        raise ApplicationError(
            f"refused: {error}", type="PrincipalRefused", non_retryable=True
        ) from None
    problems = budget_problems(check.budget, deps.settings) if check.budget else []
    if problems:
        raise ApplicationError(
            "refused: budget " + "; ".join(f"{field} {why}" for field, why in problems),
            type="BudgetRefused",
            non_retryable=True,
        )


class DecisionProof(BaseModel):
    """A decision that arrived by Signal, to verify outside the workflow: a signal handler
    re-runs on replay, and a key retired since must not change what it decided."""

    workflow_id: str
    tenant_id: str
    approval_id: str
    action: str
    content: dict[str, object]
    credential: str | None
    approver: Principal | None
    asked: list[str]
    started_by: str


@activity.defn(name="verify_decision")
async def verify_decision(proof: DecisionProof) -> Principal:
    """The approver the credential proves, confirmed against the platform; or a final refusal."""
    from datetime import UTC, datetime

    from ledgerd.onboarding import can_approve
    from ledgerd.security.actions import decision_action, verify_action
    from ledgerd.security.credentials import CredentialError

    try:
        claims = verify_action(
            proof.credential,
            principal=proof.approver,
            workflow_id=proof.workflow_id,
            action=decision_action(proof.action),
            subject=proof.approval_id,
            content=proof.content,
            now=datetime.now(UTC),
        )
        who = claims.who
        require(who, "signal", "submit_decision")
        refused = can_approve(who, proof.tenant_id, proof.asked, proof.started_by)
        if refused:
            raise AccessDenied(refused)
        await confirm_principal(dependencies().pool, who, proof.tenant_id)
    except (CredentialError, AccessDenied) as error:
        raise ApplicationError(
            f"refused: {error}", type="DecisionRefused", non_retryable=True
        ) from None
    return who
