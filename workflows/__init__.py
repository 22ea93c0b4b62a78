"""Deterministic workflows: no I/O, clocks or randomness outside `workflow.*`."""

from workflows.hydrate_unlinked import BatchHydrationRequest, HydrateUnlinked
from workflows.vendor_hydration import HydrationRequest, VendorHydration

ALL_WORKFLOWS = (HydrateUnlinked, VendorHydration)

__all__ = [
    "ALL_WORKFLOWS",
    "BatchHydrationRequest",
    "HydrateUnlinked",
    "HydrationRequest",
    "VendorHydration",
]
