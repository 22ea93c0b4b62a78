"""The deterministic demo data: what it contains, and that seeding is repeatable and idempotent."""

from __future__ import annotations

import hashlib
import os
import re
import subprocess
import sys
import time
from collections import defaultdict
from datetime import date
from decimal import Decimal

from accounting.principals import Role
from demo_seed import (
    DEMO_TENANT_IDS,
    demo_dataset,
    demo_token,
    seed_demo_data,
    seed_fingerprint,
)
from demo_seed._generate import generate_all
from demo_seed._tenants import TENANTS
from ledgerd.company_lookup import all_companies
from ledgerd.db import Pool, open_pool
from ledgerd.stack import EmbeddedPostgres
from tests.conftest import TEMPLATE, clone_database

# ---- the generated data, no database -------------------------------------------------------


def test_each_tenant_has_a_year_of_transactions_over_many_merchants() -> None:
    directory = {c.name for c in all_companies()}
    for tenant in demo_dataset():
        transactions = tenant.transactions
        assert len(transactions) >= 5000, tenant.spec.id
        used = {t.merchant for t in transactions}
        assert len(used & directory) >= 150, tenant.spec.id
        assert len(set(tenant.merchants) - directory) >= 5  # local, unknown merchants
        assert min(t.posted_date for t in transactions) >= date(2025, 1, 1)
        assert max(t.posted_date for t in transactions) <= date(2025, 12, 31)
        months = {t.posted_date.month for t in transactions}
        assert months == set(range(1, 13))
        ids = [t.id for t in transactions]
        assert len(set(ids)) == len(ids)
        assert all(re.fullmatch(rf"{tenant.spec.id}-t\d{{6}}", i) for i in ids)
        assert len({t.bank_account for t in transactions}) >= 3


def test_amounts_are_decimal_cents_with_money_in_and_out() -> None:
    for tenant in demo_dataset():
        amounts = [t.amount for t in tenant.transactions]
        assert all(isinstance(a, Decimal) and a.as_tuple().exponent == -2 for a in amounts)
        assert all(a != 0 for a in amounts)
        assert any(a > 0 for a in amounts) and any(a < 0 for a in amounts)
        assert {t.currency for t in tenant.transactions} == {"USD"}


def test_about_sixty_percent_of_merchants_are_vendors_and_links_are_consistent() -> None:
    for tenant in demo_dataset():
        share = len(tenant.vendors) / len(tenant.merchants)
        assert 0.55 <= share <= 0.65, share
        codes = {a.code: a for a in tenant.spec.chart}
        vendor_ids = {v.id for v in tenant.vendors}
        assert len({v.normalized_name for v in tenant.vendors}) == len(tenant.vendors)
        for vendor in tenant.vendors:
            assert codes[vendor.account_code].category == vendor.category
            assert vendor.descriptors, vendor.canonical_name
            assert vendor.provenance["canonical_name"] == {"source": "seed", "confidence": 1.0}
        linked = [t for t in tenant.transactions if t.vendor_id is not None]
        unlinked = [t for t in tenant.transactions if t.vendor_id is None]
        assert len(linked) > 1000 and len(unlinked) > 1000
        assert all(t.vendor_id in vendor_ids and t.account_code in codes for t in linked)
        assert all(t.account_code is None for t in unlinked)


def test_charts_are_realistic_and_differ_between_tenants() -> None:
    charts = {t.id: {(a.code, a.name) for a in t.chart} for t in TENANTS}
    assert charts["acme"].isdisjoint(charts["globex"])
    for tenant in TENANTS:
        assert 25 <= len(tenant.chart) <= 40
        assert len({a.code for a in tenant.chart}) == len(tenant.chart)


