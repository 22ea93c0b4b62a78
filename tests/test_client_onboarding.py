"""Client onboarding on the time-skipping server: approvals, revisions, edits, refusals,
timers, continue-as-new and a worker restart, against real PostgreSQL and the stand-in."""

from __future__ import annotations

import asyncio
import uuid
from typing import Any

import pytest
from temporalio.api.enums.v1 import EventType
from temporalio.client import WorkflowHandle, WorkflowUpdateFailedError
from temporalio.testing import WorkflowEnvironment

from accounting.principals import Principal
from ledgerd.db import Pool
from ledgerd.onboarding import (
    Action,
    Decision,
    OnboardingOutcome,
    OnboardingResult,
    PendingApproval,
)
from ledgerd.onboarding._chart_import import ChartImportError
from ledgerd.plugin import LedgerdPlugin
from ledgerd.runtime import Dependencies
from ledgerd.stack import binary
from ledgerd.stack._temporal import register_search_attributes
from ledgerd.temporal_runtime import temporal_runtime
from starter import decide_onboarding, start_client_onboarding
from starter.client_onboarding import signed_decision
from tests._onboarding import (
    ACCOUNTANT,
    OWNER,
    VIEWER,
    decide,
    initech,
    onboarding_request,
    signed,
)
from tests.conftest import record_history, running_worker
from worker import running_workers
from workflows import ClientOnboarding

Handle = WorkflowHandle[ClientOnboarding, OnboardingResult]


async def start(env: WorkflowEnvironment, queue: str, **changes: object) -> Handle:
    """Each test its own workflow id, so one test's leftover run never blocks the next."""
    return await start_client_onboarding(
        env.client,
        onboarding_request(**changes),
        task_queue=queue,
        workflow_id=f"client-onboarding-{uuid.uuid4()}",
    )


async def pending(handle: Handle, other_than: str | None = None) -> PendingApproval:
    for _ in range(600):
        found = await handle.query(ClientOnboarding.pending_approval)
        if found is not None and found.approval_id != other_than:
            return found
        await asyncio.sleep(0.05)
    raise AssertionError("no approval became pending")


async def staged_rows(pool: Pool) -> int:
    async with pool.connection() as conn:
        cursor = await conn.execute("SELECT count(*) AS n FROM onboarding_staged_accounts")
        return int((await cursor.fetchone() or {})["n"])


async def outbox(deps: Dependencies) -> list[str]:
    async with deps.pool.connection() as conn:
        cursor = await conn.execute(
            "SELECT kind FROM notification_outbox WHERE kind LIKE 'client_onboarding.%' ORDER BY id"
        )
        return [row["kind"].removeprefix("client_onboarding.") for row in await cursor.fetchall()]


async def update_events(handle: Handle) -> int:
    history = await handle.fetch_history()
    return sum(
        1
        for e in history.events
        if e.event_type == EventType.EVENT_TYPE_WORKFLOW_EXECUTION_UPDATE_ACCEPTED
    )


async def test_approve_applies_the_proposal(
    time_skipping_env: WorkflowEnvironment, deps: Dependencies
) -> None:
    await initech(deps.pool)
    async with running_worker(time_skipping_env) as queue:
        handle = await start(time_skipping_env, queue)
        asked = await pending(handle)
        assert {m.code: m.standard_category for m in asked.proposal.mappings}["6000"] == "software"
        assert {r.vendor_name for r in asked.proposal.rules} == {"Blue Bottle Coffee", "Uber"}
        receipt = await decide(
            time_skipping_env, handle.id, approver=ACCOUNTANT, action=Action.APPROVE
        )
        result = await handle.result()
    await record_history(time_skipping_env, handle.id, "client_onboarding_approved")
    assert receipt.approval_id == asked.approval_id
    assert result.outcome is OnboardingOutcome.APPLIED and result.decided_by == ACCOUNTANT.id
    async with deps.pool.connection() as conn:
        cursor = await conn.execute(
            "SELECT code, standard_category FROM accounts WHERE tenant_id = 'initech' ORDER BY code"
        )
        applied = {r["code"]: r["standard_category"] for r in await cursor.fetchall()}
        cursor = await conn.execute(
            "SELECT t.status, (SELECT count(*) FROM categorisation_rules WHERE tenant_id = t.id) AS rules "
            "FROM tenants t WHERE id = 'initech'"
        )
        tenant = await cursor.fetchone()
    assert applied == {m.code: m.standard_category for m in asked.proposal.mappings}
    assert tenant == {"status": "active", "rules": 2}
    assert await outbox(deps) == ["approval", "welcome"]


