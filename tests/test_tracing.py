"""One daemon run emits the spans an engineer needs, and no message content."""

from __future__ import annotations

from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter
from temporalio.testing import WorkflowEnvironment

from ledgerd.contracts import Outcome
from ledgerd.runtime import Dependencies
from ledgerd.telemetry import configure_tracing
from tests._ledger import ACCOUNTANT, BLUE_BOTTLE, small_ledger
from tests.conftest import running_worker
from workflows import HydrationRequest, VendorHydration


async def test_a_run_traces_tools_model_calls_and_the_guardrail_verdict(
    time_skipping_env: WorkflowEnvironment, deps: Dependencies
) -> None:
    exported = InMemorySpanExporter()
    configure_tracing().add_span_processor(SimpleSpanProcessor(exported))
    await small_ledger(deps.pool)
    async with running_worker(time_skipping_env) as queue:
        result = await time_skipping_env.client.execute_workflow(
            VendorHydration.run,
            HydrationRequest(tenant_id="acme", principal=ACCOUNTANT, descriptor=BLUE_BOTTLE),
            id="traced-hydration",
            task_queue=queue,
        )
    assert result.outcome is Outcome.COMPLETED
    spans = exported.get_finished_spans()
    names = [span.name for span in spans]
    assert {"execute_tool search_vendors", "execute_tool upsert_vendor"} <= set(names)
    model_spans = [
        s for s in spans if (s.attributes or {}).get("gen_ai.provider.name") == "anthropic"
    ]
    assert len(model_spans) == result.model_calls
    verdicts = [e for s in spans for e in s.events if e.name == "gen_ai.evaluation.result"]
    assert [e.attributes["gen_ai.evaluation.score.label"] for e in verdicts] == ["pass"]  # type: ignore[index]
    # One trace from the workflow down to the tool spans.
    tool = next(s for s in spans if s.name == "execute_tool search_vendors")
    assert tool.parent is not None
    assert len({s.context.trace_id for s in spans if s.name.startswith("execute_tool")}) == 1
    # Message content is not captured unless switched on.
    everything = repr([(s.attributes, [e.attributes for e in s.events]) for s in spans])
    assert "BLUE BOTTLE" not in everything.upper()
