"""Feedback on daemon responses: the store (what is kept, validation, tenant refusal,
idempotency) on real PostgreSQL; the HTTP API and the CLI against real runs on Temporal's
time-skipping server with the offline model; the `feedback` Update of a real onboarding that
waits for approval."""

from __future__ import annotations

import asyncio
import json
import uuid
from pathlib import Path
from typing import Any

import pytest
from psycopg.types.json import Jsonb
from temporalio.api.enums.v1 import EventType
from temporalio.client import WorkflowHandle, WorkflowUpdateFailedError
from temporalio.testing import WorkflowEnvironment
from typer.testing import CliRunner

from accounting.errors import AccessDenied, InvalidRequest
from accounting.principals import Principal, Role
from demo_seed import demo_token
from ledgerd.cli import app
from ledgerd.contracts import Outcome
from ledgerd.daemons import VendorRecord
from ledgerd.db import Pool
from ledgerd.feedback import (
    Feedback,
    InvalidFeedback,
    NotAnswered,
    RunFeedback,
    RunTarget,
    Thumbs,
    save_feedback,
)
from ledgerd.onboarding import Action
from ledgerd.runtime import Dependencies
from standin import OfflineModelServer
from starter import start_vendor_hydration
from starter.feedback import signed_feedback
from tests._ledger import BLUE_BOTTLE
from tests.conftest import running_worker
from tests.test_api import auth, seed, serving
from workflows import ClientOnboarding, HydrationRequest, VendorHydration

ACME_ACCOUNTANT = Principal(id="acme-accountant", tenant_id="acme", role=Role.ACCOUNTANT)
ACME_VIEWER = Principal(id="acme-viewer", tenant_id="acme", role=Role.VIEWER)
GLOBEX_ACCOUNTANT = Principal(id="globex-accountant", tenant_id="globex", role=Role.ACCOUNTANT)

FIRST_ANSWER = {
    "vendor_id": None,
    "canonical_name": "Blue Bottle",
    "domain": "bluebottle.example",
    "category": "meals",
    "account_code": "6200",
    "headquarters": "Oakland, CA",
    "confidence": 0.9,
    "linked_transactions": 0,
}
FINAL_ANSWER = {**FIRST_ANSWER, "canonical_name": "Blue Bottle Coffee", "linked_transactions": 3}


# ---------------------------------------------------------------------- a daemon's traces
async def tenants(pool: Pool) -> None:
    async with pool.connection() as conn, conn.transaction():
        for tenant in ("acme", "globex"):
            await conn.execute(
                "INSERT INTO tenants (id, name) VALUES (%s, %s) ON CONFLICT DO NOTHING",
                (tenant, tenant.title()),
            )


async def principals_of_each_role(pool: Pool) -> None:
    """A principal of each role (`<tenant>-<role>`) in both tenants: the platform's rows the
    Update's activity confirms a principal against."""
    async with pool.connection() as conn, conn.transaction():
        for tenant in ("acme", "globex"):
            for role in Role:
                await conn.execute(
                    "INSERT INTO principals (id, tenant_id, display_name, role) "
                    "VALUES (%s, %s, %s, %s) ON CONFLICT (id) DO NOTHING",
                    (f"{tenant}-{role.value}", tenant, f"{tenant} {role.value}", role.value),
                )


async def signed(
    env: WorkflowEnvironment, feedback: Feedback, principal: Principal, workflow_id: str
) -> RunFeedback:
    """Feedback for the Update, its credential issued at the server's time (the workflow
    checks expiry by its own clock; see tests/_onboarding.py)."""
    return signed_feedback(feedback, principal, workflow_id, now=await env.get_current_time())


