"""`/v1/runs`: any daemon run's status and result, for the tenant it belongs to only.

A run belongs to the tenant in its `LedgerdTenant` search attribute. A run of another tenant
answers exactly like one that does not exist, so ids of other tenants' runs reveal nothing.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from fastapi import APIRouter
from fastapi.encoders import jsonable_encoder
from pydantic import BaseModel, Field
from temporalio.client import (
    Client,
    WorkflowExecutionDescription,
    WorkflowExecutionStatus,
    WorkflowFailureError,
    WorkflowHandle,
)
from temporalio.exceptions import FailureError, TemporalError
from temporalio.service import RPCError, RPCStatusCode

from accounting.principals import Principal
from ledgerd import search_attributes as sa
from ledgerd.api._auth import CurrentPrincipal
from ledgerd.api._errors import ApiError, error_responses
from ledgerd.api._resources import TemporalClient
from ledgerd.run_health import stalled_on_model

router = APIRouter(prefix="/v1/runs", tags=["runs"])

_QUERY_TIMEOUT = timedelta(seconds=3)  # a run without a worker cannot answer


def status_url(workflow_id: str) -> str:
    return f"/v1/runs/{workflow_id}"


def result_url(workflow_id: str) -> str:
    return f"/v1/runs/{workflow_id}/result"


async def tenant_run(
    client: Client, principal: Principal, workflow_id: str
) -> tuple[WorkflowHandle[Any, Any], WorkflowExecutionDescription]:
    """The run `workflow_id` if it belongs to the principal's tenant, else 404."""
    handle = client.get_workflow_handle(workflow_id)
    try:
        described = await handle.describe()
    except RPCError as error:
        if error.status != RPCStatusCode.NOT_FOUND:
            raise
        described = None
    if described is None or described.typed_search_attributes.get(sa.TENANT) != principal.tenant_id:
        raise ApiError(
            404,
            "not_found",
            f"no run {workflow_id!r} of tenant {principal.tenant_id!r}",
            workflow_id=workflow_id,
        )
    return handle, described


def status_name(status: WorkflowExecutionStatus | None) -> str:
    return status.name.lower() if status is not None else "unknown"


async def query_or_none(handle: WorkflowHandle[Any, Any], name: str) -> Any:
    """A query's answer, or None when the run cannot answer now (no worker, or closed)."""
    try:
        return await handle.query(name, rpc_timeout=_QUERY_TIMEOUT)
    except (TimeoutError, TemporalError):
        return None


class RunStatus(BaseModel):
    workflow_id: str
    run_id: str
    workflow_type: str
    status: str = Field(
        description="Temporal's status: running, completed, failed, canceled, terminated, "
        "continued_as_new or timed_out."
    )
    now: Any = Field(
        default=None, description="While running: the run's `status` query (what it is doing)."
    )
    problem: str | None = Field(
        default=None,
        description="While running: what keeps it from progressing, e.g. a model the worker "
        "cannot reach (the step keeps retrying).",
    )
    summary: str | None = None
    search_attributes: dict[str, Any] = Field(
        description="ledgerd's: `LedgerdTenant`, `LedgerdDaemon`, `LedgerdOutcome` once ended."
    )
    started_at: datetime
    closed_at: datetime | None
    result_url: str


class RunResult(BaseModel):
    workflow_id: str
    status: str
    result: Any = Field(default=None, description="The run's result, when it completed.")
    failure: str | None = Field(default=None, description="Why it did not complete, otherwise.")


@router.get(
    "/{workflow_id}",
    response_model=RunStatus,
    responses=error_responses(401, 404),
    summary="Status of a run",
)
async def get_run(
    workflow_id: str, principal: CurrentPrincipal, client: TemporalClient
) -> RunStatus:
    handle, described = await tenant_run(client, principal, workflow_id)
    running = described.status == WorkflowExecutionStatus.RUNNING
    return RunStatus(
        workflow_id=workflow_id,
        run_id=described.run_id,
        workflow_type=described.workflow_type,
        status=status_name(described.status),
        now=jsonable_encoder(await query_or_none(handle, "status")) if running else None,
        problem=_problem(described) if running else None,
        summary=await described.static_summary(),
        search_attributes={
            pair.key.name: jsonable_encoder(pair.value)
            for pair in described.typed_search_attributes
            if pair.key.name.startswith("Ledgerd")  # not the server's own, e.g. BuildIds
        },
        started_at=described.start_time,
        closed_at=described.close_time,
        result_url=result_url(workflow_id),
    )


@router.get(
    "/{workflow_id}/result",
    response_model=RunResult,
    responses=error_responses(401, 404, 409),
    summary="Result of a finished run (409 while it runs)",
)
async def get_run_result(
    workflow_id: str, principal: CurrentPrincipal, client: TemporalClient
) -> RunResult:
    handle, described = await tenant_run(client, principal, workflow_id)
    status = status_name(described.status)
    if described.status == WorkflowExecutionStatus.RUNNING:
        raise ApiError(
            409,
            "still_running",
            f"run {workflow_id!r} is still running; poll {status_url(workflow_id)} "
            "and ask again when it has finished",
            workflow_id=workflow_id,
        )
    try:
        result = await handle.result(follow_runs=False)
    except WorkflowFailureError as error:
        cause = error.cause
        reason = cause.message if isinstance(cause, FailureError) else str(cause)
        return RunResult(workflow_id=workflow_id, status=status, failure=reason)
    return RunResult(workflow_id=workflow_id, status=status, result=jsonable_encoder(result))


def _problem(described: WorkflowExecutionDescription) -> str | None:
    why = stalled_on_model(described)
    if why is None:
        return None
    return (
        f"the worker cannot reach the model ({why}): the step keeps retrying; start the model "
        "stand-in or fix the worker's ANTHROPIC_BASE_URL or ANTHROPIC_API_KEY"
    )
