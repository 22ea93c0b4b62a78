"""The daemons a scenario runs: all three kinds, started together, awaited through faults.

Vendor hydrations take the seeded tenants' busiest unlinked merchants (as the batch
hydration starts them); client onboardings each open a new tenant and are approved by an
accountant as soon as their proposal waits; questions come from the shipped question set.
Every call to Temporal is retried while the server or the worker is away: the harness must
outlast the faults it injects, or it would measure itself.
"""

from __future__ import annotations

import asyncio
import itertools
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any, TypeVar

from temporalio.client import (
    Client,
    WorkflowExecutionStatus,
    WorkflowFailureError,
    WorkflowHandle,
)
from temporalio.service import RPCError

from accounting.clients import ClientProfile
from accounting.principals import Principal, Role
from benchmarks._fleet import merchant_groups
from ledgerd.db import open_pool
from ledgerd.onboarding import Action, ChartFormat, OnboardingRequest

HYDRATION, ONBOARDING, QUESTION = "vendor_hydration", "client_onboarding", "ledger_question"
TENANTS = ["acme", "globex"]

CHART = """Account #,Account,Type,Detail Type,Description
1000,Operating Checking,Bank,Checking,
1200,Accounts Receivable,Accounts receivable (A/R),Accounts Receivable,
2000,Accounts Payable,Accounts payable (A/P),Accounts Payable,
3000,Owner's Equity,Equity,Owner's Equity,
4000,Consulting Revenue,Income,Service/Fee Income,
6000,Software Subscriptions,Expenses,Software,
6100,Meals and Coffee,Expenses,Meals,
6200,Travel,Expenses,Travel,
"""
CHART_ROWS = len(CHART.strip().splitlines()) - 1

T = TypeVar("T")


@dataclass
class Daemon:
    kind: str
    workflow_id: str
    tenant_id: str
    transaction_ids: list[str] = field(default_factory=list)
    finished_at: float | None = None
    outcome: str | None = None  # the daemon's own outcome, once it returned one
    # A hydration's answer names the vendor it linked to; a merchant the directory does not
    # know completes with none, and links nothing (not a missing effect).
    vendor_id: str | None = None
    failure: str | None = None  # why the workflow did not return a result


@dataclass
class Workload:
    client_ref: Callable[[], Client]
    task_queue: str
    daemons: list[Daemon] = field(default_factory=list)
    approvals: int = 0
    done: asyncio.Event = field(default_factory=asyncio.Event)  # every daemon followed to its end

    def finishes(self) -> list[float]:
        return sorted(d.finished_at for d in self.daemons if d.finished_at is not None)

    def running(self) -> int:
        return sum(d.finished_at is None for d in self.daemons)


async def persist(call: Callable[[], Awaitable[T]], deadline: float) -> T:
    """`call()`, again and again while Temporal is unreachable (restarted, or its answer lost
    with a killed worker), until `deadline` (time.monotonic())."""
    while True:
        try:
            return await call()
        except RPCError:
            if time.monotonic() > deadline:
                raise
            await asyncio.sleep(1.0)