async def conversation(
    pool: Pool,
    run_id: str,
    *,
    daemon: str = "vendor_hydration",
    task: str = f"Hydrate the vendor behind the bank descriptor {BLUE_BOTTLE!r}.",
    answers: list[dict[str, Any]] | None = None,
    outcome: Outcome | None = Outcome.COMPLETED,
    reviews: int = 2,
) -> None:
    """What a daemon loop leaves in PostgreSQL, as its activities write it: model calls per
    role, the executor's thread (task, then one `respond` per answer), one judge thread per
    guardrail review and, once it ended, its outcome notification."""
    answers = [FIRST_ANSWER, {"canonical_name": ""}, FINAL_ANSWER] if answers is None else answers
    async with pool.connection() as conn, conn.transaction():

        async def call(thread: str, turn: int, role: str, model: str) -> None:
            await conn.execute(
                "INSERT INTO model_calls (run_id, thread, turn, role, model, prompt_name, "
                "prompt_version) VALUES (%s, %s, %s, %s, %s, %s, %s)",
                (run_id, thread, turn, role, model, f"{daemon}.{role}", f"{role[:4]}-v1"),
            )

        async def entry(turn: int, role: str, content: list[dict[str, Any]]) -> None:
            await conn.execute(
                "INSERT INTO transcript_entries (run_id, thread, turn, position, role, content) "
                "VALUES (%s, 'executor', %s, 0, %s, %s)",
                (run_id, turn, role, Jsonb(content)),
            )

        await call("planner", 1, "planner", "planner-model")
        await entry(0, "user", [{"type": "text", "text": task}])
        for turn, answer in enumerate(answers, start=1):
            await call("executor", turn, "executor", "executor-model")
            respond = {"type": "tool_use", "id": f"t{turn}", "name": "respond", "input": answer}
            await entry(turn, "assistant", [{"type": "text", "text": "Done."}, respond])
        for review in range(1, reviews + 1):
            await call(f"judge-{review}", 1, "judge", "judge-model")
        if outcome is not None:
            await conn.execute(
                "INSERT INTO notification_outbox (dedupe_key, tenant_id, workflow_id, kind, "
                "severity, subject) VALUES (%s, 'acme', %s, %s, 'info', 'ended')",
                (f"{run_id}/{outcome.value}", run_id.split("@")[0], f"{daemon}.{outcome.value}"),
            )


async def feedback_rows(pool: Pool, workflow_id: str | None = None) -> list[dict[str, Any]]:
    async with pool.connection() as conn:
        cursor = await conn.execute(
            "SELECT * FROM run_feedback WHERE %(w)s::text IS NULL OR workflow_id = %(w)s "
            "ORDER BY id",
            {"w": workflow_id},
        )
        return await cursor.fetchall()


async def accepted_updates(handle: WorkflowHandle[Any, Any]) -> int:
    history = await handle.fetch_history()
    return sum(
        1
        for e in history.events
        if e.event_type == EventType.EVENT_TYPE_WORKFLOW_EXECUTION_UPDATE_ACCEPTED
    )


def canonical(answer: dict[str, Any]) -> dict[str, Any]:
    return VendorRecord.model_validate(answer).model_dump(mode="json")


# ---------------------------------------------------------------------- the store
async def test_feedback_is_kept_with_the_response_models_and_prompt_versions(pool: Pool) -> None:
    await tenants(pool)
    key = "vendor-hydration-acme-1@run-1"
    await conversation(pool, key)
    correction = {**FINAL_ANSWER, "domain": "bluebottlecoffee.com"}
    receipt = await save_feedback(
        pool,
        ACME_ACCOUNTANT,
        RunTarget(workflow_id="vendor-hydration-acme-1", tenant_id="acme", execution_key=key),
        Feedback(thumbs=Thumbs.DOWN, rating=2, correction=correction, comment="wrong domain"),
        idempotency_key="k1",
    )
    assert (receipt.workflow_id, receipt.run_id, receipt.daemon) == (
        "vendor-hydration-acme-1",
        key,
        "vendor_hydration",
    )
    [row] = await feedback_rows(pool)
    assert row["id"] == receipt.feedback_id
    # The last *valid* answer: the invalid one after the first was sent back for repair.
    assert row["response"] == canonical(FINAL_ANSWER)
    assert row["correction"] == canonical(correction)
    assert row["task"].startswith("Hydrate the vendor behind the bank descriptor")
    assert (row["thumbs"], row["rating"], row["comment"]) == ("down", 2, "wrong domain")
    assert (row["given_by"], row["given_by_role"], row["tenant_id"]) == (
        "acme-accountant",
        "accountant",
        "acme",
    )
    assert (row["outcome"], row["guardrail_reviews"]) == ("completed", 2)
    assert row["models"] == {
        "planner": ["planner-model"],
        "executor": ["executor-model"],
        "judge": ["judge-model"],
    }
    assert row["prompt_versions"] == {
        "planner": ["plan-v1"],
        "executor": ["exec-v1"],
        "judge": ["judg-v1"],
    }


