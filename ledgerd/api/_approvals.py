"""`/v1/approvals`: what waits for the token's tenant's decision, and deciding it.

The list comes from `onboarding_records` (kept in step by the onboarding workflow, so listing
needs no scan of Temporal), each entry enriched with the run's `pending_approval` query. A
decision is the workflow's `decide` Update: its validator refuses a stale approval id or an
approver who may not decide, and that refusal comes back as a 409 with the validator's words.
"""

from __future__ import annotations

import asyncio
from datetime import datetime
from typing import Any

from fastapi import APIRouter
from pydantic import BaseModel, ConfigDict, Field
from temporalio.client import Client, WorkflowExecutionStatus, WorkflowUpdateFailedError
from temporalio.exceptions import FailureError
from temporalio.service import RPCError, RPCStatusCode

from ledgerd.api._auth import CurrentPrincipal
from ledgerd.api._errors import ApiError, error_responses
from ledgerd.api._resources import Database, TemporalClient
from ledgerd.api._runs import query_or_none, status_url, tenant_run
from ledgerd.onboarding import (
    Action,
    Decision,
    DecisionReceipt,
    OnboardingProposal,
    PendingApproval,
)
from starter.client_onboarding import signed_decision

router = APIRouter(prefix="/v1/approvals", tags=["approvals"])


class ApprovalItem(BaseModel):
    workflow_id: str
    kind: str = Field(description="What waits for approval, e.g. `client_onboarding`.")
    status: str
    waiting_since: datetime
    pending_approval: PendingApproval | None = Field(
        description="The run's `pending_approval` query; null if it cannot answer right now."
    )
    decision_url: str
    status_url: str


class Approvals(BaseModel):
    approvals: list[ApprovalItem]


class DecisionBody(BaseModel):
    """An approver's answer; who decides is the token's principal."""

    model_config = ConfigDict(
        extra="forbid",
        json_schema_extra={
            "examples": [{"approval_id": "…from GET /v1/approvals…", "action": "approve"}]
        },
    )

    approval_id: str = Field(min_length=1, description="`pending_approval.approval_id`.")
    action: Action
    comments: str = Field(default="", max_length=4000, description="Required for a rejection.")
    edited_proposal: OnboardingProposal | None = Field(
        default=None, description="The corrected proposal; with action `edit` only."
    )


def decision_url(workflow_id: str) -> str:
    return f"/v1/approvals/{workflow_id}/decision"


async def _pending(client: Client, workflow_id: str) -> PendingApproval | None:
    raw = await query_or_none(client.get_workflow_handle(workflow_id), "pending_approval")
    return PendingApproval.model_validate(raw) if raw else None


@router.get(
    "", response_model=Approvals, responses=error_responses(401), summary="Pending approvals"
)
async def list_approvals(
    principal: CurrentPrincipal, pool: Database, client: TemporalClient
) -> Approvals:
    async with pool.connection() as conn:
        cursor = await conn.execute(
            """SELECT workflow_id, status, created_at FROM onboarding_records
               WHERE tenant_id = %s AND status = 'awaiting_approval'
               ORDER BY created_at, workflow_id""",
            (principal.tenant_id,),
        )
        rows = await cursor.fetchall()
    pending = await asyncio.gather(*(_pending(client, row["workflow_id"]) for row in rows))
    return Approvals(
        approvals=[
            ApprovalItem(
                workflow_id=row["workflow_id"],
                kind="client_onboarding",
                status=row["status"],
                waiting_since=row["created_at"],
                pending_approval=approval,
                decision_url=decision_url(row["workflow_id"]),
                status_url=status_url(row["workflow_id"]),
            )
            for row, approval in zip(rows, pending, strict=True)
        ]
    )


@router.post(
    "/{workflow_id}/decision",
    response_model=DecisionReceipt,
    responses=error_responses(401, 403, 404, 409, 422),
    summary="Approve, reject or edit a pending approval",
)
async def decide(
    workflow_id: str, body: DecisionBody, principal: CurrentPrincipal, client: TemporalClient
) -> DecisionReceipt:
    handle, described = await tenant_run(client, principal, workflow_id)
    if described.workflow_type != "ClientOnboarding":
        raise ApiError(
            409,
            "not_awaiting_decision",
            f"run {workflow_id!r} is a {described.workflow_type}, which takes no decisions",
            workflow_id=workflow_id,
        )
    if described.status != WorkflowExecutionStatus.RUNNING:
        raise _finished(workflow_id)
    # Raises pydantic's ValidationError (→ 422) for e.g. a rejection without comments.
    # The token authenticated the approver; the signed credential proves it to the workflow.
    decision = signed_decision(Decision(**dict(body)), principal, workflow_id)
    try:
        receipt: DecisionReceipt = await handle.execute_update(
            "decide", decision, result_type=DecisionReceipt
        )
    except WorkflowUpdateFailedError as error:
        raise ApiError(
            409, "decision_refused", _reason(error.cause), workflow_id=workflow_id
        ) from None
    except RPCError as error:
        if error.status != RPCStatusCode.NOT_FOUND:
            raise
        raise _finished(workflow_id) from None  # it finished while we asked
    return receipt


def _finished(workflow_id: str) -> ApiError:
    return ApiError(
        409,
        "not_awaiting_decision",
        f"run {workflow_id!r} has finished; it no longer takes decisions",
        workflow_id=workflow_id,
    )


def _reason(cause: Any) -> str:
    return cause.message if isinstance(cause, FailureError) else str(cause)
