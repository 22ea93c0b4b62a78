"""`ledgerd trace`: decision traces built from real runs (time-skipping Temporal, real
PostgreSQL, the real anthropic SDK against the offline stand-in)."""

from __future__ import annotations

import asyncio
from collections.abc import Sequence
from typing import Any, cast

import httpx
import pytest
from temporalio.api.enums.v1 import EventType
from temporalio.api.history.v1 import HistoryEvent, WorkflowExecutionContinuedAsNewEventAttributes
from temporalio.client import Client, WorkflowFailureError, WorkflowHistory
from temporalio.testing import WorkflowEnvironment
from typer.testing import CliRunner

from ledgerd.cli import app
from ledgerd.contracts import Budget, Usage
from ledgerd.runtime import Dependencies
from ledgerd.trace import (
    DecisionTrace,
    build_trace,
    decode_history,
    fetch_history_chain,
    load_trace,
    render_trace,
)
from ledgerd.trace._load import fetch_rows
from tests._ledger import ACCOUNTANT, BLUE_BOTTLE, small_ledger
from tests._scripted_model import ExecutorScript, calls, scripted_deps
from tests.conftest import running_worker
from tests.test_daemon_loop import GOOD_UPSERT, LOOKUPS, answer
from workflows import HydrationRequest, VendorHydration

TOOLS_IN_ORDER = [
    "search_vendors",
    "lookup_company",
    "list_accounts",
    "upsert_vendor",
    "list_transactions",
    "link_transactions",
]


async def hydrate(
    env: WorkflowEnvironment, deps: Dependencies, workflow_id: str, budget: Budget | None = None
) -> None:
    await small_ledger(deps.pool)
    async with running_worker(env) as queue:
        await env.client.execute_workflow(
            VendorHydration.run,
            HydrationRequest(
                tenant_id="acme", principal=ACCOUNTANT, descriptor=BLUE_BOTTLE, budget=budget
            ),
            id=workflow_id,
            task_queue=queue,
        )


async def traced(env: WorkflowEnvironment, deps: Dependencies, workflow_id: str) -> DecisionTrace:
    async with deps.pool.connection() as conn:
        return await load_trace(env.client, conn, workflow_id, temporal_ui="http://ui/x")


async def model_call_rows(deps: Dependencies, workflow_id: str) -> list[dict[str, Any]]:
    async with deps.pool.connection() as conn:
        cursor = await conn.execute(
            "SELECT * FROM model_calls WHERE split_part(run_id, '@', 1) = %s", (workflow_id,)
        )
        return await cursor.fetchall()


def first_scheduled(events: Sequence[HistoryEvent], activity: str) -> int:
    return next(
        i
        for i, e in enumerate(events)
        if e.event_type == EventType.EVENT_TYPE_ACTIVITY_TASK_SCHEDULED
        and e.activity_task_scheduled_event_attributes.activity_type.name == activity
    )


def summed(rows: Sequence[dict[str, Any]]) -> Usage:
    return Usage(
        input_tokens=sum(r["input_tokens"] for r in rows),
        output_tokens=sum(r["output_tokens"] for r in rows),
        cache_read_tokens=sum(r["cache_read_tokens"] for r in rows),
        cache_creation_tokens=sum(r["cache_creation_tokens"] for r in rows),
    )


