"""A small ledger for daemon tests: one tenant, a chart of accounts, messy transactions."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

from accounting.principals import Principal, Role
from ledgerd.db import Pool

ACCOUNTANT = Principal(id="acme-accountant", tenant_id="acme", role=Role.ACCOUNTANT)
BLUE_BOTTLE = "SQ *BLUE BOTTLE COFF OAKLAND CA"
UBER = "UBER   *TRIP HELP.UBER.COM"

ACCOUNTS = [
    ("6100", "Software subscriptions", "software"),
    ("6200", "Meals and coffee", "meals"),
    ("6300", "Travel", "travel"),
    ("6900", "Other expenses", "other_expense"),
]


async def small_ledger(pool: Pool) -> None:
    async with pool.connection() as conn, conn.transaction():
        await conn.execute("INSERT INTO tenants (id, name) VALUES ('acme', 'Acme Robotics')")
        # Daemons prove their principal against the platform's table before any tool runs.
        await conn.execute(
            "INSERT INTO principals (id, tenant_id, display_name, role) "
            "VALUES (%s, 'acme', 'Acme accountant', %s) ON CONFLICT (id) DO NOTHING",
            (ACCOUNTANT.id, ACCOUNTANT.role.value),
        )
        for code, name, category in ACCOUNTS:
            await conn.execute(
                "INSERT INTO accounts (tenant_id, code, name, account_type, standard_category) "
                "VALUES ('acme', %s, %s, 'expense', %s)",
                (code, name, category),
            )
        rows = [(BLUE_BOTTLE, Decimal("-5.75"))] * 3 + [(UBER, Decimal("-23.10"))] * 2
        for n, (descriptor, amount) in enumerate(rows, start=1):
            await conn.execute(
                "INSERT INTO bank_transactions (id, tenant_id, bank_account, posted_date, "
                "raw_descriptor, amount, currency) VALUES (%s, 'acme', 'checking', %s, %s, %s, 'USD')",
                (f"acme-t{n}", dt.date(2025, 4, n), descriptor, amount),
            )
