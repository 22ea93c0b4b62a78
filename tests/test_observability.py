"""Metrics, database spans, replay-safe spans and trace ids, through real daemon runs on
Temporal's time-skipping server, real PostgreSQL and the offline model."""

from __future__ import annotations

import asyncio
import uuid
from collections import Counter, defaultdict
from collections.abc import AsyncIterator, Iterator
from contextlib import asynccontextmanager
from datetime import timedelta
from typing import Any

import httpx
import pytest
from opentelemetry.sdk.metrics.export import InMemoryMetricReader
from opentelemetry.sdk.trace import ReadableSpan
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter
from temporalio import workflow
from temporalio.api.enums.v1 import EventType
from temporalio.client import Client
from temporalio.runtime import MetricBuffer, MetricBufferDurationFormat, Runtime, TelemetryConfig
from temporalio.testing import WorkflowEnvironment
from temporalio.worker import UnsandboxedWorkflowRunner, Worker

from ledgerd.config import Settings
from ledgerd.contracts import Outcome, Usage
from ledgerd.model_registry import estimate_cost
from ledgerd.runtime import Dependencies
from ledgerd.telemetry import configure_metrics, configure_tracing
from ledgerd.trace import load_trace, render_trace
from starter import start_vendor_hydration
from tests._ledger import ACCOUNTANT, BLUE_BOTTLE, small_ledger
from worker import running_workers
from workflows import HydrationRequest, VendorHydration
from workflows._metrics import record_approval_wait, record_outcome

MODELS = {"claude-opus-5-5", "claude-sonnet-5-5", "claude-haiku-5-5"}


@pytest.fixture
def metric_reader() -> Iterator[InMemoryMetricReader]:
    """A reader on the process's meter provider for this test only (cumulative from now)."""
    reader = InMemoryMetricReader()
    provider = configure_metrics()
    provider.add_metric_reader(reader)
    try:
        yield reader
    finally:
        provider.remove_metric_reader(reader)


@pytest.fixture
def spans() -> InMemorySpanExporter:
    exported = InMemorySpanExporter()
    configure_tracing().add_span_processor(SimpleSpanProcessor(exported))
    return exported


def points(reader: InMemoryMetricReader, name: str) -> list[tuple[dict[str, Any], Any]]:
    """(attributes, data point) of every point of the metric `name`."""
    found: list[tuple[dict[str, Any], Any]] = []
    data = reader.get_metrics_data()
    for resource in data.resource_metrics if data else []:
        for scope in resource.scope_metrics:
            for metric in scope.metrics:
                if metric.name == name:
                    found += [(dict(p.attributes or {}), p) for p in metric.data.data_points]
    return found


@asynccontextmanager
async def worker(
    env: WorkflowEnvironment, queue: str | None = None, **options: Any
) -> AsyncIterator[str]:
    """A worker with every activity (LedgerdPlugin brings the step-duration interceptor);
    yields its queue."""
    queue = queue or f"test-{uuid.uuid4()}"
    async with running_workers(env.client, task_queue=queue, **options):
        yield queue


async def hydrate(env: WorkflowEnvironment, queue: str, workflow_id: str) -> Any:
    return await env.client.execute_workflow(
        VendorHydration.run,
        HydrationRequest(tenant_id="acme", principal=ACCOUNTANT, descriptor=BLUE_BOTTLE),
        id=workflow_id,
        task_queue=queue,
    )


