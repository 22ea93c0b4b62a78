"""The tenant's chart of accounts, each account mapped onto the platform's standard taxonomy."""

from __future__ import annotations

from enum import StrEnum
from typing import Protocol

from pydantic import BaseModel, Field

from accounting._idempotency import once
from accounting.errors import InvalidRequest
from accounting.principals import Principal
from ledgerd.db import Pool


class AccountType(StrEnum):
    ASSET = "asset"
    LIABILITY = "liability"
    EQUITY = "equity"
    INCOME = "income"
    EXPENSE = "expense"


class Account(BaseModel):
    code: str = Field(min_length=1, max_length=20, pattern=r"^[A-Za-z0-9.\-]+$")
    name: str = Field(min_length=1, max_length=200)
    account_type: AccountType
    standard_category: str | None = Field(default=None, description="A standard category key.")
    active: bool = True


class StandardCategory(BaseModel):
    key: str
    name: str
    account_type: AccountType


class ChartOfAccounts(BaseModel):
    accounts: list[Account]


class StandardTaxonomy(BaseModel):
    categories: list[StandardCategory]


class NoInput(BaseModel):
    """Handlers that need nothing but the caller take this."""


class RunContext(Protocol):
    """Which run calls (`tools.ToolContext` satisfies it)."""

    @property
    def run_id(self) -> str: ...


async def list_accounts(
    pool: Pool, principal: Principal, request: NoInput, *, context: RunContext | None = None
) -> ChartOfAccounts:
    """The tenant's chart of accounts, ordered by code."""
    # An onboarding's own loops (run ids `<stage key>/...`) also see the chart it imported,
    # which stays staged, outside `accounts`, until someone approves it.
    run_id = context.run_id if context is not None else ""
    async with pool.connection() as conn:
        cursor = await conn.execute(
            """SELECT code, name, account_type, standard_category, active FROM accounts
               WHERE tenant_id = %(tenant)s AND code NOT IN (
                   SELECT code FROM onboarding_staged_accounts
                   WHERE tenant_id = %(tenant)s AND starts_with(%(run)s, stage_key || '/'))
               UNION ALL
               SELECT s.code, s.name, s.account_type, a.standard_category, true
               FROM onboarding_staged_accounts s
               LEFT JOIN accounts a ON a.tenant_id = s.tenant_id AND a.code = s.code
               WHERE s.tenant_id = %(tenant)s AND starts_with(%(run)s, s.stage_key || '/')
               ORDER BY code""",
            {"tenant": principal.tenant_id, "run": run_id},
        )
        return ChartOfAccounts(
            accounts=[Account.model_validate(row) for row in await cursor.fetchall()]
        )


async def list_standard_categories(
    pool: Pool, principal: Principal, request: NoInput
) -> StandardTaxonomy:
    """The platform's standard taxonomy that every tenant account maps onto."""
    async with pool.connection() as conn:
        cursor = await conn.execute(
            "SELECT key, name, account_type FROM standard_categories ORDER BY key"
        )
        return StandardTaxonomy(
            categories=[StandardCategory.model_validate(row) for row in await cursor.fetchall()]
        )


async def upsert_account(
    pool: Pool,
    principal: Principal,
    request: Account,
    *,
    idempotency_key: str | None = None,
) -> Account:
    """Create or update one account of the tenant's chart, keyed by its code."""
    principal.require_write("change the chart of accounts")
    async with pool.connection() as conn, conn.transaction():

        async def act() -> Account:
            if request.standard_category is not None:
                cursor = await conn.execute(
                    "SELECT account_type FROM standard_categories WHERE key = %s",
                    (request.standard_category,),
                )
                row = await cursor.fetchone()
                if row is None:
                    raise InvalidRequest(
                        f"standard_category {request.standard_category!r} is not a standard key"
                    )
                if row["account_type"] != request.account_type:
                    raise InvalidRequest(
                        f"account {request.code} is {request.account_type.value} but "
                        f"{request.standard_category!r} is {row['account_type']}"
                    )
            await conn.execute(
                """INSERT INTO accounts (tenant_id, code, name, account_type, standard_category,
                                         active)
                   VALUES (%s, %s, %s, %s, %s, %s)
                   ON CONFLICT (tenant_id, code) DO UPDATE SET name = EXCLUDED.name,
                       account_type = EXCLUDED.account_type,
                       standard_category = EXCLUDED.standard_category, active = EXCLUDED.active""",
                (
                    principal.tenant_id,
                    request.code,
                    request.name,
                    request.account_type.value,
                    request.standard_category,
                    request.active,
                ),
            )
            return request

        return await once(conn, principal, "upsert_account", idempotency_key, Account, act)
