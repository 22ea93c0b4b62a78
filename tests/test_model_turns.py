"""Runs that survive retries and odd replies (issue 11), each forced through the stand-in.

The stand-in refuses, as the real API does, a request that ends with an assistant turn, a
`tool_use` without its `tool_result`, and a thinking block sent back after its conversation
changed; so every run here that completes proves the conversation stayed valid.
"""

from __future__ import annotations

import dataclasses
from typing import Any

import httpx
import pytest
from temporalio.testing import ActivityEnvironment, WorkflowEnvironment

from activities.model_turn import CUT_OFF, model_turn
from activities.planning import plan
from ledgerd import transcript
from ledgerd.config import load_settings
from ledgerd.contracts import ModelTurnRequest, Outcome, PlanRequest, Role, RunRef
from ledgerd.runtime import Dependencies, open_dependencies
from standin import (
    MessagesRequest,
    OfflineModelConfig,
    OfflineModelServer,
    PolicyReply,
    ReplyText,
    ReplyToolUse,
)
from standin._policy import user_text
from standin.scenarios._conversation import prompt_header
from tests._scripted_model import ExecutorScript, RoleScript, calls, scripted_deps
from tests.test_daemon_loop import GOOD_UPSERT, LOOKUPS, answer, hydrate, outbox, tool_errors
from tests.test_plan_execution import PASSING_JUDGE, answering, ask, step, vendor_of

EXECUTOR = "claude-sonnet-5-5"
JUDGE = "claude-haiku-5-5"


async def vendors_named(deps: Dependencies, name: str) -> int:
    async with deps.pool.connection() as conn:
        cursor = await conn.execute(
            "SELECT count(*) AS n FROM vendors WHERE canonical_name = %s", (name,)
        )
        row = await cursor.fetchone()
    assert row is not None
    return int(row["n"])


async def test_a_refusal_ends_the_run_as_refused_and_tells_the_team(
    time_skipping_env: WorkflowEnvironment, pg_url: str
) -> None:
    refusal = {"kind": "refusal", "match_model": EXECUTOR, "refusal_category": "bio"}
    async with scripted_deps(pg_url, ExecutorScript([LOOKUPS]), faults=[refusal]) as deps:
        result = await hydrate(time_skipping_env, deps, "refused")
        notified = await outbox(deps)
    assert result.outcome is Outcome.REFUSED
    assert result.reason == "the model declined (category bio)"
    assert result.tool_calls == 0 and result.model_calls == 2  # the plan, then the refusal
    assert ("vendor_hydration.refused", "attention") in notified


async def test_a_reply_cut_off_at_max_tokens_runs_no_tool(
    time_skipping_env: WorkflowEnvironment, pg_url: str
) -> None:
    # The second executor reply (the upsert) is cut mid-call: nothing may reach the books
    # until the model asks again, briefly.
    script = ExecutorScript([LOOKUPS, calls(GOOD_UPSERT), calls(GOOD_UPSERT), answer])
    cut = {"kind": "truncate", "match_model": EXECUTOR, "after": 1}
    async with scripted_deps(pg_url, script, faults=[cut]) as deps:
        result = await hydrate(time_skipping_env, deps, "cut-off")
        assert await vendors_named(deps, "Blue Bottle Coffee") == 1
        assert CUT_OFF in await tool_errors(deps)
    assert result.outcome is Outcome.COMPLETED
    assert result.tool_calls == 3  # two lookups and the one complete upsert


async def test_every_respond_call_of_a_turn_gets_its_result(
    time_skipping_env: WorkflowEnvironment, pg_url: str
) -> None:
    def twice(request: Any) -> list[tuple[str, dict[str, Any]]]:
        # An invalid answer and a second one in the same reply: only the first is read,
        # and the repair turn that follows must carry a result for both.
        return [*answer(request, confidence=7.0), *answer(request)]

    script = ExecutorScript([LOOKUPS, calls(GOOD_UPSERT), twice, answer])
    async with scripted_deps(pg_url, script) as deps:
        result = await hydrate(time_skipping_env, deps, "two-answers")
        errors = await tool_errors(deps)
    assert result.outcome is Outcome.COMPLETED
    assert any("only the first counts" in e for e in errors)