def test_descriptors_are_as_messy_as_real_ones() -> None:
    for tenant in demo_dataset():
        descriptors = [t.raw_descriptor for t in tenant.transactions]
        text = "\n".join(descriptors)
        for marker in (
            "SQ *",
            "TST*",
            "PAYPAL *",
            "POS DEBIT",
            "CHECKCARD",
            "PPD ID:",
            "AMZN Mktp US*",
            "GUSTO",
            "  ",
        ):
            assert marker in text, (tenant.spec.id, marker)
        with_reference = sum(
            bool(re.search(r"\d{4,}|[A-Z0-9]*\d[A-Z0-9]*[A-Z]", d)) for d in descriptors
        )
        assert with_reference / len(descriptors) > 0.5
        variants: dict[str, set[str]] = defaultdict(set)
        for t in tenant.transactions:
            variants[t.merchant].add(t.raw_descriptor)
        busy = [m for m in variants if sum(t.merchant == m for t in tenant.transactions) >= 50]
        assert busy and all(len(variants[m]) >= 5 for m in busy), [
            (m, len(variants[m])) for m in busy if len(variants[m]) < 5
        ]
    acme = demo_dataset()[0]
    bottle = {t.raw_descriptor for t in acme.transactions if t.merchant == "Blue Bottle Coffee"}
    assert any(d.startswith("SQ *BLUE BOTTLE COFF") for d in bottle)


def _quarter_spend(tenant_id: str, quarter: int) -> dict[str, Decimal]:
    tenant = next(t for t in demo_dataset() if t.spec.id == tenant_id)
    spend: dict[str, Decimal] = defaultdict(Decimal)
    for t in tenant.transactions:
        if t.amount < 0 and not t.transfer and (t.posted_date.month - 1) // 3 + 1 == quarter:
            spend[t.merchant] -= t.amount
    return spend


def test_q3_over_q2_growth_has_a_clear_leader_and_cancellations_stop() -> None:
    for tenant_id, leader in (("acme", "Amazon Web Services"), ("globex", "Cafe Imports")):
        q2, q3 = _quarter_spend(tenant_id, 2), _quarter_spend(tenant_id, 3)
        growth = sorted(((q3[m] - q2.get(m, Decimal(0)), m) for m in q3), reverse=True)
        print(f"\n{tenant_id} Q3-Q2 growth leaders: {growth[:3]}")
        assert growth[0][1] == leader
        assert growth[0][0] > Decimal("1.5") * growth[1][0]
    acme = demo_dataset()[0]
    for merchant, last_month in (("Dropbox", 6), ("Zoom Communications", 5), ("Asana", 7)):
        months = {t.posted_date.month for t in acme.transactions if t.merchant == merchant}
        assert max(months) == last_month, merchant


def test_payroll_runs_twice_a_month_and_subscriptions_keep_their_price() -> None:
    acme = demo_dataset()[0]
    net_pay = [t for t in acme.transactions if t.merchant == "Gusto" and t.amount < -100000]
    assert len(net_pay) == 24
    slack = [t.amount for t in acme.transactions if t.merchant == "Slack Technologies"]
    assert len(slack) == 12 and slack == sorted(slack, reverse=True)  # seats only grow


def test_generation_is_identical_in_fresh_interpreters() -> None:
    # Different PYTHONHASHSEEDs: no set or dict iteration order may leak into the data.
    script = (
        "import hashlib;from demo_seed import demo_dataset;"
        "h=hashlib.sha256();"
        "[h.update(repr((t.id,t.raw_descriptor,str(t.amount),t.vendor_id,t.account_code))"
        ".encode()) for d in demo_dataset() for t in d.transactions];"
        "[h.update(repr(v).encode()) for d in demo_dataset() for v in d.vendors];"
        "print(h.hexdigest())"
    )
    digests = set()
    for hash_seed in ("1", "4242"):
        env = {**os.environ, "PYTHONHASHSEED": hash_seed}
        result = subprocess.run(
            [sys.executable, "-c", script], env=env, capture_output=True, text=True, check=True
        )
        digests.add(result.stdout.strip())
    in_process = generate_all(TENANTS)
    assert in_process == demo_dataset()
    assert len(digests) == 1


def test_demo_tokens_are_documented_and_hashed() -> None:
    assert demo_token("acme-owner") == "demo-token-acme-owner"


# ---- seeding a real database ---------------------------------------------------------------


