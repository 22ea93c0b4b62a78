"""Start and steer client onboarding from a service."""

from __future__ import annotations

import asyncio
import time
from datetime import datetime

from temporalio.client import Client, WorkflowExecutionStatus, WorkflowHandle

from accounting.principals import Principal
from ledgerd.config import get_settings
from ledgerd.onboarding import (
    Action,
    Decision,
    DecisionReceipt,
    OnboardingProposal,
    OnboardingRequest,
    OnboardingResult,
    PendingApproval,
)
from ledgerd.onboarding._chart_import import parse_chart
from ledgerd.security.actions import decision_action, sign_action
from starter._client import daemon_attributes, traced_start
from workflows.client_onboarding import ClientOnboarding


def onboarding_workflow_id(tenant_id: str) -> str:
    """One onboarding per tenant at a time: a second start is refused while one runs."""
    return f"client-onboarding-{tenant_id}"


async def start_client_onboarding(
    client: Client,
    request: OnboardingRequest,
    *,
    task_queue: str | None = None,
    workflow_id: str | None = None,
) -> WorkflowHandle[ClientOnboarding, OnboardingResult]:
    """Start onboarding `request.tenant_id`. The request was validated when it was built;
    its chart export is parsed here, so a bad file is refused now (`ChartImportError`, naming
    the row and column) rather than by the run, after it started."""
    parse_chart(request.chart_csv, request.chart_format)
    with traced_start("ClientOnboarding") as memo:
        return await client.start_workflow(
            ClientOnboarding.run,
            request,
            id=workflow_id or onboarding_workflow_id(request.tenant_id),
            task_queue=task_queue or get_settings().task_queue,
            search_attributes=daemon_attributes(request.tenant_id, "client_onboarding"),
            memo=memo,
            static_summary=f"Onboard {request.profile.legal_name}",
        )


async def decide_onboarding(
    client: Client,
    workflow_id: str,
    *,
    approver: Principal,
    action: Action,
    comments: str = "",
    edited_proposal: OnboardingProposal | None = None,
    now: datetime | None = None,
) -> DecisionReceipt:
    """Decide the pending approval by Update; a refusal raises with the validator's reason.

    The approval id is read from the workflow, so the caller decides what it sees now.
    `approver` must already be authenticated by the caller (a bearer token, the CLI's token):
    this signs the decision credential that proves it to the workflow. `now` (default: the
    wall clock) is when the credential is issued; the workflow checks its expiry by its own
    clock, so a caller of a server whose clock differs (the time-skipping test server) passes
    that server's time.
    """
    handle = client.get_workflow_handle_for(ClientOnboarding.run, workflow_id)
    pending = await handle.query(ClientOnboarding.pending_approval)
    if pending is None:
        raise LookupError(f"{workflow_id} has no pending approval")
    decision = signed_decision(
        Decision(
            approval_id=pending.approval_id,
            action=action,
            comments=comments,
            edited_proposal=edited_proposal,
        ),
        approver,
        workflow_id,
        now=now,
    )
    return await handle.execute_update(ClientOnboarding.decide, decision)


def signed_decision(
    decision: Decision, approver: Principal, workflow_id: str, *, now: datetime | None = None
) -> Decision:
    """`decision` with the credential proving `approver` chose exactly it."""
    credential = sign_action(
        approver,
        workflow_id,
        decision_action(decision.action.value),
        subject=decision.approval_id,
        content=decision.content(),
        now=now,
    )
    return decision.model_copy(update={"approver": approver, "credential": credential})


async def wait_for_proposal(
    handle: WorkflowHandle[ClientOnboarding, OnboardingResult], within_seconds: float = 900.0
) -> PendingApproval | None:
    """The proposal once the run asks for approval; None if the run ended without asking
    (a bad chart fails it first). `within_seconds`: a real model maps a long chart in
    minutes, not hours."""
    deadline = time.monotonic() + within_seconds
    while time.monotonic() < deadline:
        pending = await handle.query(ClientOnboarding.pending_approval)
        if pending is not None:
            return pending
        if (await handle.describe()).status != WorkflowExecutionStatus.RUNNING:
            return None
        await asyncio.sleep(0.2)
    raise TimeoutError(f"{handle.id} asked for no approval within {within_seconds:.0f}s")
