"""Deterministic demo data: two tenants with a year (2025) of realistic bank activity.

`seed_demo_data(pool)` creates `acme` (Acme Robotics Inc., a San Francisco robotics startup)
and `globex` (Globex Coffee Roasters LLC, a Seattle coffee roaster), each with a client
profile, one principal of every role, a chart of accounts, pre-existing vendors for about 60% of
its merchants, and more than 5,000 bank transactions over 150+ merchants of the company
directory plus a few local ones. Transactions of pre-existing vendors are linked (vendor_id and
account_code set); the rest are left for the vendor-hydration daemon to enrich.

Identical on every run and machine: all randomness comes from fixed-seed `random.Random`
instances and all timestamps are fixed. Idempotent: a demo tenant that already exists is left
alone (its current counts are returned); `reset=True` deletes the demo tenants' rows from every
table first, then seeds them afresh.

Demo bearer tokens: principal `acme-owner` authenticates with `demo_token("acme-owner")`, i.e.
"demo-token-acme-owner"; the database stores only its SHA-256.
"""

from __future__ import annotations

import functools
import hashlib
import json
from datetime import UTC, date, datetime
from decimal import Decimal
from typing import Any
from uuid import UUID

from psycopg import AsyncConnection, sql
from psycopg.rows import tuple_row
from psycopg.types.json import Jsonb
from pydantic import BaseModel, Field

from demo_seed._generate import (
    TENANT_CREATED_AT,
    VENDOR_CREATED_AT,
    DemoTenantData,
    DemoTransaction,
    DemoVendor,
    generate_all,
    normalized_vendor_name,
)
from demo_seed._tenants import TENANTS
from ledgerd.db import Pool

__all__ = [
    "DEMO_TENANT_IDS",
    "DemoTenantData",
    "DemoTransaction",
    "DemoVendor",
    "SeedSummary",
    "TenantSeedCounts",
    "demo_dataset",
    "demo_token",
    "normalized_vendor_name",
    "open_demo_client",
    "seed_demo_data",
    "seed_fingerprint",
]

DEMO_TENANT_IDS: tuple[str, ...] = tuple(t.id for t in TENANTS)
# Serialises concurrent seeders (worker, API and CLI may start together); any fixed number.
_SEED_LOCK = 0x5EED_DE30
# The tables the seed writes, with each one's tenant column and ordering key.
_SEEDED_TABLES = (
    ("tenants", "id", "id"),
    ("client_profiles", "tenant_id", "tenant_id"),
    ("principals", "tenant_id", "id"),
    ("accounts", "tenant_id", "code"),
    ("vendors", "tenant_id", "id"),
    ("bank_transactions", "tenant_id", "id"),
)


class TenantSeedCounts(BaseModel):
    tenant_id: str
    principals: int = 0
    accounts: int = 0
    vendors: int = 0
    bank_accounts: int = 0
    transactions: int = 0
    linked_transactions: int = Field(0, description="with vendor_id and account_code set")
    unlinked_transactions: int = 0
    client_profile: bool = False


class SeedSummary(BaseModel):
    created: list[str] = Field(description="demo tenants this call inserted (empty: a no-op)")
    tenants: dict[str, TenantSeedCounts]

    @property
    def total_transactions(self) -> int:
        return sum(t.transactions for t in self.tenants.values())


def demo_token(principal_id: str) -> str:
    """The documented demo bearer token of a seeded principal (e.g. "demo-token-acme-owner")."""
    return f"demo-token-{principal_id}"


async def open_demo_client(
    pool: Pool, tenant_id: str = "initech", name: str = "Initech LLC"
) -> None:
    """The demo's client to onboard: a tenant in status `onboarding` with one principal per
    role and the documented demo tokens. Demo only: outside a demo, a platform administrator
    creates a tenant with `ledgerd tenant create`, which issues random tokens."""
    from accounting.principals import Role
    from accounting.tenants import open_tenant

    tokens = {role: demo_token(f"{tenant_id}-{role.value}") for role in Role}
    await open_tenant(pool, tenant_id, name, tokens)


def _token_sha256(principal_id: str) -> str:
    return hashlib.sha256(demo_token(principal_id).encode()).hexdigest()


@functools.lru_cache(maxsize=1)
def demo_dataset() -> tuple[DemoTenantData, ...]:
    """The generated demo data (pure, no database): what `seed_demo_data` inserts."""
    return generate_all(TENANTS)


