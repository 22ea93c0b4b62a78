"""Decisions carry proof, and onboarding applies nothing before approval.

Each forged or misused decision is refused with a reason that names what is wrong, leaves no
Update in history and changes no account; a rejection or an expiry leaves the tenant's chart
and profile exactly as they were; a legitimate credential is accepted.
"""

from __future__ import annotations

import asyncio
import uuid
from datetime import timedelta
from typing import Any

import pytest
from temporalio.api.enums.v1 import EventType
from temporalio.client import WorkflowHandle, WorkflowUpdateFailedError
from temporalio.testing import WorkflowEnvironment

from accounting.principals import Principal, Role
from ledgerd.db import Pool
from ledgerd.onboarding import (
    Action,
    Decision,
    OnboardingOutcome,
    OnboardingResult,
    PendingApproval,
)
from ledgerd.runtime import Dependencies
from ledgerd.security.actions import decision_action, sign_action
from starter import start_client_onboarding
from tests._onboarding import ACCOUNTANT, OWNER, VIEWER, initech, onboarding_request, signed
from tests.conftest import running_worker
from tests.test_client_onboarding import staged_rows
from workflows import ClientOnboarding

Handle = WorkflowHandle[ClientOnboarding, OnboardingResult]
MALLORY = Principal(id="mallory-from-the-internet", tenant_id="initech", role=Role.OWNER)


async def existing_books(pool: Pool) -> None:
    """initech already keeps two accounts: onboarding must not touch them before approval."""
    async with pool.connection() as conn:
        await conn.execute(
            "INSERT INTO accounts (tenant_id, code, name, account_type, standard_category) VALUES "
            "('initech', '6300', 'Office supplies', 'expense', 'office_supplies'), "
            "('initech', '9000', 'Suspense', 'asset', NULL)"
        )


async def books(pool: Pool) -> dict[str, Any]:
    async with pool.connection() as conn:
        cursor = await conn.execute(
            "SELECT code, name, account_type, standard_category, active FROM accounts "
            "WHERE tenant_id = 'initech' ORDER BY code"
        )
        accounts = await cursor.fetchall()
        cursor = await conn.execute("SELECT * FROM client_profiles WHERE tenant_id = 'initech'")
        profile = await cursor.fetchone()
        cursor = await conn.execute("SELECT status FROM tenants WHERE id = 'initech'")
        tenant = await cursor.fetchone()
    return {"accounts": accounts, "profile": profile, "tenant": tenant}


async def start(env: WorkflowEnvironment, queue: str, **changes: object) -> Handle:
    return await start_client_onboarding(
        env.client,
        onboarding_request(top_vendors=0, **changes),
        task_queue=queue,
        workflow_id=f"client-onboarding-{uuid.uuid4()}",
    )


async def pending(handle: Handle) -> PendingApproval:
    for _ in range(600):
        found = await handle.query(ClientOnboarding.pending_approval)
        if found is not None:
            return found
        await asyncio.sleep(0.05)
    raise AssertionError("no approval became pending")


async def updates(handle: Handle) -> int:
    history = await handle.fetch_history()
    accepted = EventType.EVENT_TYPE_WORKFLOW_EXECUTION_UPDATE_ACCEPTED
    return sum(1 for e in history.events if e.event_type == accepted)


async def credential(
    env: WorkflowEnvironment,
    who: Principal,
    workflow_id: str,
    approval_id: str,
    action: Action,
    **more: Any,
) -> str:
    """Issued at the server's time, as `tests._onboarding.signed` explains."""
    return sign_action(
        who,
        workflow_id,
        decision_action(action.value),
        subject=approval_id,
        content=Decision(approval_id=approval_id, action=action, **more).content(),
        now=await env.get_current_time(),
    )


