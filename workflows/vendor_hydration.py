"""VendorHydration: turn a raw bank descriptor (or some transactions) into an enriched vendor."""

from __future__ import annotations

import hashlib

from pydantic import BaseModel, Field, ValidationError, model_validator
from temporalio import workflow

with workflow.unsafe.imports_passed_through():
    from accounting.principals import Principal
    from ledgerd.contracts import Budget, DaemonResult
    from ledgerd.daemons import daemon_spec
    from ledgerd.injection import inline
    from workflows._daemon_loop import DaemonLoop
    from workflows._daemon_workflow import DaemonWorkflow


# Transactions one hydration names: their ids go into the model's task, and a merchant with
# more is hydrated from this many (the batch links the rest to the vendor found).
MAX_TRANSACTIONS = 500


class HydrationRequest(BaseModel):
    """Who asks (the runtime's principal, never the model's choice) and what to hydrate."""

    tenant_id: str
    principal: Principal
    descriptor: str | None = Field(default=None, min_length=2, max_length=200)
    transaction_ids: list[str] | None = Field(
        default=None, min_length=1, max_length=MAX_TRANSACTIONS
    )
    budget: Budget | None = None

    @model_validator(mode="after")
    def _one_subject_of_the_caller_tenant(self) -> HydrationRequest:
        if (self.descriptor is None) == (self.transaction_ids is None):
            raise ValueError("give exactly one of descriptor or transaction_ids")
        if self.principal.tenant_id != self.tenant_id:
            raise ValueError(
                f"principal {self.principal.id!r} belongs to tenant "
                f"{self.principal.tenant_id!r}, not {self.tenant_id!r}"
            )
        return self

    def workflow_id(self) -> str:
        """One id per tenant and subject: starting the same hydration twice while it runs is
        refused by Temporal instead of doing the work twice."""
        subject = self.descriptor or ",".join(sorted(self.transaction_ids or []))
        digest = hashlib.sha256(subject.encode()).hexdigest()[:12]
        return f"vendor-hydration-{self.tenant_id}-{digest}"

    def task(self) -> str:
        if self.descriptor is not None:
            # The descriptor is outside data (a bank, a merchant wrote it): marked as data.
            return (
                f"Hydrate the vendor behind the bank descriptor "
                f"{inline('bank descriptor', self.descriptor)} "
                f"for tenant {self.tenant_id!r}, and link its unlinked transactions."
            )
        ids = ", ".join(self.transaction_ids or [])
        return (
            f"Hydrate the vendor of these bank transactions of tenant {self.tenant_id!r} "
            f"(read them with list_transactions), and link them: {ids}"
        )


@workflow.defn(name="VendorHydration", failure_exception_types=[ValidationError])
class VendorHydration(DaemonWorkflow):
    @workflow.run
    async def run(self, request: HydrationRequest) -> DaemonResult:
        loop = DaemonLoop(daemon_spec("vendor_hydration"), request.principal, request.budget)
        return await self.run_loop(loop, request.task())
