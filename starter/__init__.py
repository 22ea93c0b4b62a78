"""Typed clients for services that start and steer ledgerd daemons."""

from starter._client import connect
from starter.client_onboarding import (
    decide_onboarding,
    onboarding_workflow_id,
    start_client_onboarding,
    wait_for_proposal,
)
from starter.ledger_question import start_ledger_question
from starter.vendor_hydration import (
    hydration_workflow_id,
    start_batch_hydration,
    start_vendor_hydration,
)

__all__ = [
    "connect",
    "decide_onboarding",
    "hydration_workflow_id",
    "onboarding_workflow_id",
    "start_batch_hydration",
    "start_client_onboarding",
    "start_ledger_question",
    "start_vendor_hydration",
    "wait_for_proposal",
]
