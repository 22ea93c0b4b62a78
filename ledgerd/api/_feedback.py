"""`POST /v1/runs/{workflow_id}/feedback`: rate, approve or correct a daemon's response.

Any principal of the run's tenant may give feedback; a run of another tenant answers 404
like one that does not exist. The row is written directly (no Update), so a finished run
takes feedback as well as a running one. An `Idempotency-Key` header makes a retried request
store one row and answer the same receipt.
"""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Header, Request

from accounting.errors import AccessDenied, InvalidRequest, NotFound
from ledgerd.api._auth import CurrentPrincipal, route_subject
from ledgerd.api._errors import ApiError, FieldError, error_responses
from ledgerd.api._resources import Database, TemporalClient
from ledgerd.feedback import Feedback, FeedbackReceipt, InvalidFeedback, NotAnswered, give_feedback
from ledgerd.security import policy

router = APIRouter(prefix="/v1/runs", tags=["feedback"])


@router.post(
    "/{workflow_id:path}/feedback",
    status_code=201,
    response_model=FeedbackReceipt,
    responses=error_responses(401, 403, 404, 409, 422),
    summary="Give feedback on a run's response",
)
async def give(
    request: Request,
    workflow_id: str,
    body: Feedback,
    principal: CurrentPrincipal,
    client: TemporalClient,
    pool: Database,
    idempotency_key: Annotated[
        str | None,
        Header(
            min_length=1,
            max_length=200,
            description="Retrying with the same key stores one row and answers the same receipt.",
        ),
    ] = None,
) -> FeedbackReceipt:
    """Thumbs, a 1-5 rating, a correction (the answer as it should have been, validated
    against the daemon's output model) and a comment; at least one of them."""
    if body.correction is not None:  # the matrix's own row: viewers may rate, not correct
        refused = policy.refusal(principal, "api", f"{route_subject(request)} (correction)")
        if refused is not None:
            raise ApiError(403, "forbidden", refused, workflow_id=workflow_id)
    # Per principal: two people of one tenant who happen to send the same key both count.
    key = (
        f"http/{principal.tenant_id}/{principal.id}/{idempotency_key}" if idempotency_key else None
    )
    try:
        return await give_feedback(client, pool, principal, workflow_id, body, idempotency_key=key)
    except (NotFound, AccessDenied):
        raise ApiError(
            404,
            "not_found",
            f"no run {workflow_id!r} of tenant {principal.tenant_id!r}",
            workflow_id=workflow_id,
        ) from None
    except NotAnswered as error:
        raise ApiError(409, "not_answered", str(error), workflow_id=workflow_id) from None
    except InvalidFeedback as error:
        raise ApiError(
            422,
            "invalid_request",
            str(error),
            workflow_id=workflow_id,
            fields=[
                FieldError(field=p.field, location="body", message=p.message, type="invalid")
                for p in error.problems
            ],
        ) from None
    except InvalidRequest as error:  # the Idempotency-Key was used for another run
        raise ApiError(409, "conflict", str(error), workflow_id=workflow_id) from None
