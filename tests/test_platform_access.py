"""Every platform handler keeps tenants apart and honours roles, against real PostgreSQL."""

from __future__ import annotations

import asyncio
import datetime as dt
from collections.abc import Awaitable, Callable
from decimal import Decimal
from typing import Any
from uuid import UUID

import pytest

from accounting import accounts, clients, transactions, vendors
from accounting.errors import AccessDenied, InvalidRequest, NotFound
from accounting.principals import Principal, Role
from ledgerd.db import Pool

A_OWNER = Principal(id="a-owner", tenant_id="tenant-a", role=Role.OWNER)
A_VIEWER = Principal(id="a-viewer", tenant_id="tenant-a", role=Role.VIEWER)
B_ACCOUNTANT = Principal(id="b-accountant", tenant_id="tenant-b", role=Role.ACCOUNTANT)


@pytest.fixture
async def two_tenants(pool: Pool) -> dict[str, Any]:
    """Two tenants, each with one account, one vendor and two transactions."""
    made: dict[str, Any] = {}
    async with pool.connection() as conn, conn.transaction():
        for tenant in ("tenant-a", "tenant-b"):
            await conn.execute("INSERT INTO tenants (id, name) VALUES (%s, %s)", (tenant, tenant))
            await conn.execute(
                "INSERT INTO accounts (tenant_id, code, name, account_type, standard_category) "
                "VALUES (%s, '6100', 'Software', 'expense', 'software')",
                (tenant,),
            )
            for n in (1, 2):
                await conn.execute(
                    "INSERT INTO bank_transactions (id, tenant_id, bank_account, posted_date, "
                    "raw_descriptor, amount, currency) VALUES (%s, %s, 'checking', %s, "
                    "'SQ *BLUE BOTTLE COFF OAKLAND CA', -4.50, 'USD')",
                    (f"{tenant}-t{n}", tenant, dt.date(2025, 3, n)),
                )
    for principal in (A_OWNER, B_ACCOUNTANT):
        vendor = await vendors.upsert_vendor(
            pool,
            principal,
            vendors.VendorUpsert(canonical_name="Blue Bottle Coffee", account_code="6100"),
        )
        made[principal.tenant_id] = vendor.id
    return made


async def test_search_and_get_stay_in_tenant(pool: Pool, two_tenants: dict[str, UUID]) -> None:
    found = await vendors.search_vendors(
        pool, A_VIEWER, vendors.VendorSearch(text="SQ *BLUE BOTTLE COFF OAKLAND CA")
    )
    assert [m.vendor.id for m in found.matches] == [two_tenants["tenant-a"]]
    # Another tenant's vendor answers exactly as one that does not exist: no id oracle.
    foreign = two_tenants["tenant-b"]
    with pytest.raises(NotFound, match="not found in tenant 'tenant-a'") as theirs:
        await vendors.get_vendor(pool, A_VIEWER, vendors.VendorRef(vendor_id=foreign))
    unknown = UUID(int=7)
    with pytest.raises(NotFound, match="not found in tenant 'tenant-a'") as nobodys:
        await vendors.get_vendor(pool, A_VIEWER, vendors.VendorRef(vendor_id=unknown))
    assert str(theirs.value).replace(str(foreign), "<id>") == str(nobodys.value).replace(
        str(unknown), "<id>"
    )


async def test_link_refuses_another_tenants_rows(pool: Pool, two_tenants: dict[str, UUID]) -> None:
    with pytest.raises(
        NotFound, match="bank transaction tenant-b-t1 not found in tenant 'tenant-a'"
    ):
        await vendors.link_transactions(
            pool,
            A_OWNER,
            vendors.LinkTransactions(
                vendor_id=two_tenants["tenant-a"], transaction_ids=["tenant-a-t1", "tenant-b-t1"]
            ),
        )
    with pytest.raises(NotFound, match="not found in tenant 'tenant-a'"):
        await vendors.link_transactions(
            pool,
            A_OWNER,
            vendors.LinkTransactions(
                vendor_id=two_tenants["tenant-b"], transaction_ids=["tenant-a-t1"]
            ),
        )
    # Nothing was linked by the refused requests: they are all-or-nothing.
    page = await transactions.list_transactions(
        pool, A_OWNER, transactions.TransactionFilter(unlinked_only=True)
    )
    assert page.total == 2