async def seed_demo_data(pool: Pool, *, reset: bool = False) -> SeedSummary:
    """Create the demo tenants that do not exist yet (all of them again with `reset`)."""
    data = demo_dataset()
    ids = list(DEMO_TENANT_IDS)
    created: list[str] = []
    async with pool.connection() as conn, conn.transaction():
        # One transaction: a crash mid-seed leaves nothing behind, and a concurrent seeder
        # waits here, then finds the tenants and does nothing.
        await conn.execute("SELECT pg_advisory_xact_lock(%s)", (_SEED_LOCK,))
        if reset:
            await _delete_tenants(conn, ids)
        cursor = conn.cursor(row_factory=tuple_row)
        await cursor.execute("SELECT id FROM tenants WHERE id = ANY(%s)", (ids,))
        existing = {row[0] for row in await cursor.fetchall()}
        for tenant in data:
            if tenant.spec.id not in existing:
                await _insert_tenant(conn, tenant)
                created.append(tenant.spec.id)
        counts = await _counts(conn, ids)
    return SeedSummary(created=created, tenants=counts)


async def _delete_tenants(conn: AsyncConnection[Any], ids: list[str]) -> None:
    """Delete every row of `ids` from every table with a tenant_id, children first."""
    cursor = conn.cursor(row_factory=tuple_row)
    await cursor.execute(
        "SELECT table_name FROM information_schema.columns "
        "WHERE table_schema = current_schema() AND column_name = 'tenant_id' "
        "ORDER BY table_name"
    )
    tables = [row[0] for row in await cursor.fetchall() if row[0] != "tenants"]
    # Other parts of the platform add tables; the foreign keys decide the order, not a list.
    await cursor.execute(
        "SELECT child.relname, parent.relname FROM pg_constraint c "
        "JOIN pg_class child ON child.oid = c.conrelid "
        "JOIN pg_class parent ON parent.oid = c.confrelid "
        "JOIN pg_namespace n ON n.oid = child.relnamespace "
        "WHERE c.contype = 'f' AND n.nspname = current_schema()"
    )
    parents: dict[str, set[str]] = {table: set() for table in tables}
    for child, parent in await cursor.fetchall():
        if child in parents and parent in parents and child != parent:
            parents[child].add(parent)
    ordered: list[str] = []
    remaining = sorted(tables)
    while remaining:
        # A table goes once no remaining table references it.
        ready = [t for t in remaining if not any(t in parents[o] for o in remaining if o != t)]
        if not ready:
            raise RuntimeError(f"foreign-key cycle among {remaining}; cannot order deletes")
        ordered += ready
        remaining = [t for t in remaining if t not in ready]
    for table in ordered:
        await conn.execute(
            sql.SQL("DELETE FROM {} WHERE tenant_id = ANY(%s)").format(sql.Identifier(table)),
            (ids,),
        )
    await conn.execute("DELETE FROM tenants WHERE id = ANY(%s)", (ids,))


async def _insert_tenant(conn: AsyncConnection[Any], tenant: DemoTenantData) -> None:
    spec = tenant.spec
    cursor = conn.cursor()
    await cursor.execute(
        "INSERT INTO tenants (id, name, base_currency, status, created_at) "
        "VALUES (%s, %s, 'USD', 'active', %s)",
        (spec.id, spec.name, TENANT_CREATED_AT),
    )
    await cursor.execute(
        "INSERT INTO client_profiles (tenant_id, legal_name, industry, country, "
        "fiscal_year_start, contact_email, updated_at) VALUES (%s, %s, %s, 'US', %s, %s, %s)",
        (
            spec.id,
            spec.legal_name,
            spec.industry,
            spec.fiscal_year_start,
            spec.contact_email,
            TENANT_CREATED_AT,
        ),
    )
    await cursor.executemany(
        # created_at fixed like the tenant's, so the seed is identical wherever it runs.
        "INSERT INTO principals (id, tenant_id, display_name, email, role, token_sha256, "
        "created_at) VALUES (%s, %s, %s, %s, %s, %s, %s)",
        [
            (pid, spec.id, p.display_name, p.email, p.role, _token_sha256(pid), TENANT_CREATED_AT)
            for p in spec.principals
            for pid in [f"{spec.id}-{p.role}"]
        ],
    )
    await cursor.executemany(
        "INSERT INTO accounts (tenant_id, code, name, account_type, standard_category) "
        "VALUES (%s, %s, %s, %s, %s)",
        [(spec.id, a.code, a.name, a.account_type, a.category) for a in spec.chart],
    )
    await cursor.executemany(
        "INSERT INTO vendors (id, tenant_id, canonical_name, normalized_name, domain, category, "
        "account_code, headquarters, aliases, descriptors, provenance, created_at, updated_at) "
        "VALUES (%s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s)",
        [_vendor_row(v) for v in tenant.vendors],
    )
    columns = (
        "id, tenant_id, bank_account, posted_date, raw_descriptor, amount, currency, "
        "vendor_id, account_code"
    )
    async with cursor.copy(f"COPY bank_transactions ({columns}) FROM STDIN") as copy:
        for t in tenant.transactions:
            await copy.write_row(_transaction_row(t))