async def test_a_correction_must_be_a_valid_answer_and_each_bad_field_is_named(
    pool: Pool,
) -> None:
    await tenants(pool)
    key = "vendor-hydration-acme-2@run-1"
    await conversation(pool, key)
    run = RunTarget(workflow_id="vendor-hydration-acme-2", tenant_id="acme")
    attempts: list[tuple[dict[str, Any], set[str]]] = [
        (
            {**FINAL_ANSWER, "canonical_name": "", "confidence": 2},
            {"correction.canonical_name", "correction.confidence"},
        ),
        ({"canonical_name": "Blue Bottle Coffee"}, {"correction.confidence"}),
        # Not dropped silently: a field the answer does not have is refused by name.
        ({**FINAL_ANSWER, "colour": "blue"}, {"correction.colour"}),
        # The daemon's own answer is no correction.
        (FINAL_ANSWER, {"correction"}),
    ]
    for correction, fields in attempts:
        with pytest.raises(InvalidFeedback) as refused:
            await save_feedback(
                pool,
                ACME_ACCOUNTANT,
                run,
                Feedback(correction=correction, comment="kept?"),
                idempotency_key=str(uuid.uuid4()),
            )
        assert fields <= {p.field for p in refused.value.problems}, refused.value
        assert all(f in str(refused.value) for f in fields)
    assert await feedback_rows(pool) == []


async def test_only_a_principal_of_the_runs_tenant_may_give_feedback(pool: Pool) -> None:
    await tenants(pool)
    await conversation(pool, "vendor-hydration-acme-3@run-1")
    with pytest.raises(AccessDenied, match="may not access tenant 'acme'"):
        await save_feedback(
            pool,
            GLOBEX_ACCOUNTANT,
            RunTarget(workflow_id="vendor-hydration-acme-3", tenant_id="acme"),
            Feedback(thumbs=Thumbs.UP),
            idempotency_key="k-globex",
        )
    assert await feedback_rows(pool) == []


async def test_a_retried_write_stores_one_row(pool: Pool) -> None:
    await tenants(pool)
    await conversation(pool, "vendor-hydration-acme-4@run-1")
    run = RunTarget(workflow_id="vendor-hydration-acme-4", tenant_id="acme")
    given = Feedback(thumbs=Thumbs.UP, rating=5)
    receipts = await asyncio.gather(
        *(save_feedback(pool, ACME_VIEWER, run, given, idempotency_key="retry") for _ in range(5))
    )
    assert len({r.feedback_id for r in receipts}) == 1
    assert len(await feedback_rows(pool)) == 1
    again = await save_feedback(pool, ACME_VIEWER, run, given, idempotency_key="retry")
    assert again == receipts[0]
    await conversation(pool, "vendor-hydration-acme-5@run-1")
    with pytest.raises(InvalidRequest, match="already used for feedback on another run"):
        await save_feedback(
            pool,
            ACME_VIEWER,
            RunTarget(workflow_id="vendor-hydration-acme-5", tenant_id="acme"),
            given,
            idempotency_key="retry",
        )
    assert len(await feedback_rows(pool)) == 1


async def test_what_is_rated_when_a_run_has_not_answered_or_ended_without_an_answer(
    pool: Pool,
) -> None:
    await tenants(pool)
    given = Feedback(rating=1, comment="took forever")
    # Still thinking: nothing to rate.
    await conversation(pool, "thinking@run-1", answers=[], outcome=None, reviews=0)
    with pytest.raises(NotAnswered, match="has no daemon response yet"):
        await save_feedback(
            pool,
            ACME_ACCOUNTANT,
            RunTarget(workflow_id="thinking", tenant_id="acme"),
            given,
            idempotency_key="a",
        )
    # No daemon ever spoke in it (or no such run in the database).
    with pytest.raises(NotAnswered):
        await save_feedback(
            pool,
            ACME_ACCOUNTANT,
            RunTarget(workflow_id="silent", tenant_id="acme"),
            given,
            idempotency_key="b",
        )
    # Ended without an answer (its guardrail-rejected draft is not its answer): rated as such.
    await conversation(
        pool, "exhausted@run-1", answers=[FIRST_ANSWER], outcome=Outcome.BUDGET_EXHAUSTED
    )
    await save_feedback(
        pool,
        ACME_ACCOUNTANT,
        RunTarget(workflow_id="exhausted", tenant_id="acme"),
        given,
        idempotency_key="c",
    )
    [row] = await feedback_rows(pool)
    assert (row["response"], row["outcome"]) == (None, "budget_exhausted")


