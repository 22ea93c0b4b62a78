"""Categorisation rules: which account a vendor's transactions are booked to."""

from __future__ import annotations

from uuid import UUID

from pydantic import BaseModel, Field

from accounting._idempotency import once
from accounting.errors import InvalidRequest
from accounting.principals import Principal
from accounting.vendors import VendorRef, get_vendor
from ledgerd.db import Pool


class CategorisationRuleRequest(BaseModel):
    vendor_id: UUID
    account_code: str = Field(min_length=1, max_length=20)


class CategorisationRuleRecord(BaseModel):
    vendor_id: UUID
    account_code: str
    created_by: str


async def set_categorisation_rule(
    pool: Pool,
    principal: Principal,
    request: CategorisationRuleRequest,
    *,
    idempotency_key: str | None = None,
) -> CategorisationRuleRecord:
    """Book all of a vendor's transactions to one account of the tenant's chart (one rule per
    vendor: setting it again replaces the account)."""
    principal.require_write("set categorisation rules")
    await get_vendor(pool, principal, VendorRef(vendor_id=request.vendor_id))  # tenant check
    async with pool.connection() as conn, conn.transaction():

        async def act() -> CategorisationRuleRecord:
            cursor = await conn.execute(
                "SELECT 1 FROM accounts WHERE tenant_id = %s AND code = %s",
                (principal.tenant_id, request.account_code),
            )
            if await cursor.fetchone() is None:
                raise InvalidRequest(f"account code {request.account_code!r} is not in the chart")
            await conn.execute(
                """INSERT INTO categorisation_rules (tenant_id, vendor_id, account_code, created_by)
                   VALUES (%s, %s, %s, %s)
                   ON CONFLICT (tenant_id, vendor_id) DO UPDATE
                   SET account_code = EXCLUDED.account_code, created_by = EXCLUDED.created_by""",
                (principal.tenant_id, request.vendor_id, request.account_code, principal.id),
            )
            return CategorisationRuleRecord(
                vendor_id=request.vendor_id,
                account_code=request.account_code,
                created_by=principal.id,
            )

        return await once(
            conn,
            principal,
            "set_categorisation_rule",
            idempotency_key,
            CategorisationRuleRecord,
            act,
        )
