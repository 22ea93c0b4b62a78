"""The client company's profile: who the tenant is, as the accountants know it."""

from __future__ import annotations

from pydantic import BaseModel, EmailStr, Field

from accounting._idempotency import once
from accounting.accounts import NoInput
from accounting.errors import NotFound
from accounting.principals import Principal
from ledgerd.db import Pool


class ClientProfile(BaseModel):
    legal_name: str = Field(min_length=1, max_length=200)
    industry: str = Field(min_length=1, max_length=100)
    country: str = Field(pattern=r"^[A-Z]{2}$", description="ISO 3166-1 alpha-2 code.")
    fiscal_year_start: int = Field(default=1, ge=1, le=12, description="Month 1-12.")
    contact_email: EmailStr | None = None


async def get_client_profile(pool: Pool, principal: Principal, request: NoInput) -> ClientProfile:
    """The tenant's client profile."""
    async with pool.connection() as conn:
        cursor = await conn.execute(
            """SELECT legal_name, industry, country, fiscal_year_start, contact_email
               FROM client_profiles WHERE tenant_id = %s""",
            (principal.tenant_id,),
        )
        row = await cursor.fetchone()
    if row is None:
        raise NotFound(f"tenant {principal.tenant_id!r} has no client profile yet")
    return ClientProfile.model_validate(row)


async def update_client_profile(
    pool: Pool,
    principal: Principal,
    request: ClientProfile,
    *,
    idempotency_key: str | None = None,
) -> ClientProfile:
    """Create or replace the tenant's client profile."""
    principal.require_write("change the client profile")
    async with pool.connection() as conn, conn.transaction():

        async def act() -> ClientProfile:
            await conn.execute(
                """INSERT INTO client_profiles (tenant_id, legal_name, industry, country,
                                                fiscal_year_start, contact_email)
                   VALUES (%s, %s, %s, %s, %s, %s)
                   ON CONFLICT (tenant_id) DO UPDATE SET legal_name = EXCLUDED.legal_name,
                       industry = EXCLUDED.industry, country = EXCLUDED.country,
                       fiscal_year_start = EXCLUDED.fiscal_year_start,
                       contact_email = EXCLUDED.contact_email, updated_at = now()""",
                (
                    principal.tenant_id,
                    request.legal_name,
                    request.industry,
                    request.country,
                    request.fiscal_year_start,
                    request.contact_email,
                ),
            )
            return request

        return await once(
            conn, principal, "update_client_profile", idempotency_key, ClientProfile, act
        )
