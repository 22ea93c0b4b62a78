"""Scratch tenants: where the cases that write run, one per case and variant.

Vendor hydration upserts a vendor and links transactions; onboarding imports and applies a
chart. Run against a shared tenant, the second variant would find the first one's vendor
already there and nothing left to link, so the comparison would not be fair (and the demo
tenants would change under the question set's expected answers). Each writing case therefore
runs in its own tenant, `eval-<run>-<a|b>-<n>`: a fresh one for onboarding, a copy of the
source tenant's books for vendor hydration. Their bearer tokens are random and never shown,
so nobody can sign in as them. They stay after the comparison, so every run can still be
traced and inspected; they are never the demo tenants.
"""

from __future__ import annotations

import secrets

from accounting.principals import Principal, Role
from accounting.tenants import open_tenant
from ledgerd.db import Pool


async def open_scratch_tenant(pool: Pool, tenant_id: str, name: str) -> None:
    """A new tenant in status `onboarding`, with one principal per role (`<tenant>-<role>`)."""
    await open_tenant(pool, tenant_id, name, {role: secrets.token_urlsafe(24) for role in Role})


def principal(tenant_id: str, role: Role) -> Principal:
    return Principal(id=f"{tenant_id}-{role.value}", tenant_id=tenant_id, role=role)


async def copy_books(pool: Pool, source: str, target: str) -> int:
    """Copy what vendor hydration reads into the (new) `target` tenant: `source`'s chart of
    accounts, its vendors and its unlinked bank transactions (ids prefixed with the target's).
    Returns the number of transactions copied."""
    async with pool.connection() as conn, conn.transaction():
        found = await conn.execute("SELECT 1 FROM tenants WHERE id = %s", (source,))
        if await found.fetchone() is None:
            raise LookupError(f"tenant {source!r} does not exist: is the database seeded?")
        await conn.execute("UPDATE tenants SET status = 'active' WHERE id = %s", (target,))
        await conn.execute(
            """INSERT INTO accounts (tenant_id, code, name, account_type, standard_category, active)
               SELECT %s, code, name, account_type, standard_category, active
               FROM accounts WHERE tenant_id = %s""",
            (target, source),
        )
        await conn.execute(
            """INSERT INTO vendors (tenant_id, canonical_name, normalized_name, domain, category,
                   account_code, headquarters, aliases, descriptors, provenance)
               SELECT %s, canonical_name, normalized_name, domain, category, account_code,
                   headquarters, aliases, descriptors, provenance
               FROM vendors WHERE tenant_id = %s""",
            (target, source),
        )
        copied = await conn.execute(
            """INSERT INTO bank_transactions (id, tenant_id, bank_account, posted_date,
                   raw_descriptor, amount, currency, account_code)
               SELECT %s || id, %s, bank_account, posted_date, raw_descriptor, amount,
                   currency, account_code
               FROM bank_transactions WHERE tenant_id = %s AND vendor_id IS NULL""",
            (f"{target}-", target, source),
        )
        return copied.rowcount
