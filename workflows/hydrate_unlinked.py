"""HydrateUnlinked: one VendorHydration child per merchant of a tenant's unlinked transactions,
a bounded number at a time, with progress visible while it runs.

Each merchant is first matched, without a model, against the tenant's vendors as they are
when its turn comes (those created by earlier children of this batch included): a match is
linked at once, and only the merchants nobody knows yet cost a daemon run.

A merchant with more transactions than one hydration may name is hydrated from the first
`MAX_TRANSACTIONS` of them; the rest, which carry the same descriptor, are then linked to the
vendor that hydration found.
"""

from __future__ import annotations

import asyncio
from collections import Counter
from datetime import timedelta

from pydantic import BaseModel, Field
from temporalio import workflow
from temporalio.common import RetryPolicy
from temporalio.exceptions import ActivityError, ApplicationError, ChildWorkflowError

from workflows._keys import execution_key

with workflow.unsafe.imports_passed_through():
    from accounting.principals import Principal
    from activities.known_vendors import KnownVendorRequest, link_known_vendor
    from activities.unlinked import (
        MerchantGroup,
        MerchantRemainder,
        UnlinkedRequest,
        find_unlinked_merchants,
        link_merchant_remainder,
    )
    from ledgerd import search_attributes as sa
    from ledgerd.contracts import DaemonResult, Outcome
    from workflows._keys import execution_key
    from workflows._principal import prove_principal
    from workflows.vendor_hydration import MAX_TRANSACTIONS, HydrationRequest, VendorHydration

# A refusal by the platform (a foreign or vanished transaction) will not change on retry.
_LINK_RETRY = RetryPolicy(
    maximum_attempts=5, non_retryable_error_types=["AccessDenied", "NotFound", "InvalidRequest"]
)


class BatchHydrationRequest(BaseModel):
    tenant_id: str
    principal: Principal
    max_concurrency: int = Field(default=4, ge=1, le=50)
    max_merchants: int = Field(default=500, ge=1, le=5000)
    match_known_first: bool = Field(
        default=True,
        description="Link merchants whose descriptors name a known vendor without a daemon "
        "run (False: a daemon for every merchant, as before; for comparisons).",
    )


class BatchProgress(BaseModel):
    merchants: int = 0
    finished: int = 0
    outcomes: dict[str, int] = Field(default_factory=dict)
    linked_transactions: int = 0
    matched_known: int = Field(
        default=0, description="Merchants linked to a known vendor without a daemon run."
    )


class BatchResult(BaseModel):
    progress: BatchProgress
    children: dict[str, str] = Field(description="Child workflow id → outcome.")
    known: dict[str, str] = Field(
        default_factory=dict, description="Merchant key → the known vendor it was linked to."
    )


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
        known: dict[str, str] = {}
        # Histories recorded before the deterministic first try replay without it.
        match_first = workflow.patched("known-vendors-first") and request.match_known_first

        async def hydrate(group: MerchantGroup) -> None:
            async with gate:
                if match_first and await self._link_known(request, group, known):
                    return
                named = group.transaction_ids[:MAX_TRANSACTIONS]
                rest = group.transaction_ids[MAX_TRANSACTIONS:]
                child = HydrationRequest(
                    tenant_id=request.tenant_id,
                    principal=request.principal,
                    transaction_ids=named,
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
                    answer = result.answer or {}
                    self.progress.linked_transactions += int(answer.get("linked_transactions", 0))
                    if rest and result.outcome is Outcome.COMPLETED and answer.get("vendor_id"):
                        self.progress.linked_transactions += await workflow.execute_activity(
                            link_merchant_remainder,
                            MerchantRemainder(
                                principal=request.principal,
                                vendor_id=answer["vendor_id"],
                                transaction_ids=rest,
                                idempotency_key=f"{execution_key()}/{workflow_id}/remainder",
                            ),
                            start_to_close_timeout=timedelta(minutes=5),
                            retry_policy=_LINK_RETRY,
                            summary=f"link {len(rest)} more transactions of {group.key}",
                        )
                except (ChildWorkflowError, ActivityError):
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
        return BatchResult(progress=self.progress, children=children, known=known)

    async def _link_known(
        self, request: BatchHydrationRequest, group: MerchantGroup, known: dict[str, str]
    ) -> bool:
        """Link `group` to a vendor the tenant already has, if its descriptors name exactly
        one; True when linked."""
        link = await workflow.execute_activity(
            link_known_vendor,
            KnownVendorRequest(
                principal=request.principal,
                key=group.key,
                transaction_ids=group.transaction_ids,
                idempotency_key=f"{execution_key()}/known/{group.key}",
            ),
            start_to_close_timeout=timedelta(seconds=60),
            summary=f"known vendor? {group.key}"[:200],
        )
        if link.vendor_id is None:
            return False
        known[group.key] = link.canonical_name or link.vendor_id
        self.progress.matched_known += 1
        self.progress.linked_transactions += link.linked
        self.progress.finished += 1
        workflow.set_current_details(
            f"{self.progress.finished}/{self.progress.merchants} merchants done, "
            f"{self.progress.matched_known} matched to known vendors: {self.progress.outcomes}"
        )
        return True

    @workflow.query
    def status(self) -> str:
        p = self.progress
        return f"{p.finished}/{p.merchants} merchants hydrated, {p.outcomes}"
