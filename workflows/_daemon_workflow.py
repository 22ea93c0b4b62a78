"""The shape of a workflow that runs one daemon loop: tag the run, run the loop, tag the
outcome, let in-flight handlers finish. VendorHydration and LedgerQuestion are this plus
their request; the base also brings the `status` query and the `feedback` Update."""

from __future__ import annotations

from temporalio import workflow

with workflow.unsafe.imports_passed_through():
    from ledgerd import search_attributes as sa
    from ledgerd.contracts import DaemonResult
    from workflows._daemon_loop import DaemonLoop
    from workflows._feedback import FeedbackOnTheLoop
    from workflows._principal import prove_principal


class DaemonWorkflow(FeedbackOnTheLoop):
    def __init__(self) -> None:
        self.loop: DaemonLoop | None = None

    async def run_loop(self, loop: DaemonLoop, task: str) -> DaemonResult:
        workflow.upsert_search_attributes(
            [
                sa.TENANT.value_set(loop.principal.tenant_id),
                sa.DAEMON.value_set(loop.spec.kind),
            ]
        )
        await prove_principal(
            loop.principal,
            loop.principal.tenant_id,
            "workflow",
            workflow.info().workflow_type,
            loop.budget,
        )
        self.loop = loop
        result = await loop.run(task)
        workflow.upsert_search_attributes([sa.OUTCOME.value_set(result.outcome.value)])
        # An accepted feedback Update finishes its activity before the run closes.
        await workflow.wait_condition(workflow.all_handlers_finished)
        return result

    @workflow.query
    def status(self) -> str:
        return self.loop.status if self.loop else "starting"