async def test_a_run_records_tokens_cost_latency_and_the_verdict(
    time_skipping_env: WorkflowEnvironment,
    deps: Dependencies,
    metric_reader: InMemoryMetricReader,
) -> None:
    await small_ledger(deps.pool)
    async with worker(time_skipping_env) as queue:
        result = await hydrate(time_skipping_env, queue, "metered-hydration")
    assert result.outcome is Outcome.COMPLETED

    # What the run's model calls used, as recorded in PostgreSQL, per model.
    async with deps.pool.connection() as conn:
        cursor = await conn.execute(
            "SELECT model, input_tokens, output_tokens, cache_read_tokens, "
            "cache_creation_tokens FROM model_calls"
        )
        rows = await cursor.fetchall()
    expected: dict[str, Usage] = {}
    for row in rows:
        u = expected.setdefault(row["model"], Usage())
        u.input_tokens += row["input_tokens"]
        u.output_tokens += row["output_tokens"]
        u.cache_read_tokens += row["cache_read_tokens"]
        u.cache_creation_tokens += row["cache_creation_tokens"]
    assert set(expected) == MODELS  # planner, executor and judge each made calls

    tokens: dict[tuple[str, str], int] = defaultdict(int)
    for attributes, point in points(metric_reader, "ledgerd.model.tokens"):
        tokens[(attributes["gen_ai.response.model"], attributes["ledgerd.token.type"])] += (
            point.value
        )
    for model, usage in expected.items():
        # The conversation is cached from its first turn, so a prompt may be all cache write.
        assert tokens[(model, "input")] == usage.input_tokens
        assert usage.input_tokens + usage.cache_read_tokens + usage.cache_creation_tokens > 0
        assert tokens[(model, "output")] == usage.output_tokens > 0
        assert tokens[(model, "cache_read")] == usage.cache_read_tokens
        assert tokens[(model, "cache_write")] == usage.cache_creation_tokens

    cost: dict[str, float] = defaultdict(float)
    for attributes, point in points(metric_reader, "ledgerd.model.cost"):
        cost[attributes["gen_ai.response.model"]] += point.value
    for model, usage in expected.items():
        priced, _ = estimate_cost(model, usage)
        assert cost[model] == pytest.approx(priced) and priced > 0

    calls = sum(p.count for _, p in points(metric_reader, "gen_ai.client.operation.duration"))
    assert calls == len(rows) == result.model_calls
    token_types = {a["gen_ai.token.type"] for a, _ in points(metric_reader, "gen_ai.client.token.usage")}  # fmt: skip
    assert token_types == {"input", "output"}

    verdicts = {
        a["gen_ai.evaluation.score.label"]: p.value
        for a, p in points(metric_reader, "ledgerd.guardrail.verdicts")
    }
    assert verdicts == {"pass": 1}

    tool_points = points(metric_reader, "ledgerd.tool.duration")
    assert sum(p.count for _, p in tool_points) == result.tool_calls > 0
    assert all(p.sum > 0 for _, p in tool_points)
    assert {a["ledgerd.daemon"] for a, _ in tool_points} == {"vendor_hydration"}

    steps: Counter[str] = Counter()
    for attributes, point in points(metric_reader, "ledgerd.step.duration"):
        steps[attributes["ledgerd.step"]] += point.count
    assert {"plan", "act", "tool", "respond", "guardrail", "notify"} <= set(steps)
    assert steps["tool"] == result.tool_calls

    # Bounded, content-free attributes only.
    every = [
        a
        for name in (
            "ledgerd.model.tokens",
            "ledgerd.model.cost",
            "ledgerd.tool.duration",
            "ledgerd.step.duration",
            "ledgerd.guardrail.verdicts",
        )
        for a, _ in points(metric_reader, name)
    ]
    keys = {k for a in every for k in a}
    assert keys <= {
        "gen_ai.operation.name",
        "gen_ai.provider.name",
        "gen_ai.response.model",
        "gen_ai.tool.name",
        "gen_ai.evaluation.score.label",
        "ledgerd.step",
        "ledgerd.daemon",
        "ledgerd.token.type",
        "ledgerd.tool.is_error",
        "error.type",
    }
    assert "BLUE BOTTLE" not in repr(every).upper()


def _db_spans(spans: list[ReadableSpan]) -> list[ReadableSpan]:
    return [
        s
        for s in spans
        if "postgresql" in {(s.attributes or {}).get(k) for k in ("db.system", "db.system.name")}
    ]


def _statement(span: ReadableSpan) -> str:
    attributes = span.attributes or {}
    return str(attributes.get("db.statement") or attributes.get("db.query.text") or "")


async def test_tool_queries_are_child_spans_of_the_tool_call_without_values(
    time_skipping_env: WorkflowEnvironment, deps: Dependencies, spans: InMemorySpanExporter
) -> None:
    await small_ledger(deps.pool)
    async with worker(time_skipping_env) as queue:
        result = await hydrate(time_skipping_env, queue, "db-traced-hydration")
    assert result.outcome is Outcome.COMPLETED
    finished = list(spans.get_finished_spans())
    tools = [s for s in finished if s.name.startswith("execute_tool ")]
    assert len(tools) == result.tool_calls
    db = _db_spans(finished)
    by_parent: dict[int, list[ReadableSpan]] = defaultdict(list)
    for span in db:
        if span.parent is not None:
            by_parent[span.parent.span_id].append(span)
    for tool in tools:
        children = by_parent[tool.context.span_id]
        assert children, f"{tool.name} has no PostgreSQL child span"
        assert all(c.context.trace_id == tool.context.trace_id for c in children)
    # The run's statements are parameterised: no tenant, principal or descriptor in them.
    in_run = [s for s in db if s.context.trace_id == tools[0].context.trace_id]
    assert any("%s" in _statement(s) or "%(" in _statement(s) for s in in_run)
    for span in in_run:
        text = _statement(span)
        assert text, span.name
        for value in ("'acme'", ACCOUNTANT.id, "BLUE BOTTLE", "Blue Bottle"):
            assert value not in text, text
        assert "db.statement.parameters" not in (span.attributes or {})


