"""Vendor hydration end to end: time-skipping Temporal, real PostgreSQL, the real anthropic
SDK against the offline stand-in."""

from __future__ import annotations

import pytest
from temporalio.client import WorkflowFailureError
from temporalio.testing import WorkflowEnvironment

from ledgerd.contracts import Outcome
from ledgerd.daemons import VendorRecord
from ledgerd.runtime import Dependencies
from tests._ledger import ACCOUNTANT, BLUE_BOTTLE, small_ledger
from tests.conftest import record_history, running_worker
from workflows import HydrationRequest, VendorHydration


async def test_hydrates_a_messy_descriptor_and_links_its_transactions(
    time_skipping_env: WorkflowEnvironment, deps: Dependencies
) -> None:
    await small_ledger(deps.pool)
    async with running_worker(time_skipping_env) as queue:
        result = await time_skipping_env.client.execute_workflow(
            VendorHydration.run,
            HydrationRequest(tenant_id="acme", principal=ACCOUNTANT, descriptor=BLUE_BOTTLE),
            id="hydrate-blue-bottle",
            task_queue=queue,
        )
    await record_history(time_skipping_env, "hydrate-blue-bottle", "vendor_hydration_completed")
    assert result.outcome is Outcome.COMPLETED, result.reason
    record = VendorRecord.model_validate(result.answer)
    assert (record.canonical_name, record.domain, record.category, record.account_code) == (
        "Blue Bottle Coffee",
        "bluebottlecoffee.com",
        "meals",
        "6200",
    )
    assert record.linked_transactions == 3
    assert result.verdict is not None and result.verdict.passed
    async with deps.pool.connection() as conn:
        cursor = await conn.execute(
            "SELECT count(*) AS n FROM bank_transactions WHERE vendor_id = %s AND account_code = '6200'",
            (record.vendor_id,),
        )
        assert await cursor.fetchone() == {"n": 3}
        cursor = await conn.execute("SELECT kind FROM notification_outbox")
        assert [row["kind"] for row in await cursor.fetchall()] == ["vendor_hydration.completed"]


async def test_a_principal_of_another_tenant_is_refused_before_anything_runs(
    time_skipping_env: WorkflowEnvironment, deps: Dependencies
) -> None:
    request = {
        "tenant_id": "globex",
        "principal": ACCOUNTANT.model_dump(),
        "descriptor": BLUE_BOTTLE,
    }
    async with running_worker(time_skipping_env) as queue:
        with pytest.raises(WorkflowFailureError) as failure:
            await time_skipping_env.client.execute_workflow(
                "VendorHydration", request, id="hydrate-wrong-tenant", task_queue=queue
            )
    assert "belongs to tenant 'acme', not 'globex'" in str(failure.value.cause)


async def test_a_reused_workflow_id_starts_a_fresh_conversation(
    time_skipping_env: WorkflowEnvironment, deps: Dependencies
) -> None:
    """The same descriptor hydrated again (the same workflow id) must not inherit the first
    run's transcript or idempotency keys: it reads, writes and answers afresh."""
    await small_ledger(deps.pool)
    request = HydrationRequest(tenant_id="acme", principal=ACCOUNTANT, descriptor=BLUE_BOTTLE)
    async with running_worker(time_skipping_env) as queue:
        results = [
            await time_skipping_env.client.execute_workflow(
                VendorHydration.run, request, id="hydrate-twice", task_queue=queue
            )
            for _ in range(2)
        ]
    assert [r.outcome for r in results] == [Outcome.COMPLETED, Outcome.COMPLETED]
    assert [r.steps for r in results] == [results[0].steps] * 2
    async with deps.pool.connection() as conn:
        cursor = await conn.execute(
            "SELECT count(DISTINCT run_id) AS runs FROM transcript_entries WHERE thread = 'executor'"
        )
        assert await cursor.fetchone() == {"runs": 2}