async def test_the_trace_of_a_completed_hydration_shows_every_decision(
    time_skipping_env: WorkflowEnvironment, deps: Dependencies
) -> None:
    await hydrate(time_skipping_env, deps, "trace-blue-bottle")
    trace = await traced(time_skipping_env, deps, "trace-blue-bottle")
    print("\n" + render_trace(trace))

    run = trace.run
    assert (run.workflow_id, run.workflow_type, run.status) == (
        "trace-blue-bottle",
        "VendorHydration",
        "COMPLETED",
    )
    assert (run.tenant, run.daemon, run.outcome) == ("acme", "vendor_hydration", "completed")
    assert run.reason == "answer passed the guardrail" and len(run.run_ids) == 1
    assert run.started_at is not None and run.closed_at is not None

    assert trace.plan is not None and (trace.plan.source, trace.plan.accepted) == ("history", True)
    plan = {s.id: (s.tools, s.depends_on) for s in trace.plan.steps}
    assert plan["lookup"] == (["search_vendors", "lookup_company"], [])
    assert plan["upsert"] == (["upsert_vendor"], ["lookup", "accounts"])
    assert [c.role for c in trace.plan.model_calls] == ["planner"]

    tools = [t for s in trace.steps for t in s.tool_calls]
    assert [t.name for t in tools] == TOOLS_IN_ORDER
    assert tools[0].arguments == {"text": BLUE_BOTTLE}
    assert tools[1].arguments == {"query": BLUE_BOTTLE}
    assert tools[2].arguments == {}
    assert tools[3].arguments["domain"] == "bluebottlecoffee.com"
    assert tools[5].summary is not None and tools[5].summary.endswith("linked=3")
    assert all(t.is_error is False and t.timing.duration_ms is not None for t in tools)

    assert [s.number for s in trace.steps] == [1, 2, 3, 4, 5]
    for step in trace.steps:
        assert step.label == f"act: step {step.number}"
        assert step.model_call is not None and step.model_call.source == "model_calls"
        assert step.model_call.model == "claude-sonnet-5-5" and step.model_call.prompt_version
        assert step.model_call.latency_ms is not None

    last = trace.steps[-1]
    assert last.answer is not None and last.answer.valid is True
    assert last.answer.arguments["canonical_name"] == "Blue Bottle Coffee"
    guard = last.guardrail
    assert guard is not None and guard.passed is True and guard.judge_passed is True
    assert {c.name for c in guard.checks} >= {"domain_plausible", "account_matches_category"}
    assert all(c.passed and c.reason for c in guard.checks)
    assert guard.judge_reasons and guard.judge_call is not None
    assert guard.judge_call.model == "claude-haiku-5-5"

    [note] = trace.notifications
    assert (note.kind, note.severity, note.queued) == ("vendor_hydration.completed", "info", True)
    assert note.outbox_id is not None and note.body == {"steps": 5, "tool_calls": 6}

    rows = await model_call_rows(deps, "trace-blue-bottle")
    totals = trace.totals
    assert totals.tokens == summed(rows)
    assert (totals.model_calls, totals.steps, totals.tool_calls, totals.tool_errors) == (
        len(rows),
        5,
        6,
        0,
    )
    assert totals.estimated_cost_usd > 0 and not totals.unpriced_models
    assert trace.other_model_calls == [] and trace.notes == []

    assert DecisionTrace.model_validate_json(trace.model_dump_json()) == trace
    text = render_trace(trace)
    for expected in ("status    COMPLETED", "guardrail PASSED", "ESTIMATE", "http://ui/x"):
        assert expected in text


async def test_a_partial_history_traces_as_a_running_run(
    time_skipping_env: WorkflowEnvironment, deps: Dependencies
) -> None:
    await hydrate(time_skipping_env, deps, "trace-partial")
    history = await time_skipping_env.client.get_workflow_handle("trace-partial").fetch_history()
    events = list(history.events)
    # Payloads are encrypted in history; the trace reads them through the client's codec.
    await decode_history(events, time_skipping_env.client.data_converter)
    cut = first_scheduled(events, "guardrail")
    async with deps.pool.connection() as conn:
        rows = await fetch_rows(conn, "trace-partial")
    trace = build_trace(events[: cut + 1], *rows)

    assert trace.run.status == "RUNNING" and trace.run.closed_at is None
    assert trace.run.outcome is None and trace.run.workflow_id == "trace-partial"
    guard = trace.steps[-1].guardrail
    assert guard is not None and guard.passed is None and guard.timing.status == "pending"
    assert "the run is still running: this is the history so far" in trace.notes
    # The judge already wrote its row, and the outbox row exists: both still show.
    assert guard.judge_call is not None and len(trace.notifications) == 1
    assert "pending…" in render_trace(trace)


async def test_a_budget_exhausted_run_is_traced_with_its_outcome(
    time_skipping_env: WorkflowEnvironment, pg_url: str
) -> None:
    script = ExecutorScript([calls(("list_accounts", {}))])  # never answers
    async with scripted_deps(pg_url, script) as deps:
        await hydrate(time_skipping_env, deps, "trace-budget", Budget(max_steps=3))
        trace = await traced(time_skipping_env, deps, "trace-budget")
        rows = await model_call_rows(deps, "trace-budget")

    assert (trace.run.status, trace.run.outcome) == ("COMPLETED", "budget_exhausted")
    assert trace.run.reason == "step budget of 3 used up"
    assert [[t.name for t in s.tool_calls] for s in trace.steps] == [["list_accounts"]] * 3
    assert all(s.answer is None and s.guardrail is None for s in trace.steps)
    [note] = trace.notifications
    assert (note.kind, note.severity) == ("vendor_hydration.budget_exhausted", "failure")
    assert trace.totals.tokens == summed(rows) and trace.totals.model_calls == len(rows) == 4
    text = render_trace(trace)
    assert "outcome   budget_exhausted" in text and "step budget of 3 used up" in text