async def test_reads_never_return_another_tenants_rows(
    pool: Pool, two_tenants: dict[str, UUID]
) -> None:
    page = await transactions.list_transactions(pool, A_VIEWER, transactions.TransactionFilter())
    assert {t.id for t in page.items} == {"tenant-a-t1", "tenant-a-t2"}
    sums = await transactions.aggregate_transactions(
        pool, A_VIEWER, transactions.AggregateQuery(group_by=transactions.GroupBy.MONTH)
    )
    assert [(r.key, r.total, r.count) for r in sums.rows] == [("2025-03", Decimal("9.00"), 2)]
    chart = await accounts.list_accounts(pool, A_VIEWER, accounts.NoInput())
    assert [a.code for a in chart.accounts] == ["6100"]
    with pytest.raises(NotFound, match="tenant-a"):
        await clients.get_client_profile(pool, A_VIEWER, accounts.NoInput())


WriteCall = Callable[[Principal], Awaitable[object]]


def _writes(pool: Pool, two_tenants: dict[str, UUID]) -> dict[str, WriteCall]:
    profile = clients.ClientProfile(legal_name="A Inc.", industry="Robotics", country="US")
    return {
        "upsert_vendor": lambda p: vendors.upsert_vendor(
            pool, p, vendors.VendorUpsert(canonical_name="Stripe")
        ),
        "link_transactions": lambda p: vendors.link_transactions(
            pool,
            p,
            vendors.LinkTransactions(
                vendor_id=two_tenants["tenant-a"], transaction_ids=["tenant-a-t1"]
            ),
        ),
        "upsert_account": lambda p: accounts.upsert_account(
            pool, p, accounts.Account(code="6200", name="Cloud", account_type="expense")
        ),
        "update_client_profile": lambda p: clients.update_client_profile(pool, p, profile),
    }


async def test_a_viewer_cannot_write(pool: Pool, two_tenants: dict[str, UUID]) -> None:
    for name, call in _writes(pool, two_tenants).items():
        with pytest.raises(AccessDenied, match="role 'viewer'"):
            await call(A_VIEWER)
        # The same request succeeds for a writer: the role was the only reason.
        assert await call(A_OWNER) is not None, name


async def test_upsert_is_idempotent_by_key_and_by_name(
    pool: Pool, two_tenants: dict[str, UUID]
) -> None:
    request = vendors.VendorUpsert(
        canonical_name="Blue  Bottle Coffee!", domain="bluebottlecoffee.com"
    )
    first, second = await asyncio.gather(
        vendors.upsert_vendor(pool, A_OWNER, request, idempotency_key="wf-1/step-3"),
        vendors.upsert_vendor(pool, A_OWNER, request, idempotency_key="wf-1/step-3"),
    )
    assert first == second
    assert first.id == two_tenants["tenant-a"]  # merged into the existing vendor by name
    assert first.domain == "bluebottlecoffee.com"
    async with pool.connection() as conn:
        cursor = await conn.execute("SELECT count(*) AS n FROM idempotency_keys")
        assert (await cursor.fetchone()) == {"n": 1}
    with pytest.raises(InvalidRequest, match="already used for another request"):
        await accounts.upsert_account(
            pool,
            A_OWNER,
            accounts.Account(code="7000", name="x", account_type="expense"),
            idempotency_key="wf-1/step-3",
        )


async def test_invalid_references_are_named(pool: Pool, two_tenants: dict[str, UUID]) -> None:
    with pytest.raises(InvalidRequest, match="account code '9999' is not in tenant 'tenant-a'"):
        await vendors.upsert_vendor(
            pool, A_OWNER, vendors.VendorUpsert(canonical_name="X", account_code="9999")
        )
    with pytest.raises(InvalidRequest, match="'software' is expense"):
        await accounts.upsert_account(
            pool,
            A_OWNER,
            accounts.Account(
                code="1000", name="Bank", account_type="asset", standard_category="software"
            ),
        )


@pytest.mark.parametrize(
    ("text", "found"),
    [
        ("7 11", True),  # only digits: normalisation leaves no word
        ("7-11 #4471", True),
        ("A B", False),  # only single letters
        ("*** ---", False),  # nothing but punctuation
        ("7 & 11 | !(", True),  # tsquery operators in the input are not syntax
    ],
)
async def test_search_survives_descriptors_normalisation_leaves_no_word_of(
    pool: Pool, two_tenants: dict[str, UUID], text: str, found: bool
) -> None:
    seven = await vendors.upsert_vendor(
        pool,
        A_OWNER,
        vendors.VendorUpsert(canonical_name="7-Eleven", descriptors=["7 11 STORE 4471"]),
    )
    matches = await vendors.search_vendors(pool, A_VIEWER, vendors.VendorSearch(text=text))
    assert (seven.id in [m.vendor.id for m in matches.matches]) is found
