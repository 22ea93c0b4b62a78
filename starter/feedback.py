"""Feedback through a running workflow's `feedback` Update, signed for its principal."""

from __future__ import annotations

from datetime import datetime

from accounting.principals import Principal
from ledgerd.feedback import Feedback, RunFeedback
from ledgerd.feedback._models import FEEDBACK_ACTION
from ledgerd.security.actions import sign_action


def signed_feedback(
    feedback: Feedback, principal: Principal, workflow_id: str, *, now: datetime | None = None
) -> RunFeedback:
    """`feedback` as the Update takes it, with the credential proving `principal` gave exactly
    it on `workflow_id`. `principal` must already be authenticated by the caller (a bearer
    token); `now` is when the credential is issued (default: the wall clock)."""
    given = RunFeedback(principal=principal, **feedback.model_dump())
    credential = sign_action(
        principal, workflow_id, FEEDBACK_ACTION, content=given.content(), now=now
    )
    return given.model_copy(update={"credential": credential})