async def test_a_later_loop_still_thinking_leaves_the_earlier_answer_to_rate(pool: Pool) -> None:
    """Onboarding revises its mapping in a new loop; while that one thinks, feedback rates
    the proposal before it. A reused workflow id's older chain is never picked."""
    await tenants(pool)
    mapping = {
        "mappings": [
            {"code": "6000", "name": "Software", "standard_category": "software", "confidence": 0.9}
        ],
        "notes": "",
    }
    await conversation(
        pool, "client-onboarding-acme@old/mapping-0", daemon="account_mapping", answers=[mapping]
    )
    key = "client-onboarding-acme@new"
    await conversation(pool, f"{key}/mapping-0", daemon="account_mapping", answers=[mapping])
    await conversation(
        pool, f"{key}/mapping-1", daemon="account_mapping", answers=[], outcome=None, reviews=0
    )
    receipt = await save_feedback(
        pool,
        ACME_ACCOUNTANT,
        RunTarget(workflow_id="client-onboarding-acme", tenant_id="acme", execution_key=key),
        Feedback(thumbs=Thumbs.UP),
        idempotency_key="m",
    )
    assert (receipt.run_id, receipt.daemon) == (f"{key}/mapping-0", "account_mapping")


# ---------------------------------------------------------------------- a real run
async def hydrated(env: WorkflowEnvironment, queue: str, workflow_id: str) -> None:
    result = await env.client.execute_workflow(
        VendorHydration.run,
        HydrationRequest(tenant_id="acme", principal=ACME_ACCOUNTANT, descriptor=BLUE_BOTTLE),
        id=workflow_id,
        task_queue=queue,
    )
    assert result.outcome is Outcome.COMPLETED and result.answer is not None


async def test_http_feedback_on_a_finished_run(
    time_skipping_env: WorkflowEnvironment, deps: Dependencies, model_server: OfflineModelServer
) -> None:
    await seed(deps)
    workflow_id = f"vendor-hydration-acme-{uuid.uuid4().hex[:8]}"
    async with (
        running_worker(time_skipping_env) as queue,
        serving(time_skipping_env, deps, model_server, queue) as api,
    ):
        await hydrated(time_skipping_env, queue, workflow_id)
        url = f"/v1/runs/{workflow_id}/feedback"
        answer = await api.http.get(f"/v1/runs/{workflow_id}/result", headers=auth("acme-viewer"))
        response = answer.json()["result"]["answer"]

        given = await api.http.post(
            url, json={"thumbs": "up", "rating": 5}, headers=auth("acme-viewer")
        )
        assert given.status_code == 201, given.text
        receipt = given.json()
        assert receipt["daemon"] == "vendor_hydration"
        assert receipt["run_id"].startswith(f"{workflow_id}@")

        retried = [
            await api.http.post(
                url,
                json={"thumbs": "down", "comment": "Blue Bottle is coffee, not meals"},
                headers={**auth("acme-accountant"), "Idempotency-Key": "once"},
            )
            for _ in range(2)
        ]
        assert [r.status_code for r in retried] == [201, 201], retried[0].text
        assert retried[0].json() == retried[1].json()

        other_tenant = await api.http.post(
            url, json={"thumbs": "down"}, headers=auth("globex-accountant")
        )
        assert other_tenant.status_code == 404, other_tenant.text
        assert other_tenant.json()["error"]["type"] == "not_found"

        bad = await api.http.post(
            url,
            json={"correction": {**response, "confidence": 7, "colour": "blue"}},
            headers=auth("acme-accountant"),
        )
        assert bad.status_code == 422, bad.text
        fields = {f["field"] for f in bad.json()["error"]["fields"]}
        assert fields == {"correction.confidence"}  # the unknown field is named once it validates

        unknown = await api.http.post(
            url, json={"correction": {**response, "colour": "blue"}}, headers=auth("acme-owner")
        )
        assert unknown.status_code == 422
        assert [f["field"] for f in unknown.json()["error"]["fields"]] == ["correction.colour"]

        for body, field in (({"rating": 9}, "rating"), ({}, "")):
            malformed = await api.http.post(url, json=body, headers=auth("acme-accountant"))
            assert malformed.status_code == 422, malformed.text
            assert malformed.json()["error"]["fields"][0]["field"] == field

        missing = await api.http.post(
            "/v1/runs/no-such-run/feedback", json={"thumbs": "up"}, headers=auth("acme-owner")
        )
        assert missing.status_code == 404

        waiting = await start_vendor_hydration(
            api.client,
            principal=ACME_ACCOUNTANT,
            descriptor="NOBODY HYDRATES THIS",
            task_queue="test-feedback-nobody-polls",
        )
        try:
            early = await api.http.post(
                f"/v1/runs/{waiting.id}/feedback", json={"rating": 1}, headers=auth("acme-owner")
            )
        finally:
            await waiting.terminate("test finished")
        assert early.status_code == 409, early.text
        assert early.json()["error"]["type"] == "not_answered"

        corrected = {**response, "category": "coffee_shops", "confidence": 0.95}
        fixed = await api.http.post(
            url, json={"correction": corrected, "rating": 2}, headers=auth("acme-owner")
        )
        assert fixed.status_code == 201, fixed.text

    rows = await feedback_rows(deps.pool, workflow_id)
    assert [(r["given_by"], r["thumbs"], r["rating"]) for r in rows] == [
        ("acme-viewer", "up", 5),
        ("acme-accountant", "down", None),
        ("acme-owner", None, 2),
    ]
    assert all(r["response"] == response and r["outcome"] == "completed" for r in rows)
    assert rows[2]["correction"] == canonical(corrected)
    assert set(rows[0]["models"]) == {"planner", "executor", "judge"}
    assert rows[0]["guardrail_reviews"] >= 1


