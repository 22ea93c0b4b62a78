"""`record_feedback`: a workflow's `feedback` Update, stored.

The key derives from the execution and the Update's id, so a retried activity (or the same
Update delivered again) stores one row. A refusal (another tenant's principal, nothing to
rate yet, an invalid correction) will be refused again: it fails at once, not after retries.
"""

from __future__ import annotations

from pydantic import BaseModel
from temporalio import activity
from temporalio.exceptions import ApplicationError

from accounting.errors import PlatformError
from ledgerd.feedback import FeedbackReceipt, RunFeedback, RunTarget, save_feedback
from ledgerd.runtime import dependencies


class FeedbackStep(BaseModel):
    run: RunTarget
    feedback: RunFeedback
    idempotency_key: str


@activity.defn(name="record_feedback")
async def record_feedback(step: FeedbackStep) -> FeedbackReceipt:
    try:
        return await save_feedback(
            dependencies().pool,
            step.feedback.principal,
            step.run,
            step.feedback.without_principal(),
            idempotency_key=step.idempotency_key,
        )
    except PlatformError as error:
        raise ApplicationError(str(error), type=type(error).__name__, non_retryable=True) from None