async def test_forged_and_misused_decisions_are_refused_and_nothing_is_applied(
    time_skipping_env: WorkflowEnvironment, deps: Dependencies
) -> None:
    await initech(deps.pool)
    await existing_books(deps.pool)
    before = await books(deps.pool)
    async with running_worker(time_skipping_env) as queue:
        handle = await start(time_skipping_env, queue)
        asked = await pending(handle)
        # Nothing of the import or the profile has reached the books while it waits.
        assert await books(deps.pool) == before
        other = await start(time_skipping_env, queue)
        other_asked = await pending(other)
        approve = Decision(approval_id=asked.approval_id, action=Action.APPROVE)
        good = await credential(
            time_skipping_env, ACCOUNTANT, handle.id, asked.approval_id, Action.APPROVE
        )
        body, mac = good.rsplit(".", 1)
        attempts: list[tuple[str, Decision, str]] = [
            (
                "the issue's payload: a principal named, no proof",
                approve.model_copy(update={"approver": MALLORY}),
                "no credential",
            ),
            (
                "a genuine credential, another approver named",
                approve.model_copy(update={"approver": MALLORY, "credential": good}),
                "issued to 'initech-accountant'",
            ),
            (
                "an altered signature",
                approve.model_copy(update={"credential": body + "." + mac[::-1]}),
                "signature does not match",
            ),
            (
                "the wrong role",
                await signed(time_skipping_env, approve, VIEWER, handle.id),
                "is a viewer; update 'decide' is for accountant, owner only",
            ),
            (
                "another tenant",
                await signed(
                    time_skipping_env,
                    approve,
                    Principal(id="acme-accountant", tenant_id="acme", role=Role.ACCOUNTANT),
                    handle.id,
                ),
                "is not of tenant 'initech'",
            ),
            (
                "expired",
                approve.model_copy(
                    update={
                        "credential": sign_action(
                            ACCOUNTANT,
                            handle.id,
                            "decide:approve",
                            subject=asked.approval_id,
                            content=approve.content(),
                            now=await time_skipping_env.get_current_time() - timedelta(hours=2),
                        )
                    }
                ),
                "the credential has expired",
            ),
            (
                "replayed from an earlier approval (a revision) of this run",
                approve.model_copy(
                    update={
                        "credential": await credential(
                            time_skipping_env,
                            ACCOUNTANT,
                            handle.id,
                            "an-earlier-approval",
                            Action.APPROVE,
                        )
                    }
                ),
                f"does not cover approval {asked.approval_id!r}",
            ),
            (
                "a tampered action",
                Decision(
                    approval_id=asked.approval_id,
                    action=Action.REJECT,
                    comments="drop everything",
                    credential=good,
                ),
                "does not cover action 'decide:reject' (it was issued for 'decide:approve')",
            ),
            (
                "tampered comments",
                Decision(
                    approval_id=asked.approval_id,
                    action=Action.REJECT,
                    comments="drop everything",
                    credential=await credential(
                        time_skipping_env,
                        ACCOUNTANT,
                        handle.id,
                        asked.approval_id,
                        Action.REJECT,
                        comments="map 6300 to travel",
                    ),
                ),
                "issued for different content",
            ),
            (
                "not among those asked",
                await signed(time_skipping_env, approve, OWNER, handle.id),
                "'initech-owner' was not asked",
            ),
        ]
        for what, decision, reason in attempts:
            with pytest.raises(WorkflowUpdateFailedError) as refused:
                await handle.execute_update(ClientOnboarding.decide, decision)
            assert reason in str(refused.value.cause), what
        # A replayed credential is refused on the other run too, whose id it does not name.
        with pytest.raises(WorkflowUpdateFailedError) as refused:
            await other.execute_update(
                ClientOnboarding.decide,
                Decision(
                    approval_id=other_asked.approval_id, action=Action.APPROVE, credential=good
                ),
            )
        assert "does not cover workflow" in str(refused.value.cause)
        assert await updates(handle) == 0
        assert await books(deps.pool) == before
        assert await handle.query(ClientOnboarding.pending_approval) == asked

        # The legitimate decision, through the same Update, is accepted and applied.
        await handle.execute_update(
            ClientOnboarding.decide, await signed(time_skipping_env, approve, ACCOUNTANT, handle.id)
        )
        result = await handle.result()
        await other.terminate("test done")
    assert result.outcome is OnboardingOutcome.APPLIED and result.decided_by == ACCOUNTANT.id
    after = await books(deps.pool)
    assert after["profile"]["legal_name"] == "Initech LLC"
    assert {a["code"] for a in after["accounts"]} >= {"1000", "6000", "6300", "9000"}


