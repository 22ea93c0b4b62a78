"""Running one case: a daemon's real workflow on the private stack, the stand-in in the
case's mode, and the run's first answer harvested with its evidence."""

from __future__ import annotations

import datetime as dt
import itertools
from decimal import Decimal
from pathlib import Path

from accounting.clients import ClientProfile
from accounting.principals import Role
from ledgerd.evals._tenants import copy_books, open_scratch_tenant, principal
from ledgerd.evals.ledger_questions import Question
from ledgerd.memory import remember
from ledgerd.memory._store import RememberRequest
from ledgerd.onboarding import ChartFormat, OnboardingRequest
from standin.corpus._harvest import Harvest, harvest
from standin.corpus._stack import Stack
from starter import start_ledger_question, start_vendor_hydration
from starter.client_onboarding import start_client_onboarding, wait_for_proposal
from tools._declaration import ToolContext

_scratch = itertools.count(1)


def scratch_tenant() -> str:
    return f"corpus-{next(_scratch):04d}"


async def run_question(
    stack: Stack, q: Question, mode: str, conversation: str | None = None
) -> Harvest | None:
    await stack.misbehave(mode, "ledger_question")
    handle = await start_ledger_question(
        stack.client,
        principal=principal(q.tenant, Role.VIEWER),
        question=q.question,
        conversation_id=conversation,
        workflow_id=f"corpus-lq-{mode}-{q.id}",
        task_queue=stack.queue,
    )
    await handle.result()
    return await harvest(stack.pool, handle.id)


async def plant_memory(
    stack: Stack, tenant: str, vendor: str, fact: str, conversation: str
) -> None:
    """A memory as an earlier run would have stored it, about `vendor` of `tenant`."""
    async with stack.pool.connection() as conn:
        cursor = await conn.execute(
            "SELECT id FROM vendors WHERE tenant_id = %s AND canonical_name = %s", (tenant, vendor)
        )
        row = await cursor.fetchone()
    assert row is not None, f"{tenant} has no vendor {vendor!r}"
    await remember(
        stack.pool,
        principal(tenant, Role.ACCOUNTANT),
        RememberRequest(fact=fact, vendor_id=row["id"]),
        idempotency_key=f"corpus/{conversation}",
        context=ToolContext(run_id=f"corpus/{conversation}", conversation_id=conversation),
    )


async def forget_memories(stack: Stack, conversation: str) -> None:
    async with stack.pool.connection() as conn:
        await conn.execute("DELETE FROM memories WHERE conversation_id = %s", (conversation,))


async def run_hydration(
    stack: Stack, source: str, descriptor: str, mode: str, key: str, plant: bool = False
) -> Harvest | None:
    """Hydrate `descriptor` in a fresh copy of `source`'s books; `plant` adds two
    transactions carrying it (a poisoned descriptor the books did not have)."""
    tenant = scratch_tenant()
    await open_scratch_tenant(stack.pool, tenant, f"{source} books for the corpus")
    await copy_books(stack.pool, source, tenant)
    if plant:
        async with stack.pool.connection() as conn:
            for n in (1, 2):
                await conn.execute(
                    "INSERT INTO bank_transactions (id, tenant_id, bank_account, posted_date, "
                    "raw_descriptor, amount, currency) VALUES (%s, %s, 'checking', %s, %s, %s, 'USD')",
                    (
                        f"{tenant}-planted-{n}",
                        tenant,
                        dt.date(2025, 5, n),
                        descriptor,
                        Decimal("-1250.00"),
                    ),
                )
    await stack.misbehave(mode, "vendor_hydration")
    handle = await start_vendor_hydration(
        stack.client,
        principal=principal(tenant, Role.SERVICE),
        descriptor=descriptor,
        workflow_id=f"corpus-vh-{mode}-{key}",
        task_queue=stack.queue,
    )
    await handle.result()
    return await harvest(stack.pool, handle.id)


async def run_mapping(
    stack: Stack, chart_csv: str, chart_format: ChartFormat, legal_name: str, mode: str, key: str
) -> Harvest | None:
    """Onboard a fresh tenant with `chart_csv` until its proposal waits for approval, then
    stop it: the mapping's conversation is what the corpus needs."""
    tenant = scratch_tenant()
    await open_scratch_tenant(stack.pool, tenant, legal_name)
    await stack.misbehave(mode, "account_mapping")
    request = OnboardingRequest(
        tenant_id=tenant,
        principal=principal(tenant, Role.SERVICE),
        profile=ClientProfile(legal_name=legal_name, industry="Various", country="US"),
        chart_format=chart_format,
        chart_csv=chart_csv,
        approvers=[principal(tenant, Role.ACCOUNTANT).id],
        top_vendors=0,
    )
    handle = await start_client_onboarding(
        stack.client, request, task_queue=stack.queue, workflow_id=f"corpus-am-{mode}-{key}"
    )
    try:
        await wait_for_proposal(handle, within_seconds=120)
    finally:
        await handle.terminate("corpus: the proposal is all the corpus needs")
    return await harvest(stack.pool, handle.id)


def chart_slices(path: Path, size: int) -> list[tuple[str, list[str]]]:
    """The chart cut into pieces of at most `size` accounts, each with the header: (csv,
    codes)."""
    header, *rows = [line for line in path.read_text(encoding="utf-8").splitlines() if line.strip()]
    slices = []
    for start in range(0, len(rows), size):
        part = rows[start : start + size]
        codes = [row.split(",", 1)[0].lstrip("*") for row in part]
        slices.append(("\n".join([header, *part]) + "\n", codes))
    return slices