def _history_counts(events: list[Any]) -> tuple[Counter[str], Counter[str], set[str]]:
    """(scheduled activities by type, started attempts by type, workflow-task identities)."""
    scheduled: Counter[str] = Counter()
    types: dict[int, str] = {}
    attempts: Counter[str] = Counter()
    identities: set[str] = set()
    for event in events:
        if event.event_type == EventType.EVENT_TYPE_ACTIVITY_TASK_SCHEDULED:
            name = event.activity_task_scheduled_event_attributes.activity_type.name
            scheduled[name] += 1
            types[event.event_id] = name
        elif event.event_type == EventType.EVENT_TYPE_ACTIVITY_TASK_STARTED:
            started = event.activity_task_started_event_attributes
            attempts[types[started.scheduled_event_id]] += started.attempt
        elif event.event_type == EventType.EVENT_TYPE_WORKFLOW_TASK_STARTED:
            identities.add(event.workflow_task_started_event_attributes.identity)
    return scheduled, attempts, identities


async def _judge_request_in_flight(control: httpx.AsyncClient, judge_model: str) -> None:
    """Wait until the guardrail's judge call has reached the model and not been answered."""
    for _ in range(600):
        recorded = (await control.get("/_control/requests")).json()["requests"]
        if any(
            (r.get("body") or {}).get("model") == judge_model and r["status"] is None
            for r in recorded
        ):
            return
        await asyncio.sleep(0.05)
    raise AssertionError("the judge was never called")


async def test_a_worker_restart_mid_run_emits_every_span_once(
    time_skipping_env: WorkflowEnvironment,
    deps: Dependencies,
    model_control: httpx.AsyncClient,
    spans: InMemorySpanExporter,
) -> None:
    """Worker A runs the daemon up to its guardrail and is stopped while the judge answers
    (slowly); worker B, with nothing cached, replays the history and finishes the run. The
    replay must not emit the workflow's spans (StartActivity, …) a second time."""
    settings: Settings = deps.settings
    await small_ledger(deps.pool)
    slow_judge = {"kind": "latency", "latency_ms": 3000, "match_model": settings.judge_model}
    (await model_control.post("/_control/faults", json=[slow_judge])).raise_for_status()
    queue = f"test-{uuid.uuid4()}"
    handle = await time_skipping_env.client.start_workflow(
        VendorHydration.run,
        HydrationRequest(tenant_id="acme", principal=ACCOUNTANT, descriptor=BLUE_BOTTLE),
        id="restarted-hydration",
        task_queue=queue,
    )
    async with worker(
        time_skipping_env,
        queue,
        identity="worker-a",
        graceful_shutdown_timeout=timedelta(seconds=20),  # let the judge's activity finish
        # No sticky queue for B to wait out (the test server never moves a sticky task).
        max_cached_workflows=0,
    ):
        await _judge_request_in_flight(model_control, settings.judge_model)
    async with worker(time_skipping_env, queue, identity="worker-b"):
        result = await handle.result()
    assert result.outcome is Outcome.COMPLETED

    events = list((await handle.fetch_history()).events)
    scheduled, attempts, identities = _history_counts(events)
    assert {"worker-a", "worker-b"} <= identities  # B took over a run A had started
    assert attempts == scheduled  # every activity ran exactly once: no retry blurs the count

    finished = list(spans.get_finished_spans())
    run_trace = next(s.context.trace_id for s in finished if s.name.startswith("execute_tool "))
    in_run = [s for s in finished if s.context.trace_id == run_trace]
    ids = [s.context.span_id for s in in_run]
    assert len(ids) == len(set(ids))  # replay-safe ids: a re-emitted span would repeat its id
    names = Counter(s.name for s in in_run)
    for activity_type, count in scheduled.items():
        assert names[f"StartActivity:{activity_type}"] == count, activity_type
        assert names[f"RunActivity:{activity_type}"] == count, activity_type
    assert names["RunWorkflow:VendorHydration"] <= 1
    model_spans = [
        s for s in in_run if (s.attributes or {}).get("gen_ai.provider.name") == "anthropic"
    ]
    assert len(model_spans) == result.model_calls
    assert sum(n for name, n in names.items() if name.startswith("execute_tool ")) == (
        result.tool_calls
    )


