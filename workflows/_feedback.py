"""The `feedback` Update every daemon workflow offers. Workflows whose daemon runs as
`self.loop` inherit it from `FeedbackOnTheLoop`; others (onboarding) write the two halves:

    @workflow.update
    async def feedback(self, feedback: RunFeedback) -> FeedbackReceipt:
        return await record_run_feedback(feedback, tenant_id=...)

    @feedback.validator
    def _validate_feedback(self, feedback: RunFeedback) -> None:
        check_feedback(feedback, tenant_id=..., daemon=..., answered=...)

The method's name is the Update's name, `feedback`. (Spelling it out with
`@workflow.update(name="feedback")` works the same, but the SDK's typing then loses the
handler's awaited return type: `handle.execute_update(Workflow.feedback, ...)` would be typed
as returning a coroutine.)

The validator refuses before anything reaches history: a principal of another tenant, a
credential that does not prove the principal named (ledgerd.security.credentials: signed for
this workflow, the action `feedback` and exactly this feedback, unexpired by workflow time), a
role the matrix does not allow (a viewer's correction), a run with no answer yet, a
correction that is not a valid answer of the daemon (each bad field named). The activity that
stores it confirms the principal against the platform's table first. A malformed payload (a rating of 9) is refused earlier still, when it is decoded: the
workflows count pydantic's ValidationError as a failure, which rejects the Update.

An Update only reaches a running workflow; finished runs take feedback through
`ledgerd feedback` or `POST /v1/runs/{id}/feedback`, which write the same row directly.
"""

from __future__ import annotations

from temporalio import workflow

from workflows._keys import execution_key

with workflow.unsafe.imports_passed_through():
    from activities.feedback import FeedbackStep, record_feedback
    from ledgerd.feedback import FeedbackReceipt, RunFeedback, RunTarget, feedback_problems
    from ledgerd.feedback._models import FEEDBACK_ACTION
    from ledgerd.security import policy
    from ledgerd.security.actions import verify_action
    from ledgerd.security.credentials import CredentialError
    from ledgerd.security.refused import UpdateRefused
    from workflows._daemon_loop import STEP_RETRY, STEP_TIMEOUT, DaemonLoop


def check_feedback(feedback: RunFeedback, *, tenant_id: str, daemon: str, answered: bool) -> None:
    """The Update's validator: raise (refusing the Update) unless `feedback` can be stored."""
    if feedback.principal.tenant_id != tenant_id:
        raise UpdateRefused(
            f"AccessDenied: principal {feedback.principal.id!r} of tenant "
            f"{feedback.principal.tenant_id!r} may not give feedback on a run of {tenant_id!r}"
        )
    # Deterministic: HMAC with the keys loaded at worker start, expiry by workflow time.
    try:
        claims = verify_action(
            feedback.credential,
            principal=feedback.principal,
            workflow_id=workflow.info().workflow_id,
            action=FEEDBACK_ACTION,
            content=feedback.content(),
            now=workflow.now(),
        )
    except CredentialError as error:
        raise UpdateRefused(f"refused: {error}") from None
    refused = policy.refusal(claims.who, "update", feedback.matrix_subject)
    if refused:
        raise UpdateRefused(f"AccessDenied: {refused}")
    if not answered:
        raise UpdateRefused(
            f"run {workflow.info().workflow_id!r} has no daemon response yet: give feedback "
            "once it has answered"
        )
    problems = feedback_problems(feedback, daemon)
    if problems:
        raise UpdateRefused(
            "invalid feedback: " + "; ".join(f"{p.field}: {p.message}" for p in problems)
        )


async def record_run_feedback(feedback: RunFeedback, *, tenant_id: str) -> FeedbackReceipt:
    """Store the feedback (the `record_feedback` activity), keyed by the Update's id."""
    update = workflow.current_update_info()
    key = f"{execution_key()}/feedback/{update.id if update else workflow.uuid4()}"
    return await workflow.execute_activity(
        record_feedback,
        FeedbackStep(
            run=RunTarget(
                workflow_id=workflow.info().workflow_id,
                tenant_id=tenant_id,
                execution_key=execution_key(),
            ),
            # The validator verified the credential; history keeps who gave it, not the proof.
            feedback=feedback.model_copy(update={"credential": None}),
            idempotency_key=key,
        ),
        summary=f"feedback: {feedback.describe()} by {feedback.principal.id}",
        start_to_close_timeout=STEP_TIMEOUT,
        retry_policy=STEP_RETRY,
    )


class FeedbackOnTheLoop:
    """The `feedback` Update for a workflow whose daemon runs as `self.loop` (a base class:
    the workflow inherits the handler and its validator)."""

    loop: DaemonLoop | None

    @workflow.update
    async def feedback(self, feedback: RunFeedback) -> FeedbackReceipt:
        """Feedback on the daemon's answer while the run is open."""
        assert self.loop is not None
        return await record_run_feedback(feedback, tenant_id=self.loop.principal.tenant_id)

    @feedback.validator
    def _validate_feedback(self, feedback: RunFeedback) -> None:
        if self.loop is None:
            raise UpdateRefused("the run has not started its daemon yet")
        check_feedback(
            feedback,
            tenant_id=self.loop.principal.tenant_id,
            daemon=self.loop.spec.kind,
            answered=self.loop.result.answer is not None,
        )
