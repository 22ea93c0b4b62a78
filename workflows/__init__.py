"""Deterministic workflows: no I/O, clocks or randomness outside `workflow.*`."""

from workflows.vendor_hydration import HydrationRequest, VendorHydration

ALL_WORKFLOWS = (VendorHydration,)

__all__ = ["ALL_WORKFLOWS", "HydrationRequest", "VendorHydration"]
