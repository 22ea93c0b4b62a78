"""HydrateUnlinked: one VendorHydration child per merchant of a tenant's unlinked transactions,
a bounded number at a time, with progress visible while it runs."""

from __future__ import annotations

import asyncio
from collections import Counter
from datetime import timedelta

from pydantic import BaseModel, Field
from temporalio import workflow
from temporalio.exceptions import ApplicationError, ChildWorkflowError

with workflow.unsafe.imports_passed_through():
    from accounting.principals import Principal
    from activities.unlinked import MerchantGroup, UnlinkedRequest, find_unlinked_merchants
    from ledgerd import search_attributes as sa
    from ledgerd.contracts import DaemonResult, Outcome
    from workflows._principal import prove_principal
    from workflows.vendor_hydration import HydrationRequest, VendorHydration


class BatchHydrationRequest(BaseModel):
    tenant_id: str
    principal: Principal
    max_concurrency: int = Field(default=4, ge=1, le=50)
    max_merchants: int = Field(default=500, ge=1, le=5000)


class BatchProgress(BaseModel):
    merchants: int = 0
    finished: int = 0
    outcomes: dict[str, int] = Field(default_factory=dict)
    linked_transactions: int = 0


class BatchResult(BaseModel):
    progress: BatchProgress
    children: dict[str, str] = Field(description="Child workflow id → outcome.")


@workflow.defn(name="HydrateUnlinked")
class HydrateUnlinked:
    def __init__(self) -> None:
        self.progress = BatchProgress()

    @workflow.run
    async def run(self, request: BatchHydrationRequest) -> BatchResult:
        if request.principal.tenant_id != request.tenant_id:
            raise ApplicationError(
                f"principal {request.principal.id!r} does not belong to tenant {request.tenant_id!r}",
                non_retryable=True,
            )
        workflow.upsert_search_attributes(
            [sa.TENANT.value_set(request.tenant_id), sa.DAEMON.value_set("hydrate_unlinked")]
        )
        await prove_principal(request.principal, request.tenant_id, "workflow", "HydrateUnlinked")
        groups = await workflow.execute_activity(
            find_unlinked_merchants,
            UnlinkedRequest(principal=request.principal, max_groups=request.max_merchants),
            start_to_close_timeout=timedelta(minutes=5),
            heartbeat_timeout=timedelta(seconds=60),
            summary=f"find unlinked merchants of {request.tenant_id}",
        )
        self.progress.merchants = len(groups)
        gate = asyncio.Semaphore(request.max_concurrency)
        children: dict[str, str] = {}

        async def hydrate(group: MerchantGroup) -> None:
            async with gate:
                child = HydrationRequest(
                    tenant_id=request.tenant_id,
                    principal=request.principal,
                    transaction_ids=group.transaction_ids,
                )
                workflow_id = child.workflow_id()
                try:
                    result: DaemonResult = await workflow.execute_child_workflow(
                        VendorHydration.run,
                        child,
                        id=workflow_id,
                        static_summary=f"Hydrate vendor: {group.key}",
                    )
                    outcome = result.outcome.value
                    if result.answer:
                        self.progress.linked_transactions += int(
                            result.answer.get("linked_transactions", 0)
                        )
                except ChildWorkflowError:
                    outcome = Outcome.FAILED.value
                children[workflow_id] = outcome
                self.progress.finished += 1
                self.progress.outcomes = dict(Counter(children.values()))
                workflow.set_current_details(
                    f"{self.progress.finished}/{self.progress.merchants} merchants hydrated: "
                    f"{self.progress.outcomes}"
                )

        await asyncio.gather(*(hydrate(group) for group in groups))
        outcome = "completed" if set(children.values()) <= {"completed"} else "attention"
        workflow.upsert_search_attributes([sa.OUTCOME.value_set(outcome)])
        return BatchResult(progress=self.progress, children=children)

    @workflow.query
    def status(self) -> str:
        p = self.progress
        return f"{p.finished}/{p.merchants} merchants hydrated, {p.outcomes}"
