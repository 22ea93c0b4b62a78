"""A client company to onboard: a tenant in status `onboarding`, its export and some spend."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from typing import Any

from temporalio.testing import WorkflowEnvironment

from accounting.clients import ClientProfile
from accounting.principals import Principal, Role
from accounting.tenants import open_tenant
from ledgerd.db import Pool
from ledgerd.onboarding import ChartFormat, Decision, DecisionReceipt, OnboardingRequest
from starter.client_onboarding import decide_onboarding, signed_decision
from tests._ledger import BLUE_BOTTLE, UBER

TENANT = "initech"
STARTER = Principal(id="initech-service", tenant_id=TENANT, role=Role.SERVICE)
ACCOUNTANT = Principal(id="initech-accountant", tenant_id=TENANT, role=Role.ACCOUNTANT)
OWNER = Principal(id="initech-owner", tenant_id=TENANT, role=Role.OWNER)
VIEWER = Principal(id="initech-viewer", tenant_id=TENANT, role=Role.VIEWER)

QUICKBOOKS_CHART = """Account #,Account,Type,Detail Type,Description
1000,Operating Checking,Bank,Checking,
1200,Accounts Receivable,Accounts receivable (A/R),Accounts Receivable,
2000,Accounts Payable,Accounts payable (A/P),Accounts Payable,
2100,Company Amex,Credit Card,Credit Card,
3000,Owner's Equity,Equity,Owner's Equity,
4000,Consulting Revenue,Income,Service/Fee Income,
6000,Software Subscriptions,Expenses,Software,
6100,Meals and Coffee,Expenses,Meals,
6200,Travel,Expenses,Travel,
6300,Miscellaneous,Expenses,Other,
"""


async def initech(pool: Pool) -> None:
    await open_tenant(pool, TENANT, "Initech LLC", {r: f"token-{r.value}" for r in Role})
    async with pool.connection() as conn, conn.transaction():
        rows = [(BLUE_BOTTLE, Decimal("-6.25"))] * 3 + [(UBER, Decimal("-31.40"))] * 2
        for n, (descriptor, amount) in enumerate(rows, start=1):
            await conn.execute(
                "INSERT INTO bank_transactions (id, tenant_id, bank_account, posted_date, "
                "raw_descriptor, amount, currency) VALUES (%s, %s, 'checking', %s, %s, %s, 'USD')",
                (f"initech-t{n}", TENANT, dt.date(2025, 6, n), descriptor, amount),
            )


def onboarding_request(**changes: object) -> OnboardingRequest:
    fields: dict[str, object] = {
        "tenant_id": TENANT,
        "principal": STARTER,
        "profile": ClientProfile(legal_name="Initech LLC", industry="Software", country="US"),
        "chart_format": ChartFormat.QUICKBOOKS,
        "chart_csv": QUICKBOOKS_CHART,
        "approvers": [ACCOUNTANT.id],
        "escalation_approvers": [OWNER.id],
        "top_vendors": 2,
    }
    return OnboardingRequest.model_validate(fields | changes)


# Credentials are issued at the server's time, not the wall clock: the workflow checks their
# expiry by workflow time, and the shared time-skipping server's clock runs days ahead once any
# test has skipped through an onboarding's timers.


async def signed(
    env: WorkflowEnvironment, decision: Decision, approver: Principal, workflow_id: str
) -> Decision:
    return signed_decision(decision, approver, workflow_id, now=await env.get_current_time())


async def decide(env: WorkflowEnvironment, workflow_id: str, **how: Any) -> DecisionReceipt:
    """`starter.decide_onboarding` on `env`'s client, signed at `env`'s time."""
    return await decide_onboarding(env.client, workflow_id, now=await env.get_current_time(), **how)