async def test_a_guardrail_rejection_shows_the_failed_checks_and_the_revision(
    time_skipping_env: WorkflowEnvironment, pg_url: str
) -> None:
    unsupported = lambda r: answer(r, domain="bluebottle.example")  # noqa: E731
    script = ExecutorScript([LOOKUPS, calls(GOOD_UPSERT), unsupported])
    async with scripted_deps(pg_url, script) as deps:
        await hydrate(time_skipping_env, deps, "trace-escalate")
        trace = await traced(time_skipping_env, deps, "trace-escalate")
        rows = await model_call_rows(deps, "trace-escalate")

    assert trace.run.outcome == "escalated"
    reviewed = [s for s in trace.steps if s.guardrail is not None]
    assert len(reviewed) == 2
    for step in reviewed:
        assert step.guardrail is not None and step.guardrail.passed is False
        failed = {c.name: c.reason for c in step.guardrail.checks if not c.passed}
        assert "no tool returned the domain 'bluebottle.example'" in failed["domain_plausible"]
        assert step.guardrail.judge_call is not None
    first = reviewed[0]
    assert [(m.kind, m.summary) for m in first.messages] == [
        ("revise", "revise: guardrail feedback")
    ]
    assert trace.notifications[0].severity == "attention"
    assert trace.totals.tokens == summed(rows) and trace.totals.model_calls == len(rows) == 7
    text = render_trace(trace)
    assert "guardrail FAILED" in text and "✗ FAIL domain_plausible" in text


async def test_a_failed_model_call_shows_its_retries_and_the_failure(
    time_skipping_env: WorkflowEnvironment, deps: Dependencies, model_control: httpx.AsyncClient
) -> None:
    faults = [
        {"kind": "error", "status": 500, "match_model": "claude-opus-5-5"},  # retried
        {"kind": "spend_limit", "match_model": "claude-sonnet-5-5"},  # not retryable
    ]
    (await model_control.post("/_control/faults", json=faults)).raise_for_status()
    await hydrate(time_skipping_env, deps, "trace-failed")
    trace = await traced(time_skipping_env, deps, "trace-failed")
    text = render_trace(trace)
    print("\n" + text)

    assert (trace.run.status, trace.run.outcome) == ("COMPLETED", "failed")
    assert trace.run.reason is not None and trace.run.reason.startswith("model_turn failed")
    assert trace.plan is not None and trace.plan.timing is not None
    assert trace.plan.timing.attempts == 2
    [step] = trace.steps
    assert step.timing.status == "failed" and step.model_call is None
    assert step.timing.failure is not None and "HTTP 429" in step.timing.failure
    [note] = trace.notifications
    assert (note.kind, note.severity) == ("vendor_hydration.failed", "failure")
    assert "FAILED after" in text and "(2 attempts)" in text and "failure   model call" in text


async def test_a_failed_workflow_is_traced_with_its_failure(
    time_skipping_env: WorkflowEnvironment, deps: Dependencies
) -> None:
    request = {"tenant_id": "globex", "principal": ACCOUNTANT.model_dump(), "descriptor": "X Y"}
    async with running_worker(time_skipping_env) as queue:
        with pytest.raises(WorkflowFailureError):
            await time_skipping_env.client.execute_workflow(
                "VendorHydration", request, id="trace-refused", task_queue=queue
            )
    trace = await traced(time_skipping_env, deps, "trace-refused")
    assert trace.run.status == "FAILED" and trace.run.outcome is None
    assert trace.run.reason is not None and "not 'globex'" in trace.run.reason
    assert trace.steps == [] and trace.plan is None and trace.totals.model_calls == 0
    assert "status    FAILED" in render_trace(trace)


class _ChainClient:
    """Serves a continue-as-new chain: the first run's history, then the next run's."""

    def __init__(self, runs: dict[str | None, list[HistoryEvent]]) -> None:
        self.runs = runs
        self.asked: list[str | None] = []

    def get_workflow_handle(self, workflow_id: str, *, run_id: str | None = None) -> _ChainClient:
        self.asked.append(run_id)
        self.workflow_id = workflow_id
        return self

    async def fetch_history(self) -> WorkflowHistory:
        return WorkflowHistory(self.workflow_id, self.runs[self.asked[-1]])


