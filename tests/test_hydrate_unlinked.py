"""Batch hydration: one child per merchant of the unlinked transactions, all linked after."""

from __future__ import annotations

from temporalio.testing import WorkflowEnvironment

from ledgerd.runtime import Dependencies
from tests._ledger import ACCOUNTANT, small_ledger
from tests.conftest import record_history, running_worker
from workflows import BatchHydrationRequest, HydrateUnlinked


async def test_every_unlinked_merchant_gets_a_vendor(
    time_skipping_env: WorkflowEnvironment, deps: Dependencies
) -> None:
    await small_ledger(deps.pool)
    async with running_worker(time_skipping_env) as queue:
        result = await time_skipping_env.client.execute_workflow(
            HydrateUnlinked.run,
            BatchHydrationRequest(tenant_id="acme", principal=ACCOUNTANT, max_concurrency=1),
            id="hydrate-unlinked-acme",
            task_queue=queue,
        )
    await record_history(time_skipping_env, "hydrate-unlinked-acme", "hydrate_unlinked_completed")
    assert result.progress.merchants == 2
    assert result.progress.outcomes == {"completed": 2}
    assert result.progress.linked_transactions == 5
    async with deps.pool.connection() as conn:
        cursor = await conn.execute(
            """SELECT v.canonical_name, count(*) AS n FROM bank_transactions t
               JOIN vendors v ON v.id = t.vendor_id GROUP BY 1 ORDER BY 1"""
        )
        assert await cursor.fetchall() == [
            {"canonical_name": "Blue Bottle Coffee", "n": 3},
            {"canonical_name": "Uber", "n": 2},
        ]


async def test_a_merchant_of_a_known_vendor_is_linked_without_a_daemon(
    time_skipping_env: WorkflowEnvironment, deps: Dependencies
) -> None:
    """Issue 16: the tenant already has Uber, so only Blue Bottle costs a daemon run."""
    from accounting.vendors import VendorUpsert, upsert_vendor

    await small_ledger(deps.pool)
    uber = await upsert_vendor(
        deps.pool, ACCOUNTANT, VendorUpsert(canonical_name="Uber", domain="uber.com")
    )
    async with running_worker(time_skipping_env) as queue:
        result = await time_skipping_env.client.execute_workflow(
            HydrateUnlinked.run,
            BatchHydrationRequest(tenant_id="acme", principal=ACCOUNTANT, max_concurrency=1),
            id="hydrate-unlinked-acme-known",
            task_queue=queue,
        )
    assert result.progress.matched_known == 1
    assert result.progress.outcomes == {"completed": 1}
    assert list(result.known.values()) == ["Uber"]
    assert result.progress.linked_transactions == 5
    async with deps.pool.connection() as conn:
        cursor = await conn.execute(
            "SELECT count(*) AS n FROM bank_transactions WHERE vendor_id = %s", (uber.id,)
        )
        assert (await cursor.fetchone() or {})["n"] == 2
