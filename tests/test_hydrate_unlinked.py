"""Batch hydration: one child per merchant of the unlinked transactions, all linked after."""

from __future__ import annotations

import datetime as dt
import uuid

import pytest
from temporalio.client import WorkflowFailureError
from temporalio.testing import WorkflowEnvironment

from ledgerd.runtime import Dependencies
from tests._ledger import ACCOUNTANT, BLUE_BOTTLE, small_ledger
from tests.conftest import record_history, running_worker
from workflows import BatchHydrationRequest, HydrateUnlinked
from workflows.vendor_hydration import MAX_TRANSACTIONS


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


async def test_a_merchant_with_more_transactions_than_one_hydration_names_is_hydrated_whole(
    time_skipping_env: WorkflowEnvironment, deps: Dependencies
) -> None:
    await small_ledger(deps.pool)  # 3 Blue Bottle and 2 Uber transactions
    extra = MAX_TRANSACTIONS + 17
    async with deps.pool.connection() as conn, conn.transaction():
        for n in range(extra):
            await conn.execute(
                "INSERT INTO bank_transactions (id, tenant_id, bank_account, posted_date, "
                "raw_descriptor, amount, currency) "
                "VALUES (%s, 'acme', 'checking', %s, %s, -5.75, 'USD')",
                (f"acme-bb{n:04d}", dt.date(2025, 5, 1) + dt.timedelta(days=n % 200), BLUE_BOTTLE),
            )
    async with running_worker(time_skipping_env) as queue:
        result = await time_skipping_env.client.execute_workflow(
            HydrateUnlinked.run,
            BatchHydrationRequest(tenant_id="acme", principal=ACCOUNTANT, max_concurrency=2),
            id=f"hydrate-unlinked-big-{uuid.uuid4()}",
            task_queue=queue,
        )
    assert result.progress.outcomes == {"completed": 2}
    assert result.progress.linked_transactions == extra + 5
    async with deps.pool.connection() as conn:
        cursor = await conn.execute(
            """SELECT v.canonical_name, count(t.id) AS n FROM vendors v
               LEFT JOIN bank_transactions t ON t.vendor_id = v.id GROUP BY 1 ORDER BY 1"""
        )
        assert await cursor.fetchall() == [
            {"canonical_name": "Blue Bottle Coffee", "n": extra + 3},
            {"canonical_name": "Uber", "n": 2},
        ]
        cursor = await conn.execute(
            "SELECT count(*) AS n FROM bank_transactions WHERE vendor_id IS NULL"
        )
        assert await cursor.fetchone() == {"n": 0}


async def test_a_bad_input_fails_the_batch_instead_of_wedging_it(
    time_skipping_env: WorkflowEnvironment, deps: Dependencies
) -> None:
    # Started by type name with raw JSON, as the `temporal` CLI or another service would:
    # the request only fails validation inside the worker, where it is not a declared
    # failure of HydrateUnlinked. It used to fail the workflow task, retried forever.
    async with running_worker(time_skipping_env) as queue:
        handle = await time_skipping_env.client.start_workflow(
            "HydrateUnlinked",
            {
                "tenant_id": "acme",
                "principal": ACCOUNTANT.model_dump(mode="json"),
                "max_concurrency": 0,
            },
            id=f"hydrate-unlinked-bad-{uuid.uuid4()}",
            task_queue=queue,
        )
        with pytest.raises(WorkflowFailureError) as failed:
            await handle.result()
    assert "max_concurrency" in str(failed.value.cause)
