"""`/v1/vendor-hydrations`: start the vendor-hydration daemon (one vendor, or a batch)."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Header, Response
from pydantic import BaseModel, ConfigDict, Field, ValidationInfo, field_validator
from temporalio.exceptions import WorkflowAlreadyStartedError

from ledgerd.api._auth import CurrentPrincipal
from ledgerd.api._errors import ApiError, FieldError, error_responses
from ledgerd.api._resources import CurrentSettings, TemporalClient
from ledgerd.api._runs import result_url, status_url
from ledgerd.contracts import Budget
from ledgerd.security.budget import budget_problems
from starter import start_batch_hydration, start_vendor_hydration

router = APIRouter(prefix="/v1/vendor-hydrations", tags=["vendor hydration"])


class BudgetBody(Budget):
    model_config = ConfigDict(extra="forbid")


class VendorHydrationBody(BaseModel):
    """What to hydrate: a raw bank descriptor, or some bank transactions. Exactly one."""

    model_config = ConfigDict(
        extra="forbid",
        json_schema_extra={"examples": [{"descriptor": "SQ *BLUE BOTTLE COFF OAKLAND CA"}]},
    )

    descriptor: str | None = Field(
        default=None, min_length=2, max_length=200, description="A raw bank descriptor."
    )
    transaction_ids: list[str] | None = Field(
        default=None,
        min_length=1,
        max_length=500,
        validate_default=True,
        description="Ids of the tenant's bank transactions of one merchant.",
    )
    budget: BudgetBody | None = Field(default=None, description="Limits; defaults apply if absent.")

    @field_validator("transaction_ids", mode="after")
    @classmethod
    def _exactly_one_subject(
        cls, value: list[str] | None, info: ValidationInfo
    ) -> list[str] | None:
        if "descriptor" not in info.data:  # the descriptor itself was invalid: said already
            return value
        has_descriptor = info.data["descriptor"] is not None
        if has_descriptor and value is not None:
            raise ValueError("give either descriptor or transaction_ids, not both")
        if not has_descriptor and value is None:
            raise ValueError("give descriptor or transaction_ids (exactly one of them)")
        return value


class BatchHydrationBody(BaseModel):
    """Hydrate every merchant of the tenant's unlinked transactions."""

    model_config = ConfigDict(extra="forbid")

    max_concurrency: int = Field(default=4, ge=1, le=50, description="Vendors hydrated at once.")


class Started(BaseModel):
    """A daemon run that was started; follow it at `status_url`."""

    workflow_id: str
    run_id: str | None
    status_url: str
    result_url: str


def started(response: Response, workflow_id: str, run_id: str | None) -> Started:
    response.headers["Location"] = status_url(workflow_id)
    return Started(
        workflow_id=workflow_id,
        run_id=run_id,
        status_url=status_url(workflow_id),
        result_url=result_url(workflow_id),
    )


def already_running(error: WorkflowAlreadyStartedError, what: str) -> ApiError:
    return ApiError(
        409,
        "already_running",
        f"{what} is already running as {error.workflow_id!r}; follow it at "
        f"{status_url(error.workflow_id)} instead of starting it again",
        workflow_id=error.workflow_id,
    )


_STARTS: dict[int | str, dict[str, Any]] = error_responses(401, 403, 409, 422)

IdempotencyKey = Annotated[
    str | None,
    Header(
        alias="Idempotency-Key",
        min_length=1,
        max_length=200,
        description="Send the same key again (say, after a connection cut mid-request) and get "
        "the run the first request started, never a second one, even once it has finished.",
    ),
]


@router.post(
    "", status_code=202, response_model=Started, responses=_STARTS, summary="Hydrate one vendor"
)
async def start_hydration(
    body: VendorHydrationBody,
    principal: CurrentPrincipal,
    client: TemporalClient,
    settings: CurrentSettings,
    response: Response,
    idempotency_key: IdempotencyKey = None,
) -> Started:
    budget = Budget.model_validate(body.budget.model_dump()) if body.budget else None
    if budget is not None and (problems := budget_problems(budget, settings)):
        raise ApiError(
            422,
            "invalid_request",
            "invalid request: " + "; ".join(f"budget.{f}: {why}" for f, why in problems),
            fields=[
                FieldError(field=f"budget.{f}", location="body", message=why, type="ceiling")
                for f, why in problems
            ],
        )
    try:
        handle = await start_vendor_hydration(
            client,
            principal=principal,
            descriptor=body.descriptor,
            transaction_ids=body.transaction_ids,
            budget=budget,
            task_queue=settings.task_queue,
            idempotency_key=idempotency_key,
        )
    except WorkflowAlreadyStartedError as error:
        raise already_running(error, "a hydration of this vendor") from None
    return started(response, handle.id, handle.result_run_id)


@router.post(
    "/batch",
    status_code=202,
    response_model=Started,
    responses=_STARTS,
    summary="Hydrate every unlinked merchant",
)
async def start_batch(
    body: BatchHydrationBody,
    principal: CurrentPrincipal,
    client: TemporalClient,
    settings: CurrentSettings,
    response: Response,
) -> Started:
    try:
        handle = await start_batch_hydration(
            client,
            principal=principal,
            max_concurrency=body.max_concurrency,
            task_queue=settings.task_queue,
        )
    except WorkflowAlreadyStartedError as error:
        raise already_running(error, f"a batch hydration of {principal.tenant_id!r}") from None
    return started(response, handle.id, handle.result_run_id)
