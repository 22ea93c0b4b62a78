"""Deterministic workflows: no I/O, clocks or randomness outside `workflow.*`."""

from workflows.client_onboarding import ClientOnboarding
from workflows.hydrate_unlinked import BatchHydrationRequest, HydrateUnlinked
from workflows.ledger_question import LedgerQuestion, QuestionMode, QuestionRequest
from workflows.vendor_hydration import HydrationRequest, VendorHydration

ALL_WORKFLOWS = (ClientOnboarding, HydrateUnlinked, LedgerQuestion, VendorHydration)

__all__ = [
    "ALL_WORKFLOWS",
    "BatchHydrationRequest",
    "ClientOnboarding",
    "HydrateUnlinked",
    "HydrationRequest",
    "LedgerQuestion",
    "QuestionMode",
    "QuestionRequest",
    "VendorHydration",
]
