"""Limits (issue 13, part 8): tokens that expire, are revoked or belong to a closed tenant stop
working; each principal and each tenant has a request rate (429 with Retry-After); bodies have
a size limit (413); budgets have ceilings, at the API (422) and for a run started through plain
Temporal (refused before any tool). The real app over ASGI, real PostgreSQL, Temporal's
time-skipping server with a real worker.
"""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator

import pytest
from temporalio.client import WorkflowFailureError
from temporalio.testing import WorkflowEnvironment

from ledgerd.contracts import Budget
from ledgerd.runtime import Dependencies
from standin import OfflineModelServer
from tests._ledger import ACCOUNTANT as ACME_ACCOUNTANT
from tests._ledger import BLUE_BOTTLE
from tests.conftest import running_worker
from tests.test_api import ACCOUNTANT, Api, auth, error_of, seed, serving
from workflows import HydrationRequest, VendorHydration

QUEUE = "test-api-limits-nobody-polls"


@pytest.fixture
async def limited(
    time_skipping_env: WorkflowEnvironment, deps: Dependencies, model_server: OfflineModelServer
) -> AsyncIterator[Api]:
    """The API with tight limits, on a queue nobody polls."""
    await seed(deps)
    async with serving(
        time_skipping_env,
        deps,
        model_server,
        QUEUE,
        rate_limit_per_principal=3,
        rate_limit_per_tenant=5,
        max_request_bytes=2048,
        max_budget_tokens=300_000,
    ) as served:
        yield served


async def test_expired_revoked_and_closed_tenant_tokens_stop_working(
    limited: Api, deps: Dependencies
) -> None:
    path = "/v1/approvals"
    assert (await limited.http.get(path, headers=auth("acme-owner"))).status_code == 200
    async with deps.pool.connection() as conn:
        await conn.execute(
            "UPDATE principals SET token_expires_at = now() - interval '1 second' "
            "WHERE id = 'acme-owner'"
        )
        await conn.execute("UPDATE principals SET revoked_at = now() WHERE id = 'acme-viewer'")
        await conn.execute("UPDATE tenants SET status = 'closed' WHERE id = 'globex'")
    for principal_id, reason in (
        ("acme-owner", "the token of 'acme-owner' has expired; ask for a new one"),
        ("acme-viewer", "the token of 'acme-viewer' was revoked; ask for a new one"),
        ("globex-accountant", "tenant 'globex' is closed; its tokens no longer work"),
    ):
        response = await limited.http.get(path, headers=auth(principal_id))
        assert response.status_code == 401, response.text
        assert error_of(response)["message"] == reason
    assert (await limited.http.get(path, headers=ACCOUNTANT)).status_code == 200


async def test_each_principal_and_each_tenant_is_rate_limited_with_retry_after(
    limited: Api,
) -> None:
    path = "/v1/approvals"
    for _ in range(3):
        assert (await limited.http.get(path, headers=ACCOUNTANT)).status_code == 200
    refused = await limited.http.get(path, headers=ACCOUNTANT)
    assert refused.status_code == 429, refused.text
    assert 1 <= int(refused.headers["retry-after"]) <= 60
    error = error_of(refused)
    assert error["type"] == "rate_limited"
    assert "3 requests per minute per principal" in error["message"]
    # Another principal of the tenant has its own allowance, until the tenant's is used up.
    owner = auth("acme-owner")
    assert (await limited.http.get(path, headers=owner)).status_code == 200
    tenant = await limited.http.get(path, headers=owner)
    assert tenant.status_code == 429 and "5 requests per minute per tenant" in tenant.text
    # Another tenant is not affected.
    assert (await limited.http.get(path, headers=auth("globex-accountant"))).status_code == 200


async def test_a_body_over_the_limit_is_413_and_starts_nothing(limited: Api) -> None:
    big = {"descriptor": BLUE_BOTTLE, "padding": "x" * 4096}
    declared = await limited.http.post("/v1/vendor-hydrations", json=big, headers=ACCOUNTANT)
    assert declared.status_code == 413, declared.text
    assert error_of(declared)["type"] == "payload_too_large"

    async def chunks() -> AsyncIterator[bytes]:  # no Content-Length: counted as it arrives
        for _ in range(8):
            yield b" " * 512

    streamed = await limited.http.post(
        "/v1/vendor-hydrations",
        content=chunks(),
        headers={**ACCOUNTANT, "content-type": "application/json"},
    )
    assert streamed.status_code == 413, streamed.text
    assert limited.starts.ids == []


async def test_a_budget_above_the_ceiling_is_422_naming_the_ceiling(limited: Api) -> None:
    response = await limited.http.post(
        "/v1/vendor-hydrations",
        json={"descriptor": BLUE_BOTTLE, "budget": {"max_tokens": 5_000_000}},
        headers=ACCOUNTANT,
    )
    assert response.status_code == 422, response.text
    [field] = error_of(response)["fields"]
    assert field["field"] == "budget.max_tokens"
    assert field["message"] == "5000000 is above the ceiling of 300000 (LEDGERD_MAX_BUDGET_TOKENS)"
    assert limited.starts.ids == []


async def test_a_run_started_through_temporal_with_a_budget_over_the_ceiling_runs_no_tool(
    time_skipping_env: WorkflowEnvironment, deps: Dependencies
) -> None:
    """The worker's ceilings (the default 3600 s) hold whoever starts the run."""
    await seed(deps)
    workflow_id = f"vendor-hydration-acme-{uuid.uuid4().hex[:8]}"
    async with running_worker(time_skipping_env) as queue:
        with pytest.raises(WorkflowFailureError) as failed:
            await time_skipping_env.client.execute_workflow(
                VendorHydration.run,
                HydrationRequest(
                    tenant_id="acme",
                    principal=ACME_ACCOUNTANT,
                    descriptor=BLUE_BOTTLE,
                    budget=Budget(max_seconds=86_400),
                ),
                id=workflow_id,
                task_queue=queue,
            )
    assert "max_seconds 86400 is above the ceiling of 3600" in str(failed.value.cause)
    async with deps.pool.connection() as conn:
        cursor = await conn.execute(
            "SELECT count(*) AS n FROM model_calls WHERE run_id LIKE %s", (f"{workflow_id}@%",)
        )
        assert (await cursor.fetchone() or {})["n"] == 0
