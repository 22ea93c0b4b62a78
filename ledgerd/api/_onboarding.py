"""`/v1/onboardings`: start the client-onboarding daemon for the token's tenant.

Its id is `client-onboarding-<tenant>` (`starter.onboarding_workflow_id`): one onboarding per
tenant at a time, so a second start while one runs is a 409.
"""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Response
from pydantic import BaseModel, ConfigDict, create_model
from temporalio.exceptions import WorkflowAlreadyStartedError

from accounting.principals import APPROVER_ROLES, Principal
from ledgerd.api._auth import CurrentPrincipal
from ledgerd.api._errors import ApiError, FieldError, error_responses
from ledgerd.api._resources import CurrentSettings, Database, TemporalClient
from ledgerd.api._vendor_hydration import Started, already_running, started
from ledgerd.db import Pool
from ledgerd.onboarding import OnboardingRequest
from starter import start_client_onboarding

router = APIRouter(prefix="/v1/onboardings", tags=["onboarding"])

_FROM_TOKEN = ("tenant_id", "principal")
# Internal to the workflow (continue-as-new's state): never accepted from a caller.
_INTERNAL = ("resume",)


class _BodyBase(BaseModel):
    model_config = ConfigDict(extra="forbid")


# `OnboardingRequest` without who starts it and for which tenant (both come from the token).
# Built from the request model itself so the two can never drift apart; its cross-field rules
# run when the endpoint builds the `OnboardingRequest`.
_BODY_FIELDS: dict[str, Any] = {
    name: (field.annotation, field)
    for name, field in OnboardingRequest.model_fields.items()
    if name not in _FROM_TOKEN and name not in _INTERNAL
}
OnboardingBody = create_model(
    "OnboardingBody",
    __base__=_BodyBase,
    __doc__="Start onboarding the token's tenant: its profile, chart export and approvers.",
    **_BODY_FIELDS,
)


async def _check_approvers(pool: Pool, request: OnboardingRequest) -> None:
    """Every approver must be an accountant or owner of the tenant: refuse the request now
    rather than wait days for a decision nobody is allowed to give."""
    wanted = {*request.approvers, *request.escalation_approvers}
    async with pool.connection() as conn:
        cursor = await conn.execute(
            "SELECT id FROM principals WHERE tenant_id = %s AND id = ANY(%s) AND role = ANY(%s)",
            (request.tenant_id, sorted(wanted), sorted(r.value for r in APPROVER_ROLES)),
        )
        allowed = {row["id"] for row in await cursor.fetchall()}
    problems = [
        FieldError(
            field=field,
            location="body",
            message=f"{principal_id!r} is not an accountant or owner of tenant "
            f"{request.tenant_id!r}",
            type="not_an_approver",
        )
        for field in ("approvers", "escalation_approvers")
        for principal_id in getattr(request, field)
        if principal_id not in allowed
    ]
    if problems:
        raise ApiError(
            422,
            "invalid_request",
            "invalid request: " + "; ".join(f"{p.field}: {p.message}" for p in problems),
            fields=problems,
        )


@router.post(
    "",
    status_code=202,
    response_model=Started,
    responses=error_responses(401, 403, 409, 422),
    summary="Onboard the token's tenant",
)
async def start(
    body: OnboardingBody,
    principal: CurrentPrincipal,
    client: TemporalClient,
    pool: Database,
    settings: CurrentSettings,
    response: Response,
) -> Started:
    request = _request(body, principal)
    await _check_approvers(pool, request)
    try:
        handle = await start_client_onboarding(client, request, task_queue=settings.task_queue)
    except WorkflowAlreadyStartedError as error:
        raise already_running(error, f"an onboarding of {principal.tenant_id!r}") from None
    return started(response, handle.id, handle.result_run_id)


def _request(body: BaseModel, principal: Principal) -> OnboardingRequest:
    # Raises pydantic's ValidationError (→ 422 naming the field) before anything starts.
    return OnboardingRequest(tenant_id=principal.tenant_id, principal=principal, **dict(body))