def split(count: int) -> dict[str, int]:
    """`count` daemons over the three kinds: 40 % hydrations, 30 % onboardings, the rest
    questions (each kind at least one once there are three)."""
    onboardings = max(1, count * 3 // 10) if count >= 3 else 0
    hydrations = max(1, count * 4 // 10) if count >= 2 else count
    return {
        HYDRATION: hydrations,
        ONBOARDING: onboardings,
        QUESTION: count - hydrations - onboardings,
    }


async def prepare(database_url: str, scenario: str, count: int) -> dict[str, list[Any]]:
    """What each daemon works on: merchant groups, new tenants, questions."""
    from demo_seed import open_demo_client  # a tool: imported only when a run needs it
    from ledgerd.evals.ledger_questions import load_questions

    sizes = split(count)
    pool = await open_pool(database_url, max_size=2)
    try:
        groups = await merchant_groups(pool, TENANTS, sizes[HYDRATION])
        tenants = [f"chaos-{scenario}-{n}" for n in range(sizes[ONBOARDING])]
        for tenant in tenants:
            await open_demo_client(pool, tenant, f"Chaos client {tenant}")
    finally:
        await pool.close()
    shipped = [q for q in load_questions() if q.tenant in TENANTS]
    questions = [shipped[n % len(shipped)] for n in range(sizes[QUESTION])]
    return {HYDRATION: groups, ONBOARDING: tenants, QUESTION: questions}


async def start_all(workload: Workload, work: dict[str, list[Any]], run: str) -> None:
    """Start every daemon, interleaving the kinds so a fault meets all three at once."""
    from starter import start_client_onboarding, start_ledger_question, start_vendor_hydration

    client = workload.client_ref()
    queue = workload.task_queue
    hydrations: list[Callable[[], Awaitable[Daemon]]] = []
    onboardings: list[Callable[[], Awaitable[Daemon]]] = []
    questions: list[Callable[[], Awaitable[Daemon]]] = []
    for n, (principal, ids) in enumerate(work[HYDRATION]):

        async def hydrate(
            n: int = n, principal: Principal = principal, ids: list[str] = ids
        ) -> Daemon:
            handle = await start_vendor_hydration(
                client,
                principal=principal,
                transaction_ids=ids,
                workflow_id=f"{run}-hydrate-{n}",
                task_queue=queue,
            )
            return Daemon(HYDRATION, handle.id, principal.tenant_id, ids)

        hydrations.append(hydrate)
    for tenant in work[ONBOARDING]:

        async def onboard(tenant: str = tenant) -> Daemon:
            request = OnboardingRequest(
                tenant_id=tenant,
                principal=Principal(id=f"{tenant}-service", tenant_id=tenant, role=Role.SERVICE),
                profile=ClientProfile(
                    legal_name=f"{tenant} LLC", industry="Software", country="US"
                ),
                chart_format=ChartFormat.QUICKBOOKS,
                chart_csv=CHART,
                approvers=[f"{tenant}-accountant"],
                escalation_approvers=[f"{tenant}-owner"],
                top_vendors=0,
            )
            handle = await start_client_onboarding(
                client, request, task_queue=queue, workflow_id=f"{run}-onboard-{tenant}"
            )
            return Daemon(ONBOARDING, handle.id, tenant)

        onboardings.append(onboard)
    for n, question in enumerate(work[QUESTION]):

        async def ask(
            n: int = n, tenant: str = question.tenant, text: str = question.question
        ) -> Daemon:
            principal = Principal(id=f"{tenant}-viewer", tenant_id=tenant, role=Role.VIEWER)
            handle = await start_ledger_question(
                client,
                principal=principal,
                question=text,
                workflow_id=f"{run}-question-{n}",
                task_queue=queue,
            )
            return Daemon(QUESTION, handle.id, tenant)

        questions.append(ask)
    # Round-robin over the kinds, so the first faults do not meet only hydrations.
    for row in itertools.zip_longest(hydrations, onboardings, questions):
        for start in row:
            if start is not None:
                workload.daemons.append(await start())


async def follow(workload: Workload, daemon: Daemon, deadline: float) -> None:
    """Await one daemon's result (approving an onboarding when it asks), through faults."""
    from starter import decide_onboarding
    from workflows.client_onboarding import ClientOnboarding

    client = workload.client_ref
    if daemon.kind == ONBOARDING:
        approver = Principal(
            id=f"{daemon.tenant_id}-accountant", tenant_id=daemon.tenant_id, role=Role.ACCOUNTANT
        )
        while time.monotonic() < deadline:
            handle: WorkflowHandle[Any, Any] = client().get_workflow_handle(daemon.workflow_id)
            try:
                pending = await handle.query(ClientOnboarding.pending_approval)
                if pending is None:
                    if (await handle.describe()).status != WorkflowExecutionStatus.RUNNING:
                        break
                    await asyncio.sleep(0.5)
                    continue
                await decide_onboarding(
                    client(), daemon.workflow_id, approver=approver, action=Action.APPROVE
                )
                workload.approvals += 1
                break
            except (RPCError, LookupError):
                # Away (server restarting, no worker to answer the query), or already decided.
                await asyncio.sleep(1.0)
    while True:
        plain: WorkflowHandle[Any, Any] = client().get_workflow_handle(daemon.workflow_id)
        try:
            result = await asyncio.wait_for(
                plain.result(), timeout=max(1.0, deadline - time.monotonic())
            )
        except RPCError:
            if time.monotonic() > deadline:
                daemon.failure = "Temporal unreachable at the deadline"
                return
            await asyncio.sleep(1.0)
            continue
        except TimeoutError:
            daemon.failure = "still running at the deadline"
            return
        except WorkflowFailureError as error:
            daemon.finished_at = time.monotonic()
            daemon.failure = f"workflow failed: {error.cause or error}"[:300]
            return
        daemon.finished_at = time.monotonic()
        daemon.outcome = str(_outcome(result))
        answer = result.get("answer") if isinstance(result, dict) else None
        if isinstance(answer, dict) and answer.get("vendor_id"):
            daemon.vendor_id = str(answer["vendor_id"])
        reason = result.get("reason") if isinstance(result, dict) else None
        daemon.failure = None if reason is None else str(reason)[:300]
        return


def _outcome(result: Any) -> str:
    outcome = (
        result.get("outcome") if isinstance(result, dict) else getattr(result, "outcome", None)
    )
    return str(getattr(outcome, "value", outcome))


async def follow_all(workload: Workload, deadline: float) -> None:
    try:
        await asyncio.gather(*(follow(workload, d, deadline) for d in workload.daemons))
    finally:
        workload.done.set()