async def test_cli_feedback_identifies_the_caller_and_refuses_bad_input(
    time_skipping_env: WorkflowEnvironment,
    deps: Dependencies,
    tmp_path: Path,
) -> None:
    await seed(deps)
    workflow_id = f"vendor-hydration-acme-{uuid.uuid4().hex[:8]}"
    async with running_worker(time_skipping_env) as queue:
        await hydrated(time_skipping_env, queue, workflow_id)
    env = {
        "TEMPORAL_ADDRESS": time_skipping_env.client.service_client.config.target_host,
        "DATABASE_URL": deps.settings.effective_database_url,
    }
    runner = CliRunner()

    async def ledgerd(token: str, *args: str) -> Any:
        """`ledgerd feedback` as the principal `token` proves (LEDGERD_TOKEN)."""
        return await asyncio.to_thread(
            runner.invoke,
            app,
            ["feedback", workflow_id, *args],
            env={**env, "LEDGERD_TOKEN": token},
        )

    accountant, owner = demo_token("acme-accountant"), demo_token("acme-owner")
    by_env = await ledgerd(accountant, "--up", "--rating", "5", "--principal", "acme-accountant")
    assert by_env.exit_code == 0, by_env.output
    assert f"recorded on {workflow_id}@" in by_env.stdout

    # A token file, not an argument: `ps` would show an argument.
    token_file = tmp_path / "viewer.token"
    token_file.write_text(demo_token("acme-viewer") + "\n")
    by_file = await ledgerd("", "--down", "--comment", "slow", "--token-file", str(token_file))
    assert by_file.exit_code == 0, by_file.output

    [row] = [r for r in await feedback_rows(deps.pool, workflow_id) if r["thumbs"] == "up"]
    answer = row["response"]
    correction = tmp_path / "fixed.json"
    correction.write_text(json.dumps({**answer, "headquarters": "Oakland, California"}))
    from_file = await ledgerd(owner, "--correction", f"@{correction}", "--as", "acme-owner")
    assert from_file.exit_code == 0, from_file.output

    viewer = demo_token("acme-viewer")
    refusals = [
        ((demo_token("globex-accountant"), "--up"), "AccessDenied"),
        ((accountant, "--up", "--as", "acme-owner"), "your token is 'acme-accountant''s"),
        (
            (viewer, "--correction", f"@{correction}"),
            "cli 'feedback (correction)' is for accountant, owner only",
        ),
        (
            (owner, "--correction", json.dumps({**answer, "confidence": 3})),
            "correction.confidence",
        ),
        ((owner, "--correction", "{not json"), "--correction: not valid JSON"),
        ((owner, "--correction", f"@{tmp_path / 'missing.json'}"), "cannot read"),
        ((owner,), "give at least one of thumbs"),
        (("not-a-token", "--up"), "unknown bearer token"),
        (("", "--up"), "who are you? set LEDGERD_TOKEN"),
    ]
    for (token, *args), message in refusals:
        refused = await ledgerd(token, *args)
        assert refused.exit_code == 1 and message in refused.output, (args, refused.output)
        assert token == "" or token not in refused.output  # a token is never echoed
    # A token cannot be given as an argument at all.
    for usage_args in (("--rating", "9"), ("--up", "--token", accountant)):
        usage = await ledgerd(owner, *usage_args)
        assert usage.exit_code == 2, usage.output

    rows = await feedback_rows(deps.pool, workflow_id)
    assert [(r["given_by"], r["thumbs"], r["correction"] is not None) for r in rows] == [
        ("acme-accountant", "up", False),
        ("acme-viewer", "down", False),
        ("acme-owner", None, True),
    ]


