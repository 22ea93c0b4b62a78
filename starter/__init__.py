"""Typed clients for services that start and steer ledgerd daemons."""

from starter._client import connect
from starter.vendor_hydration import (
    hydration_workflow_id,
    start_batch_hydration,
    start_vendor_hydration,
)

__all__ = [
    "connect",
    "hydration_workflow_id",
    "start_batch_hydration",
    "start_vendor_hydration",
]