async def test_a_continued_as_new_run_is_followed_to_the_next_run(
    time_skipping_env: WorkflowEnvironment, deps: Dependencies
) -> None:
    await hydrate(time_skipping_env, deps, "trace-chain")
    full = list(
        (await time_skipping_env.client.get_workflow_handle("trace-chain").fetch_history()).events
    )
    first_step = first_scheduled(full, "call_tool")
    continued = HistoryEvent(
        event_id=full[first_step].event_id + 1,
        event_type=EventType.EVENT_TYPE_WORKFLOW_EXECUTION_CONTINUED_AS_NEW,
        workflow_execution_continued_as_new_event_attributes=WorkflowExecutionContinuedAsNewEventAttributes(
            new_execution_run_id="run-2"
        ),
    )
    continued.event_time.CopyFrom(full[first_step].event_time)
    client = _ChainClient({None: [*full[: first_step + 1], continued], "run-2": full})

    events = await fetch_history_chain(cast(Client, client), "trace-chain")
    assert client.asked == [None, "run-2"]
    await decode_history(events, time_skipping_env.client.data_converter)
    trace = build_trace(events, [], [], [])
    assert trace.run.status == "COMPLETED" and len(trace.run.run_ids) == 2
    # The first run's pending tool call, then all six of the second run.
    assert [t.name for s in trace.steps for t in s.tool_calls] == [
        "search_vendors",
        *TOOLS_IN_ORDER,
    ]


async def test_the_cli_prints_the_trace_as_json(
    time_skipping_env: WorkflowEnvironment, deps: Dependencies
) -> None:
    await hydrate(time_skipping_env, deps, "trace-cli")
    env = {
        "TEMPORAL_ADDRESS": time_skipping_env.client.service_client.config.target_host,
        "DATABASE_URL": deps.settings.effective_database_url,
    }
    runner = CliRunner()
    result = await asyncio.to_thread(runner.invoke, app, ["trace", "trace-cli", "--json"], env=env)
    assert result.exit_code == 0, result.output
    trace = DecisionTrace.model_validate_json(result.stdout)
    assert trace.run.outcome == "completed" and trace.totals.tool_calls == 6

    text = await asyncio.to_thread(runner.invoke, app, ["trace", "trace-cli"], env=env)
    assert text.exit_code == 0 and "STEP 5  act: step 5" in text.stdout
    missing = await asyncio.to_thread(runner.invoke, app, ["trace", "no-such-run"], env=env)
    assert missing.exit_code == 2 and "no workflow 'no-such-run'" in missing.output


async def test_a_workflow_with_several_loops_keeps_each_conversation_apart(
    time_skipping_env: WorkflowEnvironment, deps: Dependencies
) -> None:
    """Client onboarding: its own activities, a mapping loop per revision (each with its own
    transcript run id), and the accountant's decisions by update."""
    from ledgerd.onboarding import Action
    from starter import start_client_onboarding
    from tests._onboarding import ACCOUNTANT as INITECH_ACCOUNTANT
    from tests._onboarding import OWNER, decide, initech, onboarding_request
    from tests.test_client_onboarding import pending

    await initech(deps.pool)
    async with running_worker(time_skipping_env) as queue:
        handle = await start_client_onboarding(
            time_skipping_env.client,
            # Both are asked from the start: only those asked may decide.
            onboarding_request(top_vendors=0, approvers=[INITECH_ACCOUNTANT.id, OWNER.id]),
            task_queue=queue,
        )
        first = await pending(handle)
        await decide(
            time_skipping_env, handle.id, approver=OWNER, action=Action.REJECT, comments="-"
        )
        await pending(handle, other_than=first.approval_id)
        await decide(time_skipping_env, handle.id, approver=OWNER, action=Action.APPROVE)
        await handle.result()
    trace = await traced(time_skipping_env, deps, handle.id)
    async with deps.pool.connection() as conn:
        cursor = await conn.execute(
            "SELECT * FROM model_calls WHERE run_id LIKE %s", (f"{handle.id}@%/%",)
        )
        rows = await cursor.fetchall()

    key = trace.plans[0].conversation.partition("/")[0]
    assert key.startswith(f"{handle.id}@")
    loops = [f"{key}/mapping-0", f"{key}/mapping-1"]
    assert [p.conversation for p in trace.plans] == loops
    assert {s.conversation for s in trace.steps} == set(loops)
    assert all(s.model_call is not None for s in trace.steps)
    assert trace.totals.tokens == summed(rows) and trace.totals.model_calls == len(rows)
    others = [(o.kind, o.name) for o in trace.others]
    # The run proves its principal before anything else, then stages the chart; the profile
    # waits in the request until approval, so nothing saves it up front.
    assert others[:2] == [("activity", "verify_principal"), ("activity", "import_chart")]
    assert ("activity", "save_client_profile") not in others
    assert others.count(("update", "decide")) == 2
    assert trace.other_model_calls == [] and trace.run.status == "COMPLETED"
    assert f"PLAN  [{loops[1]}]" in render_trace(trace)
