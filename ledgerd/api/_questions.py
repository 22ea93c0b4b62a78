"""`/v1/questions`: ask the ledger a question; the answer arrives at the run's `result_url`."""

from __future__ import annotations

from fastapi import APIRouter, Response
from pydantic import BaseModel, ConfigDict, Field

from ledgerd.api._auth import CurrentPrincipal
from ledgerd.api._errors import error_responses
from ledgerd.api._resources import CurrentSettings, TemporalClient
from ledgerd.api._vendor_hydration import IdempotencyKey, Started, started
from starter import start_ledger_question
from workflows.ledger_question import QuestionMode

router = APIRouter(prefix="/v1/questions", tags=["ledger questions"])


class QuestionBody(BaseModel):
    """A question about the caller's own ledger; any role of the tenant may ask."""

    model_config = ConfigDict(
        extra="forbid",
        json_schema_extra={
            "examples": [
                {"question": "How much did we spend on software in Q3 2025 versus Q2 2025?"}
            ]
        },
    )

    question: str = Field(min_length=3, max_length=2000)
    mode: QuestionMode = Field(
        default=QuestionMode.PLANNED,
        description="planned: plan, then run the queries concurrently; stepwise: the plain loop.",
    )
    conversation_id: str | None = Field(
        default=None,
        pattern=r"^[A-Za-z0-9._:-]{1,100}$",
        description="Follow-up questions of one conversation share what they remember.",
    )


@router.post(
    "",
    status_code=202,
    response_model=Started,
    responses=error_responses(401, 422),
    summary="Ask a question about the ledger",
)
async def ask(
    body: QuestionBody,
    principal: CurrentPrincipal,
    client: TemporalClient,
    settings: CurrentSettings,
    response: Response,
    idempotency_key: IdempotencyKey = None,
) -> Started:
    handle = await start_ledger_question(
        client,
        principal=principal,
        question=body.question,
        mode=body.mode,
        conversation_id=body.conversation_id,
        task_queue=settings.task_queue,
        idempotency_key=idempotency_key,
    )
    return started(response, handle.id, handle.result_run_id)
