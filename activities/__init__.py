"""Activities: every step with I/O (planning, model turns, tools, guardrails, notifications)."""

from activities.answer import validate_answer
from activities.feedback import record_feedback
from activities.guardrails import guardrail
from activities.messages import append_message
from activities.model_turn import model_turn
from activities.notify import notify
from activities.onboarding import (
    apply_onboarding,
    discard_staged,
    import_chart,
    record_onboarding,
    save_client_profile,
)
from activities.planning import plan
from activities.security import verify_decision, verify_principal
from activities.tool_call import call_tool
from activities.unlinked import find_unlinked_merchants

ALL_ACTIVITIES = (
    append_message,
    apply_onboarding,
    discard_staged,
    import_chart,
    record_onboarding,
    save_client_profile,
    call_tool,
    find_unlinked_merchants,
    guardrail,
    model_turn,
    notify,
    plan,
    record_feedback,
    validate_answer,
    verify_decision,
    verify_principal,
)

__all__ = ["ALL_ACTIVITIES"]