async def test_reject_revises_then_approve(
    time_skipping_env: WorkflowEnvironment, deps: Dependencies
) -> None:
    await initech(deps.pool)
    async with running_worker(time_skipping_env) as queue:
        # Both are asked from the start: only those asked may decide.
        handle = await start(
            time_skipping_env, queue, top_vendors=0, approvers=[ACCOUNTANT.id, OWNER.id]
        )
        first = await pending(handle)
        assert {m.code: m.standard_category for m in first.proposal.mappings}[
            "6300"
        ] == "other_expense"
        await decide(
            time_skipping_env,
            handle.id,
            approver=OWNER,
            action=Action.REJECT,
            comments="Map 6300 to office_supplies, we buy supplies there.",
        )
        second = await pending(handle, other_than=first.approval_id)
        assert second.revision == 1
        assert {m.code: m.standard_category for m in second.proposal.mappings}[
            "6300"
        ] == "office_supplies"
        await decide(time_skipping_env, handle.id, approver=OWNER, action=Action.APPROVE)
        result = await handle.result()
    assert result.outcome is OnboardingOutcome.APPLIED
    assert result.applied is not None and result.applied.mappings == second.proposal.mappings


async def test_edit_applies_the_corrected_proposal_and_invalid_edits_are_refused(
    time_skipping_env: WorkflowEnvironment, deps: Dependencies
) -> None:
    await initech(deps.pool)
    async with running_worker(time_skipping_env) as queue:
        handle = await start(time_skipping_env, queue, top_vendors=0)
        asked = await pending(handle)
        wrong_type = asked.proposal.model_copy(deep=True)
        wrong_type.mappings[0].standard_category = "software"  # 1000 is a bank account
        with pytest.raises(WorkflowUpdateFailedError) as refused:
            await decide(
                time_skipping_env,
                handle.id,
                approver=ACCOUNTANT,
                action=Action.EDIT,
                edited_proposal=wrong_type,
            )
        assert "a asset account cannot map to 'software'" in str(refused.value.cause)
        edited = asked.proposal.model_copy(deep=True)
        next(m for m in edited.mappings if m.code == "6300").standard_category = "training"
        await decide(
            time_skipping_env,
            handle.id,
            approver=ACCOUNTANT,
            action=Action.EDIT,
            edited_proposal=edited,
        )
        result = await handle.result()
    assert result.outcome is OnboardingOutcome.APPLIED and result.applied == edited


async def test_unauthorised_and_stale_decisions_are_refused_without_touching_history(
    time_skipping_env: WorkflowEnvironment, deps: Dependencies
) -> None:
    await initech(deps.pool)
    async with running_worker(time_skipping_env) as queue:
        handle = await start(time_skipping_env, queue, top_vendors=0)
        asked = await pending(handle)

        async def approving(approval_id: str, approver: Principal) -> Decision:
            decision = Decision(approval_id=approval_id, action=Action.APPROVE)
            return await signed(time_skipping_env, decision, approver, handle.id)

        attempts: list[tuple[Decision, str]] = [
            (
                await approving(asked.approval_id, VIEWER),
                "is a viewer; update 'decide' is for accountant, owner only",
            ),
            (
                await approving("stale-id", ACCOUNTANT),
                "approval id 'stale-id' is not the pending request",
            ),
            (
                await approving(
                    asked.approval_id, ACCOUNTANT.model_copy(update={"tenant_id": "acme"})
                ),
                "is not of tenant 'initech'",
            ),
        ]
        for decision, reason in attempts:
            with pytest.raises(WorkflowUpdateFailedError) as refused:
                await handle.execute_update(ClientOnboarding.decide, decision)
            assert reason in str(refused.value.cause)
        assert await update_events(handle) == 0
        assert await handle.query(ClientOnboarding.pending_approval) == asked
        await decide(time_skipping_env, handle.id, approver=ACCOUNTANT, action=Action.APPROVE)
        assert (await handle.result()).outcome is OnboardingOutcome.APPLIED
        assert await update_events(handle) == 1


async def test_an_invalid_signal_is_recorded_and_ignored_then_a_valid_one_approves(
    time_skipping_env: WorkflowEnvironment, deps: Dependencies
) -> None:
    await initech(deps.pool)
    async with running_worker(time_skipping_env) as queue:
        handle = await start(time_skipping_env, queue, top_vendors=0)
        asked = await pending(handle)
        await handle.signal(
            ClientOnboarding.submit_decision, {"approval_id": asked.approval_id, "action": "yes"}
        )
        await handle.signal(
            ClientOnboarding.submit_decision,
            (
                await signed(
                    time_skipping_env,
                    Decision(approval_id=asked.approval_id, action=Action.APPROVE),
                    VIEWER,
                    handle.id,
                )
            ).model_dump(mode="json"),
        )
        for _ in range(100):
            status = await handle.query(ClientOnboarding.status)
            if len(status.ignored_signals) == 2:
                break
            await asyncio.sleep(0.05)
        assert status.ignored_signals[0].startswith("invalid decision: action: Input should be")
        assert "is for accountant, owner only" in status.ignored_signals[1]
        valid: dict[str, Any] = (
            await signed(
                time_skipping_env,
                Decision(approval_id=asked.approval_id, action=Action.APPROVE),
                ACCOUNTANT,
                handle.id,
            )
        ).model_dump(mode="json")
        await handle.signal(ClientOnboarding.submit_decision, valid)
        assert (await handle.result()).outcome is OnboardingOutcome.APPLIED