async def test_the_run_carries_its_trace_id_in_the_memo_and_the_trace_prints_it(
    time_skipping_env: WorkflowEnvironment, deps: Dependencies, spans: InMemorySpanExporter
) -> None:
    await small_ledger(deps.pool)
    async with worker(time_skipping_env) as queue:
        handle = await start_vendor_hydration(
            time_skipping_env.client,
            principal=ACCOUNTANT,
            descriptor=BLUE_BOTTLE,
            workflow_id="trace-id-hydration",
            task_queue=queue,
        )
        assert (await handle.result()).outcome is Outcome.COMPLETED
        # Started without the starter (no memo): the id comes from the propagated context.
        plain = await time_skipping_env.client.start_workflow(
            VendorHydration.run,
            HydrationRequest(tenant_id="acme", principal=ACCOUNTANT, descriptor="GUSTO PAY 1"),
            id="plain-hydration",
            task_queue=queue,
        )
        await plain.result()

    memo = await (await handle.describe()).memo_value("trace_id")
    assert isinstance(memo, str) and len(memo) == 32
    finished = list(spans.get_finished_spans())
    start = next(s for s in finished if s.name == "start VendorHydration")
    assert format(start.context.trace_id, "032x") == memo
    tool_traces = {
        format(s.context.trace_id, "032x") for s in finished if s.name.startswith("execute_tool ")
    }
    assert memo in tool_traces  # the run's spans are in the trace the memo names

    async with deps.pool.connection() as conn:
        traced = await load_trace(time_skipping_env.client, conn, handle.id)
        untraced = await load_trace(time_skipping_env.client, conn, plain.id)
    assert traced.run.trace_id == memo
    assert f"trace     {memo}" in render_trace(traced)
    assert f'"trace_id":"{memo}"' in traced.model_dump_json()
    assert untraced.run.trace_id in tool_traces - {memo}


@workflow.defn(sandboxed=False)
class MeteredRun:
    """Records both workflow-side metrics once, around timers that end workflow tasks."""

    @workflow.run
    async def run(self) -> None:
        record_approval_wait(5400.0, "approve")
        for _ in range(3):
            await workflow.sleep(timedelta(milliseconds=50))
        record_outcome("vendor_hydration", "completed")


async def test_workflow_metrics_are_recorded_once_although_every_task_replays(
    time_skipping_env: WorkflowEnvironment,
) -> None:
    buffer = MetricBuffer(10_000, MetricBufferDurationFormat.SECONDS)
    runtime = Runtime(telemetry=TelemetryConfig(metrics=buffer))
    config = time_skipping_env.client.service_client.config
    client = await Client.connect(
        config.target_host, namespace=time_skipping_env.client.namespace, runtime=runtime
    )
    queue = f"test-{uuid.uuid4()}"
    async with Worker(
        client,
        task_queue=queue,
        workflows=[MeteredRun],
        workflow_runner=UnsandboxedWorkflowRunner(),
        max_cached_workflows=0,  # no cache: each workflow task replays the run from the start
    ):
        handle = await client.start_workflow(
            MeteredRun.run, id=f"metered-{queue}", task_queue=queue
        )
        await handle.result()
    tasks = [
        e
        for e in (await handle.fetch_history()).events
        if e.event_type == EventType.EVENT_TYPE_WORKFLOW_TASK_COMPLETED
    ]
    assert len(tasks) >= 4  # the first recording was replayed at least three times

    updates = [u for u in buffer.retrieve_updates() if u.metric.name.startswith("ledgerd.")]
    waits = [u for u in updates if u.metric.name == "ledgerd.approval.wait"]
    outcomes = [u for u in updates if u.metric.name == "ledgerd.daemon.outcomes"]
    assert [(u.value, u.attributes["ledgerd.approval.action"]) for u in waits] == [
        (5400.0, "approve")
    ]
    assert [
        (u.value, u.attributes["ledgerd.daemon"], u.attributes["ledgerd.outcome"]) for u in outcomes
    ] == [(1, "vendor_hydration", "completed")]
    assert outcomes[0].attributes["workflow_type"] == "MeteredRun"  # Temporal's own labels