def _vendor_row(v: DemoVendor) -> tuple[object, ...]:
    return (
        v.id,
        v.tenant_id,
        v.canonical_name,
        v.normalized_name,
        v.domain,
        v.category,
        v.account_code,
        v.headquarters,
        list(v.aliases),
        list(v.descriptors),
        Jsonb(v.provenance),
        VENDOR_CREATED_AT,
        VENDOR_CREATED_AT,
    )


def _transaction_row(t: DemoTransaction) -> tuple[object, ...]:
    return (
        t.id,
        t.tenant_id,
        t.bank_account,
        t.posted_date,
        t.raw_descriptor,
        t.amount,
        t.currency,
        t.vendor_id,
        t.account_code,
    )


async def _counts(conn: AsyncConnection[Any], ids: list[str]) -> dict[str, TenantSeedCounts]:
    cursor = conn.cursor(row_factory=tuple_row)
    await cursor.execute(
        "SELECT t.id,"
        " (SELECT count(*) FROM principals p WHERE p.tenant_id = t.id),"
        " (SELECT count(*) FROM accounts a WHERE a.tenant_id = t.id),"
        " (SELECT count(*) FROM vendors v WHERE v.tenant_id = t.id),"
        " (SELECT count(DISTINCT b.bank_account) FROM bank_transactions b"
        "   WHERE b.tenant_id = t.id),"
        " (SELECT count(*) FROM bank_transactions b WHERE b.tenant_id = t.id),"
        " (SELECT count(*) FROM bank_transactions b WHERE b.tenant_id = t.id"
        "   AND b.vendor_id IS NOT NULL),"
        " EXISTS (SELECT 1 FROM client_profiles c WHERE c.tenant_id = t.id)"
        " FROM tenants t WHERE t.id = ANY(%s) ORDER BY t.id",
        (ids,),
    )
    counts = {}
    for (
        tid,
        principals,
        accounts,
        vendors,
        banks,
        total,
        linked,
        profile,
    ) in await cursor.fetchall():
        counts[tid] = TenantSeedCounts(
            tenant_id=tid,
            principals=principals,
            accounts=accounts,
            vendors=vendors,
            bank_accounts=banks,
            transactions=total,
            linked_transactions=linked,
            unlinked_transactions=total - linked,
            client_profile=profile,
        )
    return counts


def _canonical(value: object) -> object:
    if isinstance(value, datetime):
        return value.astimezone(UTC).isoformat()
    if isinstance(value, date | Decimal | UUID):
        return str(value)
    raise TypeError(f"cannot fingerprint {type(value).__name__}")


async def seed_fingerprint(pool: Pool) -> str:
    """SHA-256 over every row of the demo tenants in the seeded tables, in key order.

    Equal fingerprints mean equal data, column by column (timestamps in UTC)."""
    digest = hashlib.sha256()
    ids = list(DEMO_TENANT_IDS)
    async with pool.connection() as conn:
        cursor = conn.cursor(row_factory=tuple_row)
        for table, tenant_column, order in _SEEDED_TABLES:
            query = sql.SQL("SELECT * FROM {} WHERE {} = ANY(%s) ORDER BY {}, {}").format(
                sql.Identifier(table),
                sql.Identifier(tenant_column),
                sql.Identifier(tenant_column),
                sql.Identifier(order),
            )
            await cursor.execute(query, (ids,))
            names = [column.name for column in cursor.description or ()]
            for row in await cursor.fetchall():
                record = dict(zip(names, row, strict=True))
                line = json.dumps([table, record], sort_keys=True, default=_canonical)
                digest.update(line.encode())
                digest.update(b"\n")
    return digest.hexdigest()