async def test_a_principal_that_no_longer_exists_is_refused_before_anything_is_written(
    time_skipping_env: WorkflowEnvironment, deps: Dependencies
) -> None:
    await initech(deps.pool)
    before = await books(deps.pool)
    async with running_worker(time_skipping_env) as queue:
        handle = await start(time_skipping_env, queue, approvers=[MALLORY.id])
        asked = await pending(handle)
        # A genuine signature over a principal the platform does not know (a signer bug, or
        # a principal deleted since): the activity that checks the table refuses it.
        decision = await signed(
            time_skipping_env,
            Decision(approval_id=asked.approval_id, action=Action.APPROVE),
            MALLORY,
            handle.id,
        )
        with pytest.raises(WorkflowUpdateFailedError) as refused:
            await handle.execute_update(ClientOnboarding.decide, decision)
        assert "principal 'mallory-from-the-internet' does not exist" in str(refused.value.cause)
        assert await handle.query(ClientOnboarding.pending_approval) == asked
        await handle.terminate("test done")
    assert await books(deps.pool) == before


async def test_four_eyes_the_starter_may_not_approve(
    time_skipping_env: WorkflowEnvironment, deps: Dependencies
) -> None:
    await initech(deps.pool)
    async with running_worker(time_skipping_env) as queue:
        handle = await start(
            time_skipping_env, queue, principal=ACCOUNTANT, approvers=[ACCOUNTANT.id, OWNER.id]
        )
        asked = await pending(handle)
        approve = Decision(approval_id=asked.approval_id, action=Action.APPROVE)
        with pytest.raises(WorkflowUpdateFailedError) as refused:
            await handle.execute_update(
                ClientOnboarding.decide,
                await signed(time_skipping_env, approve, ACCOUNTANT, handle.id),
            )
        assert "started this onboarding and may not approve it" in str(refused.value.cause)
        await handle.execute_update(
            ClientOnboarding.decide, await signed(time_skipping_env, approve, OWNER, handle.id)
        )
        assert (await handle.result()).decided_by == OWNER.id


async def test_a_rejection_leaves_the_books_exactly_as_they_were(
    time_skipping_env: WorkflowEnvironment, deps: Dependencies
) -> None:
    await initech(deps.pool)
    await existing_books(deps.pool)
    before = await books(deps.pool)
    async with running_worker(time_skipping_env) as queue:
        handle = await start(time_skipping_env, queue, max_revisions=0)
        asked = await pending(handle)
        # While it waits, the imported chart is staged (outside the books)...
        assert await staged_rows(deps.pool) > 0
        reject = Decision(
            approval_id=asked.approval_id, action=Action.REJECT, comments="wrong client"
        )
        await handle.execute_update(
            ClientOnboarding.decide, await signed(time_skipping_env, reject, ACCOUNTANT, handle.id)
        )
        result = await handle.result()
    assert result.outcome is OnboardingOutcome.REJECTED
    assert await books(deps.pool) == before
    assert await staged_rows(deps.pool) == 0  # ...and the rejection discards it


async def test_a_signal_without_proof_is_recorded_and_ignored(
    time_skipping_env: WorkflowEnvironment, deps: Dependencies
) -> None:
    await initech(deps.pool)
    before = await books(deps.pool)
    async with running_worker(time_skipping_env) as queue:
        handle = await start(time_skipping_env, queue)
        asked = await pending(handle)
        forged = {
            "approval_id": asked.approval_id,
            "action": "approve",
            "approver": MALLORY.model_dump(mode="json"),
        }
        await handle.signal(ClientOnboarding.submit_decision, forged)
        for _ in range(200):
            status = await handle.query(ClientOnboarding.status)
            if status.ignored_signals:
                break
            await asyncio.sleep(0.05)
        assert status.ignored_signals == [
            "refused: no credential: get one from the API, `ledgerd approval-token` or "
            "`ledgerd action-token`, which authenticate you first"
        ]
        assert await handle.query(ClientOnboarding.pending_approval) == asked
        await handle.terminate("test done")
    assert await books(deps.pool) == before
