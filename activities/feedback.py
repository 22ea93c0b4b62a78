"""`record_feedback`: a workflow's `feedback` Update, stored.

The key derives from the execution and the Update's id, so a retried activity (or the same
Update delivered again) stores one row. A refusal (another tenant's principal, nothing to
rate yet, an invalid correction, a principal the platform no longer knows, or whose role may
not give this feedback) will be refused again: it fails at once, not after retries.
"""

from __future__ import annotations

from pydantic import BaseModel
from temporalio import activity
from temporalio.exceptions import ApplicationError

from accounting.errors import PlatformError
from accounting.principals import confirm_principal
from ledgerd.feedback import FeedbackReceipt, RunFeedback, RunTarget, save_feedback
from ledgerd.runtime import dependencies
from ledgerd.security.policy import require


class FeedbackStep(BaseModel):
    run: RunTarget
    feedback: RunFeedback
    idempotency_key: str


@activity.defn(name="record_feedback")
async def record_feedback(step: FeedbackStep) -> FeedbackReceipt:
    pool = dependencies().pool
    try:
        # The Update's credential proved who signed; the platform says they still may.
        await confirm_principal(pool, step.feedback.principal, step.run.tenant_id)
        require(step.feedback.principal, "update", step.feedback.matrix_subject)
        return await save_feedback(
            pool,
            step.feedback.principal,
            step.run,
            step.feedback.without_principal(),
            idempotency_key=step.idempotency_key,
        )
    except PlatformError as error:
        raise ApplicationError(str(error), type=type(error).__name__, non_retryable=True) from None