async def test_a_paused_turn_continues(time_skipping_env: WorkflowEnvironment, pg_url: str) -> None:
    script = ExecutorScript([LOOKUPS, LOOKUPS, calls(GOOD_UPSERT), answer])
    paused = {"kind": "pause_turn", "match_model": EXECUTOR}
    async with scripted_deps(pg_url, script, faults=[paused]) as deps:
        result = await hydrate(time_skipping_env, deps, "paused")
    assert result.outcome is Outcome.COMPLETED


async def test_a_full_context_window_ends_the_run_within_its_budget(
    time_skipping_env: WorkflowEnvironment, pg_url: str
) -> None:
    full = {"kind": "context_window", "match_model": EXECUTOR}
    async with scripted_deps(pg_url, ExecutorScript([LOOKUPS]), faults=[full]) as deps:
        result = await hydrate(time_skipping_env, deps, "full-context")
    assert result.outcome is Outcome.BUDGET_EXHAUSTED
    assert result.reason == "the model's context window is full"


async def test_a_stream_that_breaks_off_or_stalls_is_retried_to_completion(
    time_skipping_env: WorkflowEnvironment, pg_url: str
) -> None:
    script = ExecutorScript([LOOKUPS, calls(GOOD_UPSERT), answer])
    faults: list[dict[str, Any]] = [
        {"kind": "stream_error", "match_model": EXECUTOR},
        {"kind": "stall", "match_model": EXECUTOR, "latency_ms": 1500},
    ]
    async with scripted_deps(pg_url, script, faults=faults) as deps:
        result = await hydrate(time_skipping_env, deps, "broken-stream")
        async with deps.pool.connection() as conn:
            cursor = await conn.execute(
                "SELECT count(*) AS n FROM model_calls WHERE thread = 'executor'"
            )
            row = await cursor.fetchone()
    assert result.outcome is Outcome.COMPLETED
    assert row is not None and row["n"] == result.steps  # the broken stream billed nothing


async def test_a_judge_that_declines_fails_closed(
    time_skipping_env: WorkflowEnvironment, pg_url: str
) -> None:
    script = ExecutorScript([LOOKUPS, calls(GOOD_UPSERT), answer, answer])
    declined = {"kind": "refusal", "match_model": JUDGE}
    async with scripted_deps(pg_url, script, faults=[declined]) as deps:
        result = await hydrate(time_skipping_env, deps, "judge-declines")
        async with deps.pool.connection() as conn:
            cursor = await conn.execute(
                "SELECT stop_reason FROM model_calls WHERE thread LIKE 'judge-%%' ORDER BY turn"
            )
            judged = [r["stop_reason"] for r in await cursor.fetchall()]
    # The refusal failed the first review (one revision), and was never asked again.
    assert result.outcome is Outcome.COMPLETED
    assert judged.count("refusal") == 1


def rounds(request: MessagesRequest) -> int:
    return 1 + user_text(request).count("Re-plan:")


ACME = {"tenant": "acme"}  # a ledger question's plan records its intent


async def test_every_plan_call_of_a_reply_gets_its_result(
    time_skipping_env: WorkflowEnvironment, seeded_pg_url: str
) -> None:
    failing = [
        step("miss", "search_vendors", {"text": "zzqx no such vendor"}),
        step("vendor", "get_vendor", vendor_of("miss"), "miss"),
    ]
    found = [step("find", "search_vendors", {"text": "Amazon Web Services"})]

    def planner(request: MessagesRequest) -> list[tuple[str, dict[str, Any]]]:
        if rounds(request) == 1:
            # Two plans in one reply: the first is used; the second must still be answered,
            # or the re-plan request (the same thread) is refused.
            return [
                ("submit_plan", {"steps": failing, "intent": ACME}),
                ("submit_plan", {"steps": found, "intent": ACME}),
            ]
        return [("submit_plan", {"steps": found, "rationale": "the full name", "intent": ACME})]

    scripts = (
        RoleScript("ledger_question", "planner", planner),
        answering("Found it on the second plan."),
        PASSING_JUDGE,
    )
    async with scripted_deps(seeded_pg_url, *scripts) as deps:
        result, _ = await ask(time_skipping_env, deps, "two-plans", "Who is AWS?")
        async with deps.pool.connection() as conn:
            cursor = await conn.execute(
                """SELECT block->>'content' AS content FROM transcript_entries,
                          jsonb_array_elements(content) AS block
                   WHERE thread = 'planner' AND block->>'type' = 'tool_result'"""
            )
            answered = [r["content"] for r in await cursor.fetchall()]
    assert result.outcome is Outcome.COMPLETED, result.reason
    assert result.plan_rounds == 2
    assert answered.count("Ignored: only one answer is read per reply.") == 1


