"""Every daemon start proves its principal: a run started through plain Temporal with a
principal the platform does not know, or a role it does not hold, is refused before any tool."""

from __future__ import annotations

import uuid

import pytest
from temporalio.api.enums.v1 import EventType
from temporalio.client import WorkflowFailureError
from temporalio.testing import WorkflowEnvironment

from ledgerd.runtime import Dependencies
from tests.conftest import running_worker

PLAIN_INPUTS = {
    "VendorHydration": {"descriptor": "GUSTO PAY 123456"},
    "LedgerQuestion": {"question": "How much did we spend on software in 2025?"},
    "HydrateUnlinked": {},
}


@pytest.mark.parametrize(
    ("workflow_type", "principal", "reason"),
    [
        (
            "VendorHydration",
            {"id": "mallory", "tenant_id": "globex", "role": "owner"},
            "principal 'mallory' does not exist",
        ),
        (
            "LedgerQuestion",
            {"id": "mallory", "tenant_id": "globex", "role": "viewer"},
            "principal 'mallory' does not exist",
        ),
        (
            "HydrateUnlinked",
            {"id": "globex-viewer", "tenant_id": "globex", "role": "owner"},
            "principal 'globex-viewer' is a viewer, not a owner",
        ),
        (
            "VendorHydration",
            {"id": "acme-owner", "tenant_id": "globex", "role": "owner"},
            "does not belong to tenant 'globex'",
        ),
        (
            "VendorHydration",
            {"id": "globex-viewer", "tenant_id": "globex", "role": "viewer"},
            "workflow 'VendorHydration' is for accountant, owner, service only",
        ),
    ],
)
async def test_a_start_through_plain_temporal_with_a_false_principal_is_refused_before_any_tool(
    time_skipping_env: WorkflowEnvironment,
    seeded_deps: Dependencies,
    workflow_type: str,
    principal: dict[str, str],
    reason: str,
) -> None:
    client = time_skipping_env.client
    async with running_worker(time_skipping_env) as queue:
        # As `temporal workflow start --type ... --input '{...}'` would: by name, plain JSON.
        handle = await client.start_workflow(
            workflow_type,
            {"tenant_id": "globex", "principal": principal, **PLAIN_INPUTS[workflow_type]},
            id=f"forged-{uuid.uuid4()}",
            task_queue=queue,
        )
        with pytest.raises(WorkflowFailureError) as failed:
            await handle.result()
    assert reason in str(failed.value.cause)
    history = await handle.fetch_history()
    scheduled = [
        e.activity_task_scheduled_event_attributes.activity_type.name
        for e in history.events
        if e.event_type == EventType.EVENT_TYPE_ACTIVITY_TASK_SCHEDULED
    ]
    assert scheduled == ["verify_principal"]
