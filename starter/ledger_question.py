"""Ask the ledger a question from a service: validated here, so a bad request starts nothing."""

from __future__ import annotations

import uuid

from temporalio.client import Client, WorkflowHandle

from accounting.principals import Principal
from ledgerd.config import get_settings
from ledgerd.contracts import Budget, DaemonResult
from starter._client import daemon_attributes
from starter._idempotency import key_digest, start_once
from workflows.ledger_question import LedgerQuestion, QuestionMode, QuestionRequest


async def start_ledger_question(
    client: Client,
    *,
    principal: Principal,
    question: str,
    mode: QuestionMode = QuestionMode.PLANNED,
    conversation_id: str | None = None,
    budget: Budget | None = None,
    workflow_id: str | None = None,
    task_queue: str | None = None,
    idempotency_key: str | None = None,
) -> WorkflowHandle[LedgerQuestion, DaemonResult]:
    """Start answering `question` as `principal`; the answer is a `LedgerAnswer` dump in
    `DaemonResult.answer`. Questions of one `conversation_id` share what they remember.

    With `idempotency_key`, a repeat of the same start returns the run it started (see
    `starter._idempotency`).

    Raises `pydantic.ValidationError` naming what is wrong before anything is started.
    """
    request = QuestionRequest(
        tenant_id=principal.tenant_id,
        principal=principal,
        question=question,
        mode=mode,
        conversation_id=conversation_id,
        budget=budget,
    )
    digest = key_digest(principal, idempotency_key) if idempotency_key else None
    # Every question is its own run; asking the same words twice asks twice. A keyed ask is
    # one run per key, whatever the words.
    wid = workflow_id or (
        f"ledger-question-{principal.tenant_id}-{digest[:16]}"
        if digest
        else f"ledger-question-{principal.tenant_id}-{uuid.uuid4().hex[:12]}"
    )

    return await start_once(
        client,
        LedgerQuestion.run,
        request,
        id=wid,
        what="LedgerQuestion",
        digest=digest,
        task_queue=task_queue or get_settings().task_queue,
        search_attributes=daemon_attributes(request.tenant_id, "ledger_question"),
        static_summary=f"Question: {question[:180]}",
    )