# --- a retried activity asks exactly what its first attempt asked ----------------------------


async def _requests(model_server: OfflineModelServer) -> list[dict[str, Any]]:
    async with httpx.AsyncClient(base_url=model_server.base_url) as http:
        body = (await http.get("/_control/requests")).json()
    return [r["body"] for r in body["requests"] if r["status"] == 200]


def _turn_request(run: str) -> ModelTurnRequest:
    return ModelTurnRequest(
        ref=RunRef(run_id=run, thread="executor"),
        turn=1,
        role=Role.EXECUTOR,
        daemon="vendor_hydration",
        prompt="vendor_hydration.executor",
        tools=["lookup_company", "list_accounts"],
    )


async def test_a_retry_after_the_reply_was_stored_reuses_it(
    deps: Dependencies, model_server: OfflineModelServer
) -> None:
    request = _turn_request("retry-reuse")
    task = f"Enrich the vendor behind the bank descriptor '{'SQ *BLUE BOTTLE'}'."
    await transcript.append(deps.pool, request.ref, 0, 0, "user", [{"type": "text", "text": task}])
    first = await ActivityEnvironment().run(model_turn, request)
    sent = len(await _requests(model_server))
    again = await ActivityEnvironment().run(model_turn, request)
    assert again.tool_calls == first.tool_calls
    assert again.usage == first.usage  # reported once more: the first never reached history
    assert len(await _requests(model_server)) == sent  # and nothing was asked twice


