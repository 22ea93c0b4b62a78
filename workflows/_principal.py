"""The first step of every daemon: prove the principal its input names (see
`activities.security`). Runs recorded before this check existed replay without it."""

from __future__ import annotations

from temporalio import workflow
from temporalio.exceptions import ActivityError, ApplicationError, FailureError

with workflow.unsafe.imports_passed_through():
    from accounting.principals import Principal
    from activities.security import PrincipalCheck, verify_principal
    from ledgerd.contracts import Budget
    from workflows._daemon_loop import STEP_RETRY, STEP_TIMEOUT

PATCH = "verify-principal"


async def prove_principal(
    principal: Principal, tenant_id: str, kind: str, subject: str, budget: Budget | None = None
) -> None:
    """Fail the run, before any tool runs, unless the platform confirms `principal` (and
    `budget` is within the configured ceilings)."""
    if not workflow.patched(PATCH):
        return
    try:
        await workflow.execute_activity(
            verify_principal,
            PrincipalCheck(
                principal=principal, tenant_id=tenant_id, kind=kind, subject=subject, budget=budget
            ),
            start_to_close_timeout=STEP_TIMEOUT,
            retry_policy=STEP_RETRY,
            summary=f"verify principal: {principal.id}",
        )
    except ActivityError as error:
        cause = error.cause
        reason = cause.message if isinstance(cause, FailureError) else str(error)
        raise ApplicationError(reason, type="PrincipalRefused", non_retryable=True) from None