async def test_reminder_escalation_and_expiry_fire_on_schedule(deps: Dependencies) -> None:
    # A test server of its own: time skipping is global to a server, and another test's
    # activity in flight would hold the clock.
    time_skipping_env = await WorkflowEnvironment.start_time_skipping(
        test_server_existing_path=str(binary("temporal-test-server")),
        plugins=[LedgerdPlugin()],
        runtime=temporal_runtime(),
    )
    await register_search_attributes(time_skipping_env.client)
    try:
        await _expire(time_skipping_env, deps)
    finally:
        await time_skipping_env.shutdown()


async def _expire(time_skipping_env: WorkflowEnvironment, deps: Dependencies) -> None:
    await initech(deps.pool)
    async with running_worker(time_skipping_env) as queue:
        handle = await start(time_skipping_env, queue, top_vendors=0)
        asked = await pending(handle)
        result = await handle.result()  # the test server skips time while we wait
    await record_history(time_skipping_env, handle.id, "client_onboarding_expired")
    assert result.outcome is OnboardingOutcome.EXPIRED
    assert await outbox(deps) == ["approval", "reminder", "escalation", "expired"]
    assert await staged_rows(deps.pool) == 0  # nothing of the unapproved chart is kept
    history = await handle.fetch_history()
    fired = [
        e.event_time.ToDatetime()
        for e in history.events
        if e.event_type == EventType.EVENT_TYPE_TIMER_FIRED
    ]
    offsets = [
        round((t - asked.requested_at.replace(tzinfo=None)).total_seconds() / 3600) for t in fired
    ]
    assert offsets == [24, 72, 168]


async def test_continue_as_new_while_waiting_keeps_the_approval(
    dev_env: WorkflowEnvironment, deps: Dependencies
) -> None:
    """On the real dev server: continue-as-new and worker restarts are server behaviour."""
    await initech(deps.pool)
    async with running_worker(dev_env) as queue:
        handle = await start(dev_env, queue, top_vendors=0, continue_as_new_after_events=20)
        asked = await pending(handle)
        latest = dev_env.client.get_workflow_handle(handle.id, result_type=OnboardingResult)
        # The run that waits is not the one that started: it continues as new, carrying state.
        for _ in range(200):
            described = await latest.describe()
            if described.raw_info.first_run_id != described.run_id:
                break
            await asyncio.sleep(0.05)
        assert described.raw_info.first_run_id != described.run_id
        assert await latest.query(ClientOnboarding.pending_approval) == asked
        await decide_onboarding(
            dev_env.client, handle.id, approver=ACCOUNTANT, action=Action.APPROVE
        )
        result = await latest.result()
    assert result.outcome is OnboardingOutcome.APPLIED
    assert await outbox(deps) == ["approval", "welcome"]  # no duplicate ask after continuing


async def test_the_worker_restarting_while_waiting_loses_nothing(
    dev_env: WorkflowEnvironment, deps: Dependencies
) -> None:
    await initech(deps.pool)
    async with running_worker(dev_env) as queue:
        handle = await start(dev_env, queue, top_vendors=0)
        asked = await pending(handle)
    # No worker at all now; the run waits in Temporal. A new worker on the same queue resumes.
    async with running_workers(dev_env.client, task_queue=queue):
        # The new worker rebuilds the run from history and accepts the pending decision.
        await handle.execute_update(
            ClientOnboarding.decide,
            signed_decision(
                Decision(approval_id=asked.approval_id, action=Action.APPROVE),
                ACCOUNTANT,
                handle.id,
            ),
        )
        assert (await handle.result()).outcome is OnboardingOutcome.APPLIED


async def test_a_bad_export_fails_with_the_row_and_column(
    time_skipping_env: WorkflowEnvironment, deps: Dependencies
) -> None:
    await initech(deps.pool)
    bad = "Account #,Account,Type\n1000,Checking,Bank\n6100,Coffee,Expences\n"
    where = "row 3, column 'Type': unknown account type 'Expences'"
    async with running_worker(time_skipping_env) as queue:
        # The starter refuses the file before anything runs...
        with pytest.raises(ChartImportError, match=where):
            await start(time_skipping_env, queue, chart_csv=bad)
        # ...and a run started without it (by type name) fails on it, naming the same place.
        handle = await time_skipping_env.client.start_workflow(
            "ClientOnboarding",
            onboarding_request(chart_csv=bad),
            id=f"client-onboarding-{uuid.uuid4()}",
            task_queue=queue,
            result_type=OnboardingResult,
        )
        result = await handle.result()
    assert result.outcome is OnboardingOutcome.FAILED
    assert where in result.reason
    assert await outbox(deps) == ["failed"]