async def test_a_retry_before_the_reply_was_stored_asks_the_same_and_keeps_both_costs(
    deps: Dependencies, model_server: OfflineModelServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    request = _turn_request("retry-crash")
    task = "Enrich the vendor behind the bank descriptor 'SQ *BLUE BOTTLE'."
    await transcript.append(deps.pool, request.ref, 0, 0, "user", [{"type": "text", "text": task}])
    real = transcript.append_all

    async def crash(*args: Any, **kwargs: Any) -> None:
        raise ConnectionError("the worker died after the call")

    monkeypatch.setattr(transcript, "append_all", crash)
    with pytest.raises(ConnectionError):
        await ActivityEnvironment().run(model_turn, request)
    monkeypatch.setattr(transcript, "append_all", real)
    retry = ActivityEnvironment()
    retry.info = dataclasses.replace(retry.info, attempt=2)
    await retry.run(model_turn, request)

    first, second = (r["messages"] for r in (await _requests(model_server))[-2:])
    assert first == second and second[-1]["role"] == "user"
    async with deps.pool.connection() as conn:
        cursor = await conn.execute(
            "SELECT attempt FROM model_calls WHERE run_id = 'retry-crash' ORDER BY attempt"
        )
        assert [r["attempt"] for r in await cursor.fetchall()] == [1, 2]


async def test_a_retried_plan_keeps_its_thinking_valid(
    seeded_deps: Dependencies, model_server: OfflineModelServer
) -> None:
    # The planner (Opus 5.5) binds its thinking blocks to the conversation before them; a
    # re-plan sends them back. Run both rounds twice, as a retry would: nothing is asked
    # again, and the re-plan's request (with round one's blocks) is one the API accepts.
    refs = {
        "planner": RunRef(run_id="plan-retry", thread="planner"),
        "executor": RunRef(run_id="plan-retry", thread="executor"),
    }
    question = "Question: How much did we spend on software in Q3 2025?\nTenant: acme"
    first = PlanRequest(**refs, daemon="ledger_question", task=question)
    replan = PlanRequest(
        **refs,
        daemon="ledger_question",
        task=question,
        round=2,
        replan="Re-plan: some steps failed.\n- q3 failed: timeout\nSubmit a new plan.",
    )
    for request in (first, replan):
        await ActivityEnvironment().run(plan, request)
    sent = len(await _requests(model_server))
    for request in (first, replan):
        await ActivityEnvironment().run(plan, request)
    assert len(await _requests(model_server)) == sent
    last = (await _requests(model_server))[-1]
    assert any(
        block.get("type") == "thinking"
        for message in last["messages"]
        if message["role"] == "assistant"
        for block in message["content"]
    )


def test_thinking_blocks_go_back_only_to_the_model_that_wrote_them() -> None:
    thought = {"type": "thinking", "thinking": "", "signature": "sig"}
    call = {"type": "tool_use", "id": "toolu_1", "name": "list_accounts", "input": {}}
    rows: list[dict[str, Any]] = [
        {"role": "user", "content": [{"type": "text", "text": "go"}], "model": None},
        {"role": "assistant", "content": [thought, call], "model": "claude-opus-5-5"},
        {
            "role": "user",
            "content": [{"type": "tool_result", "tool_use_id": "toolu_1", "content": "[]"}],
            "model": None,
        },
    ]
    same = transcript.as_messages(rows, "claude-opus-5-5")
    other = transcript.as_messages(rows, "claude-sonnet-5-5")
    assert same[1]["content"] == [thought, call]
    assert other[1]["content"] == [call]  # stripped for another model, the call kept


def test_a_call_that_never_completed_is_answered_as_not_run() -> None:
    call = {"type": "tool_use", "id": "step-1-q3", "name": "query_ledger", "input": {}}
    rows: list[dict[str, Any]] = [
        {"role": "user", "content": [{"type": "text", "text": "go"}], "model": None},
        {"role": "assistant", "content": [call], "model": None},
        {
            "role": "user",
            "content": [{"type": "text", "text": "The planned steps have run."}],
            "model": None,
        },
    ]
    messages = transcript.as_messages(rows, "claude-sonnet-5-5")
    result, note = messages[2]["content"]
    assert result == {
        "type": "tool_result",
        "tool_use_id": "step-1-q3",
        "is_error": True,
        "content": transcript.UNANSWERED,
    }
    assert note["type"] == "text"  # results first, as the API requires


class _Narrating:
    """An executor that says what it is about to do before it calls the tool."""

    name = "narrating_executor"

    def matches(self, request: MessagesRequest) -> bool:
        return prompt_header(request).get("role") == "executor"

    def respond(self, request: MessagesRequest) -> PolicyReply:
        return PolicyReply(
            (ReplyText("Checking the chart of accounts first."), ReplyToolUse("list_accounts", {})),
            rationale="The account decides the category.",
        )


@pytest.mark.parametrize("executor", ["claude-opus-5-5", "claude-opus-5"])
async def test_narration_between_tool_calls_reaches_the_step_summary(
    pg_url: str, executor: str
) -> None:
    # Opus 5.5 returns it inside a thinking block, Opus 5 as text: the summary has it either way.
    config = OfflineModelConfig(scenarios=(_Narrating(),))
    async with OfflineModelServer(config, port=0) as server:
        deps = await open_dependencies(
            load_settings(
                database_url=pg_url, offline_model_port=server.port, executor_model=executor
            )
        )
        try:
            request = _turn_request(f"narrate-{executor}")
            text = [{"type": "text", "text": "Enrich the vendor."}]
            await transcript.append(deps.pool, request.ref, 0, 0, "user", text)
            turn = await ActivityEnvironment().run(model_turn, request)
        finally:
            await deps.close()
    assert "Checking the chart of accounts first." in turn.text
    assert [c.name for c in turn.tool_calls] == ["list_accounts"]
