"""Activities: every step with I/O (planning, model turns, tools, guardrails, notifications)."""

from activities.answer import validate_answer
from activities.feedback import record_feedback
from activities.guardrails import guardrail
from activities.known_vendors import link_known_vendor
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
from activities.unlinked import find_unlinked_merchants, link_merchant_remainder

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
    link_known_vendor,
    link_merchant_remainder,
    model_turn,
    notify,
    plan,
    record_feedback,
    validate_answer,
    verify_decision,
    verify_principal,
)

# Activities whose work is a model call: served on the model queues under the provider's rate
# limit (ledgerd/queues.py); every other activity runs on the main queue.
MODEL_ACTIVITIES = (plan, model_turn, guardrail)

__all__ = ["ALL_ACTIVITIES", "MODEL_ACTIVITIES"]