# ---------------------------------------------------------------------- the Update
async def test_an_onboarding_waiting_for_approval_takes_feedback_through_the_update(
    time_skipping_env: WorkflowEnvironment, deps: Dependencies
) -> None:
    from tests._onboarding import ACCOUNTANT, OWNER, VIEWER, decide, initech
    from tests.test_client_onboarding import pending, start

    await initech(deps.pool)
    async with running_worker(time_skipping_env) as queue:
        handle = await start(time_skipping_env, queue, top_vendors=0)
        asked = await pending(handle)
        mappings = [m.model_dump(mode="json") for m in asked.proposal.mappings]
        mappings[-1]["standard_category"] = "office_supplies"
        given = Feedback(
            rating=3, correction={"mappings": mappings, "notes": "6300 is where we buy supplies"}
        )
        feedback = await signed(time_skipping_env, given, ACCOUNTANT, handle.id)
        receipts = [
            await handle.execute_update(ClientOnboarding.feedback, feedback, id="feedback-1")
            for _ in range(2)
        ]
        assert receipts[0] == receipts[1]
        assert receipts[0].daemon == "account_mapping"
        assert receipts[0].run_id.startswith(f"{handle.id}@")
        assert receipts[0].run_id.endswith("/mapping-0")

        refusals: list[tuple[Any, str]] = [
            (
                feedback.model_copy(update={"principal": ACME_ACCOUNTANT}),
                "AccessDenied: principal 'acme-accountant' of tenant 'acme'",
            ),
            # The principal the payload names, with no proof (as the forged decision).
            (feedback.model_copy(update={"credential": None}), "refused: no credential"),
            (
                feedback.model_copy(update={"principal": OWNER}),
                "issued to 'initech-accountant'",
            ),
            (feedback.model_copy(update={"rating": 5}), "issued for different content"),
            (
                # A genuine credential of a viewer: viewers may rate, not correct.
                await signed(time_skipping_env, given, VIEWER, handle.id),
                "update 'feedback (correction)' is for accountant, owner only",
            ),
            (
                await signed(
                    time_skipping_env, Feedback(correction={"mappings": []}), ACCOUNTANT, handle.id
                ),
                "correction.mappings",
            ),
            (
                await signed(
                    time_skipping_env,
                    Feedback(correction={"mappings": mappings, "colour": "x"}),
                    ACCOUNTANT,
                    handle.id,
                ),
                "correction.colour: unknown field",
            ),
            (
                {
                    "principal": ACCOUNTANT.model_dump(),
                    "rating": 9,
                    "credential": feedback.credential,
                },
                "rating",
            ),
        ]
        for payload, reason in refusals:
            with pytest.raises(WorkflowUpdateFailedError) as refused:
                await handle.execute_update("feedback", payload)
            assert reason in str(refused.value.cause), refused.value.cause
        # One accepted Update (delivered twice under one id); the refusals left no trace.
        assert await accepted_updates(handle) == 1
        await decide(time_skipping_env, handle.id, approver=ACCOUNTANT, action=Action.APPROVE)
        await handle.result()

    [row] = await feedback_rows(deps.pool, handle.id)
    assert (row["id"], row["daemon"], row["rating"]) == (
        receipts[0].feedback_id,
        "account_mapping",
        3,
    )
    assert row["response"]["mappings"] == [
        m.model_dump(mode="json") for m in asked.proposal.mappings
    ]
    assert row["correction"]["mappings"] == mappings
    async with deps.pool.connection() as conn:
        cursor = await conn.execute(
            "SELECT kind FROM notification_outbox WHERE dedupe_key LIKE %s",
            (f"{row['run_id']}/%",),
        )
        [ended] = await cursor.fetchall()
    assert ended["kind"] == f"account_mapping.{row['outcome']}"
    assert set(row["models"]) >= {"executor", "judge"} and row["guardrail_reviews"] >= 1


