"""Tenants: a client company's lifecycle on the platform (onboarding → active)."""

from __future__ import annotations

import hashlib

from pydantic import BaseModel

from accounting._idempotency import once
from accounting.accounts import NoInput
from accounting.principals import Principal, Role
from ledgerd.db import Pool


class TenantStatus(BaseModel):
    tenant_id: str
    status: str


async def open_tenant(pool: Pool, tenant_id: str, name: str, tokens: dict[Role, str]) -> None:
    """Register a new client company in status `onboarding`, with one principal per role
    (`<tenant>-<role>`) whose bearer token is given. An operator's action, not a tool."""
    async with pool.connection() as conn, conn.transaction():
        await conn.execute(
            "INSERT INTO tenants (id, name, status) VALUES (%s, %s, 'onboarding') ON CONFLICT DO NOTHING",
            (tenant_id, name),
        )
        for role, token in tokens.items():
            await conn.execute(
                """INSERT INTO principals (id, tenant_id, display_name, role, token_sha256)
                   VALUES (%s, %s, %s, %s, %s) ON CONFLICT (id) DO NOTHING""",
                (
                    f"{tenant_id}-{role.value}",
                    tenant_id,
                    f"{name} {role.value}",
                    role.value,
                    hashlib.sha256(token.encode()).hexdigest(),
                ),
            )


async def activate_tenant(
    pool: Pool, principal: Principal, request: NoInput, *, idempotency_key: str | None = None
) -> TenantStatus:
    """Mark the tenant active: its onboarding was approved and applied."""
    principal.require_approver("activate the tenant")
    async with pool.connection() as conn, conn.transaction():

        async def act() -> TenantStatus:
            await conn.execute(
                "UPDATE tenants SET status = 'active' WHERE id = %s", (principal.tenant_id,)
            )
            return TenantStatus(tenant_id=principal.tenant_id, status="active")

        return await once(conn, principal, "activate_tenant", idempotency_key, TenantStatus, act)