async def test_seed_creates_every_role_and_the_expected_rows(pool: Pool) -> None:
    started = time.perf_counter()
    summary = await seed_demo_data(pool)
    elapsed = time.perf_counter() - started
    print(f"\nseeded {summary.total_transactions} transactions in {elapsed:.2f}s")
    assert summary.created == list(DEMO_TENANT_IDS)
    expected = {t.spec.id: t for t in demo_dataset()}
    for tenant_id, counts in summary.tenants.items():
        data = expected[tenant_id]
        assert counts.transactions == len(data.transactions) >= 5000
        assert counts.vendors == len(data.vendors)
        assert counts.linked_transactions > 0 and counts.unlinked_transactions > 0
        assert counts.principals == 4 and counts.client_profile
        assert counts.bank_accounts >= 3
    async with pool.connection() as conn:
        cursor = await conn.execute(
            "SELECT tenant_id, role, id, token_sha256 FROM principals ORDER BY id"
        )
        principals = await cursor.fetchall()
        for tenant_id in DEMO_TENANT_IDS:
            roles = {p["role"] for p in principals if p["tenant_id"] == tenant_id}
            assert roles == {r.value for r in Role}
        for p in principals:
            assert p["id"] == f"{p['tenant_id']}-{p['role']}"
            token = demo_token(p["id"]).encode()
            assert p["token_sha256"] == hashlib.sha256(token).hexdigest()
        cursor = await conn.execute(
            "SELECT amount, pg_typeof(amount)::text AS type FROM bank_transactions LIMIT 50"
        )
        for row in await cursor.fetchall():
            assert row["type"] == "numeric"
            assert row["amount"].as_tuple().exponent == -2
        cursor = await conn.execute(
            "SELECT count(*) AS n FROM bank_transactions b JOIN vendors v "
            "ON v.tenant_id = b.tenant_id AND v.id = b.vendor_id "
            "WHERE b.account_code IS NULL"
        )
        assert (await cursor.fetchone() or {})["n"] == 0
        cursor = await conn.execute(
            "SELECT search_doc FROM vendors WHERE tenant_id = 'acme' AND canonical_name = 'Gusto'"
        )
        assert "gusto.com" in (await cursor.fetchone() or {})["search_doc"]


async def test_seed_is_identical_across_databases_and_rerunning_is_a_no_op(
    pool: Pool, postgres: EmbeddedPostgres
) -> None:
    first = await seed_demo_data(pool)
    fingerprint = await seed_fingerprint(pool)
    again = await seed_demo_data(pool)
    assert again.created == []
    assert again.tenants == first.tenants
    assert await seed_fingerprint(pool) == fingerprint

    other = await open_pool(clone_database(postgres, TEMPLATE), max_size=2)
    try:
        await seed_demo_data(other)
        assert await seed_fingerprint(other) == fingerprint
    finally:
        await other.close()


async def test_reset_deletes_dependent_rows_and_reseeds_only_the_demo_tenants(pool: Pool) -> None:
    await seed_demo_data(pool)
    fingerprint = await seed_fingerprint(pool)
    async with pool.connection() as conn, conn.transaction():
        # Rows other parts of the platform write for a demo tenant, and another tenant.
        await conn.execute("INSERT INTO tenants (id, name) VALUES ('initech', 'Initech')")
        await conn.execute(
            "INSERT INTO categorisation_rules (tenant_id, vendor_id, account_code, created_by) "
            "SELECT tenant_id, id, account_code, 'acme-accountant' FROM vendors "
            "WHERE tenant_id = 'acme' AND account_code IS NOT NULL LIMIT 3"
        )
        await conn.execute(
            "INSERT INTO idempotency_keys (key, tenant_id, handler, result) "
            "VALUES ('k1', 'acme', 'upsert_vendor', '{}')"
        )
        await conn.execute(
            "INSERT INTO onboarding_records (id, tenant_id, workflow_id, status) "
            "VALUES ('o1', 'globex', 'wf-1', 'in_progress')"
        )
        await conn.execute("UPDATE vendors SET domain = 'changed.example' WHERE tenant_id = 'acme'")
    assert await seed_fingerprint(pool) != fingerprint

    summary = await seed_demo_data(pool, reset=True)
    assert summary.created == list(DEMO_TENANT_IDS)
    assert await seed_fingerprint(pool) == fingerprint
    async with pool.connection() as conn:
        for table in ("categorisation_rules", "idempotency_keys", "onboarding_records"):
            cursor = await conn.execute(f"SELECT count(*) AS n FROM {table}")
            assert (await cursor.fetchone() or {})["n"] == 0, table
        cursor = await conn.execute("SELECT count(*) AS n FROM tenants WHERE id = 'initech'")
        assert (await cursor.fetchone() or {})["n"] == 1
