"""Tenants and principals, created by platform administrators (issue 13, part 4).

A new tenant starts in status `onboarding` with one principal per role it is given
(`<tenant>-<role>` unless named). Each principal's bearer token is 256 random bits, returned
once by the call that creates it and stored only as its SHA-256, with an expiry
(`LEDGERD_TOKEN_TTL_DAYS`). Revoking a principal stops its token at once. Every row records
which administrator created it. `ledgerd tenant ...` and `POST /v1/tenants...` call these.
"""

from __future__ import annotations

from datetime import datetime, timedelta

from pydantic import BaseModel, Field

from accounting.errors import InvalidRequest, NotFound
from accounting.principals import Role, token_digest
from ledgerd.db import Conn, Pool
from ledgerd.security.admins import new_token

TENANT_ID = r"^[a-z][a-z0-9-]{1,62}$"
PRINCIPAL_ID = r"^[a-z][a-z0-9._-]{1,62}$"


class NewPrincipal(BaseModel):
    role: Role
    id: str | None = Field(
        default=None, pattern=PRINCIPAL_ID, description="Default: `<tenant>-<role>`."
    )
    display_name: str | None = Field(default=None, max_length=200)
    email: str | None = Field(default=None, max_length=320)


class IssuedToken(BaseModel):
    """A principal and its bearer token: shown this once, never stored or shown again."""

    principal_id: str
    tenant_id: str
    role: Role
    token: str
    token_expires_at: datetime


class NewTenant(BaseModel):
    tenant_id: str = Field(pattern=TENANT_ID)
    name: str = Field(min_length=1, max_length=200)
    base_currency: str = Field(default="USD", pattern=r"^[A-Z]{3}$")
    principals: list[NewPrincipal] = Field(
        default_factory=lambda: [NewPrincipal(role=role) for role in Role],
        description="Default: one of each role (owner, accountant, viewer, service).",
    )


async def create_tenant(
    pool: Pool, tenant: NewTenant, *, created_by: str, token_ttl: timedelta
) -> list[IssuedToken]:
    """Create the tenant (status `onboarding`) and its principals, in one transaction."""
    async with pool.connection() as conn, conn.transaction():
        cursor = await conn.execute(
            "INSERT INTO tenants (id, name, base_currency, status) VALUES (%s, %s, %s, "
            "'onboarding') ON CONFLICT (id) DO NOTHING RETURNING id",
            (tenant.tenant_id, tenant.name, tenant.base_currency),
        )
        if await cursor.fetchone() is None:
            raise InvalidRequest(f"tenant {tenant.tenant_id!r} already exists")
        return [
            await _insert(conn, tenant.tenant_id, tenant.name, p, created_by, token_ttl)
            for p in tenant.principals
        ]


async def add_principal(
    pool: Pool,
    tenant_id: str,
    principal: NewPrincipal,
    *,
    created_by: str,
    token_ttl: timedelta,
) -> IssuedToken:
    async with pool.connection() as conn, conn.transaction():
        cursor = await conn.execute("SELECT name FROM tenants WHERE id = %s", (tenant_id,))
        row = await cursor.fetchone()
        if row is None:
            raise NotFound(f"tenant {tenant_id!r} does not exist")
        return await _insert(conn, tenant_id, row["name"], principal, created_by, token_ttl)


async def revoke_principal(pool: Pool, principal_id: str) -> None:
    """Stop the principal's token (and any run it would start) from now on."""
    async with pool.connection() as conn:
        cursor = await conn.execute(
            "UPDATE principals SET revoked_at = coalesce(revoked_at, now()) WHERE id = %s",
            (principal_id,),
        )
    if cursor.rowcount == 0:
        raise NotFound(f"principal {principal_id!r} does not exist")


async def _insert(
    conn: Conn,
    tenant_id: str,
    tenant_name: str,
    principal: NewPrincipal,
    created_by: str,
    token_ttl: timedelta,
) -> IssuedToken:
    principal_id = principal.id or f"{tenant_id}-{principal.role.value}"
    token = new_token("lgt")
    cursor = await conn.execute(
        """INSERT INTO principals (id, tenant_id, display_name, email, role, token_sha256,
                                   token_expires_at, created_by)
           VALUES (%s, %s, %s, %s, %s, %s, now() + %s, %s)
           ON CONFLICT (id) DO NOTHING RETURNING token_expires_at""",
        (
            principal_id,
            tenant_id,
            principal.display_name or f"{tenant_name} {principal.role.value}",
            principal.email,
            principal.role.value,
            token_digest(token),
            token_ttl,
            created_by,
        ),
    )
    row = await cursor.fetchone()
    if row is None:
        raise InvalidRequest(f"principal {principal_id!r} already exists")
    return IssuedToken(
        principal_id=principal_id,
        tenant_id=tenant_id,
        role=principal.role,
        token=token,
        token_expires_at=row["token_expires_at"],
    )