async def test_a_hydration_refuses_feedback_before_it_answers_and_after_it_ends(
    time_skipping_env: WorkflowEnvironment, deps: Dependencies
) -> None:
    """The Update reaches a running hydration only: before its answer there is nothing to
    rate (refused, no history event), and a finished run takes feedback by CLI or HTTP."""
    from temporalio.service import RPCError

    from tests._ledger import small_ledger

    await small_ledger(deps.pool)
    async with running_worker(time_skipping_env) as queue:
        handle = await start_vendor_hydration(
            time_skipping_env.client,
            principal=ACME_ACCOUNTANT,
            descriptor=BLUE_BOTTLE,
            task_queue=queue,
            workflow_id=f"vendor-hydration-acme-{uuid.uuid4().hex[:8]}",
        )
        early = await signed(
            time_skipping_env, Feedback(thumbs=Thumbs.UP), ACME_ACCOUNTANT, handle.id
        )
        with pytest.raises(WorkflowUpdateFailedError) as refused:
            await handle.execute_update(VendorHydration.feedback, early)
        assert "yet" in str(refused.value.cause), refused.value.cause
        assert (await handle.result()).outcome is Outcome.COMPLETED
        assert await accepted_updates(handle) == 0
        with pytest.raises(RPCError):  # the run is closed: no Update reaches it
            await handle.execute_update(VendorHydration.feedback, early)
    assert await feedback_rows(deps.pool) == []


async def test_a_retried_record_feedback_activity_stores_one_row_and_refusals_are_final(
    deps: Dependencies,
) -> None:
    from temporalio.exceptions import ApplicationError
    from temporalio.testing import ActivityEnvironment

    from activities.feedback import FeedbackStep, record_feedback

    await tenants(deps.pool)
    await principals_of_each_role(deps.pool)
    await conversation(deps.pool, "vendor-hydration-acme-6@run-1")
    step = FeedbackStep(
        run=RunTarget(
            workflow_id="vendor-hydration-acme-6",
            tenant_id="acme",
            execution_key="vendor-hydration-acme-6@run-1",
        ),
        feedback=RunFeedback(principal=ACME_VIEWER, rating=4),
        idempotency_key="vendor-hydration-acme-6@run-1/feedback/update-1",
    )
    activities = ActivityEnvironment()
    first = await activities.run(record_feedback, step)
    assert await activities.run(record_feedback, step) == first  # the retry
    assert [r["id"] for r in await feedback_rows(deps.pool)] == [first.feedback_id]

    other_tenant = step.model_copy(
        update={
            "feedback": step.feedback.model_copy(update={"principal": GLOBEX_ACCOUNTANT}),
            "idempotency_key": "another",
        }
    )
    with pytest.raises(ApplicationError) as refused:
        await activities.run(record_feedback, other_tenant)
    assert refused.value.type == "AccessDenied" and refused.value.non_retryable
    # The platform, not the (verified) payload, has the last word: a principal deleted since,
    # or a role that may not correct, is refused before anything is written.
    nobody = Principal(id="acme-gone", tenant_id="acme", role=Role.ACCOUNTANT)
    viewer_correction = RunFeedback(principal=ACME_VIEWER, correction=FINAL_ANSWER)
    for feedback, reason in (
        (step.feedback.model_copy(update={"principal": nobody}), "'acme-gone' does not exist"),
        (viewer_correction, "update 'feedback (correction)' is for accountant, owner only"),
    ):
        with pytest.raises(ApplicationError) as refused:
            await activities.run(
                record_feedback,
                step.model_copy(update={"feedback": feedback, "idempotency_key": reason}),
            )
        assert refused.value.type == "AccessDenied" and reason in str(refused.value)
    assert [r["id"] for r in await feedback_rows(deps.pool)] == [first.feedback_id]
