"""Start vendor hydration from a service: validated here, so a bad request starts nothing."""

from __future__ import annotations

from temporalio.client import Client, WorkflowHandle

from accounting.principals import Principal
from ledgerd.config import get_settings
from ledgerd.contracts import Budget, DaemonResult
from starter._client import daemon_attributes, traced_start
from starter._idempotency import key_digest, start_once
from workflows.hydrate_unlinked import BatchHydrationRequest, BatchResult, HydrateUnlinked
from workflows.vendor_hydration import HydrationRequest, VendorHydration


def hydration_workflow_id(request: HydrationRequest) -> str:
    """The id a hydration of this subject runs under (`HydrationRequest.workflow_id`)."""
    return request.workflow_id()


async def start_vendor_hydration(
    client: Client,
    *,
    principal: Principal,
    descriptor: str | None = None,
    transaction_ids: list[str] | None = None,
    budget: Budget | None = None,
    workflow_id: str | None = None,
    task_queue: str | None = None,
    idempotency_key: str | None = None,
) -> WorkflowHandle[VendorHydration, DaemonResult]:
    """Start hydrating one vendor as `principal`; returns the handle to follow or await it.
    With `idempotency_key`, a repeat of the same start returns the run it started (see
    `starter._idempotency`), even after that run has finished.

    Raises `pydantic.ValidationError` naming what is wrong before anything is started.
    """
    request = HydrationRequest(
        tenant_id=principal.tenant_id,
        principal=principal,
        descriptor=descriptor,
        transaction_ids=transaction_ids,
        budget=budget,
    )
    return await start_once(
        client,
        VendorHydration.run,
        request,
        id=workflow_id or hydration_workflow_id(request),
        what="VendorHydration",
        digest=key_digest(principal, idempotency_key) if idempotency_key else None,
        task_queue=task_queue or get_settings().task_queue,
        search_attributes=daemon_attributes(request.tenant_id, "vendor_hydration"),
        static_summary="Hydrate vendor: "
        + (descriptor or f"{len(transaction_ids or [])} transactions"),
    )


async def start_batch_hydration(
    client: Client,
    *,
    principal: Principal,
    max_concurrency: int = 4,
    task_queue: str | None = None,
) -> WorkflowHandle[HydrateUnlinked, BatchResult]:
    """Hydrate every merchant of the tenant's unlinked transactions, `max_concurrency` at once."""
    request = BatchHydrationRequest(
        tenant_id=principal.tenant_id, principal=principal, max_concurrency=max_concurrency
    )
    with traced_start("HydrateUnlinked") as memo:
        return await client.start_workflow(
            HydrateUnlinked.run,
            request,
            id=f"hydrate-unlinked-{principal.tenant_id}",
            task_queue=task_queue or get_settings().task_queue,
            search_attributes=daemon_attributes(principal.tenant_id, "hydrate_unlinked"),
            memo=memo,
            static_summary=f"Hydrate every unlinked merchant of {principal.tenant_id}",
        )
