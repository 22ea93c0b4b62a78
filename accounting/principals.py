"""Who is calling: the `Principal` every platform handler takes, and the access rules.

The runtime injects the principal from a workflow's input; it never appears in a tool's
schema, so a model cannot choose who it acts as (issue #3).
"""

from __future__ import annotations

import hashlib
from enum import StrEnum

from pydantic import BaseModel, ConfigDict, Field

from accounting.errors import AccessDenied, NotFound
from ledgerd.db import Pool


class Role(StrEnum):
    OWNER = "owner"
    ACCOUNTANT = "accountant"
    VIEWER = "viewer"
    SERVICE = "service"


WRITER_ROLES = frozenset({Role.OWNER, Role.ACCOUNTANT, Role.SERVICE})
APPROVER_ROLES = frozenset({Role.OWNER, Role.ACCOUNTANT})


class Principal(BaseModel):
    """A user or service of one tenant."""

    model_config = ConfigDict(frozen=True)

    id: str = Field(min_length=1)
    tenant_id: str = Field(pattern=r"^[a-z][a-z0-9-]{1,62}$")
    role: Role

    def require_tenant(self, tenant_id: str) -> None:
        if tenant_id != self.tenant_id:
            raise AccessDenied(
                f"principal {self.id!r} of tenant {self.tenant_id!r} "
                f"may not access tenant {tenant_id!r}"
            )

    def require_write(self, what: str) -> None:
        if self.role not in WRITER_ROLES:
            raise AccessDenied(f"role {self.role.value!r} of {self.id!r} may not {what}")

    def require_approver(self, what: str) -> None:
        if self.role not in APPROVER_ROLES:
            raise AccessDenied(
                f"role {self.role.value!r} of {self.id!r} may not {what}: "
                "an accountant or owner must"
            )


async def load_principal(pool: Pool, principal_id: str) -> Principal:
    """The platform's record of a principal; services start daemons as one of these."""
    async with pool.connection() as conn:
        cursor = await conn.execute(
            "SELECT id, tenant_id, role FROM principals WHERE id = %s", (principal_id,)
        )
        row = await cursor.fetchone()
    if row is None:
        raise NotFound(f"principal {principal_id!r} does not exist")
    return Principal.model_validate(row)


# Tenants whose principals may act: a closed tenant's tokens and runs stop working.
ACTIVE_TENANT_STATUSES = ("active", "onboarding")


def token_digest(token: str) -> str:
    """What the database keeps of a bearer token: its SHA-256, never the token."""
    return hashlib.sha256(token.encode()).hexdigest()


class TokenRefused(AccessDenied):
    """A bearer token names no usable principal: unknown, expired, revoked or tenant closed."""


async def authenticate_token(pool: Pool, token: str) -> Principal:
    """The principal a bearer token proves, or `TokenRefused` saying why not."""
    async with pool.connection() as conn:
        cursor = await conn.execute(
            """SELECT p.id, p.tenant_id, p.role, p.revoked_at IS NOT NULL AS revoked,
                      p.token_expires_at IS NOT NULL AND p.token_expires_at <= now() AS expired,
                      t.status
               FROM principals p JOIN tenants t ON t.id = p.tenant_id
               WHERE p.token_sha256 = %s""",
            (token_digest(token),),
        )
        row = await cursor.fetchone()
    if row is None:
        raise TokenRefused("unknown bearer token: it matches no principal")
    if row["revoked"]:
        raise TokenRefused(f"the token of {row['id']!r} was revoked; ask for a new one")
    if row["expired"]:
        raise TokenRefused(f"the token of {row['id']!r} has expired; ask for a new one")
    if row["status"] not in ACTIVE_TENANT_STATUSES:
        raise TokenRefused(
            f"tenant {row['tenant_id']!r} is {row['status']}; its tokens no longer work"
        )
    return Principal(id=row["id"], tenant_id=row["tenant_id"], role=row["role"])


async def confirm_principal(pool: Pool, principal: Principal, tenant_id: str) -> None:
    """Raise `AccessDenied` unless `principal` is, right now, what it claims: it exists, belongs
    to `tenant_id` with exactly this role, is not revoked, and its tenant is active."""
    async with pool.connection() as conn:
        cursor = await conn.execute(
            """SELECT p.tenant_id, p.role, p.revoked_at IS NOT NULL AS revoked, t.status
               FROM principals p JOIN tenants t ON t.id = p.tenant_id WHERE p.id = %s""",
            (principal.id,),
        )
        row = await cursor.fetchone()
    if row is None:
        raise AccessDenied(f"principal {principal.id!r} does not exist")
    if row["tenant_id"] != tenant_id or principal.tenant_id != tenant_id:
        raise AccessDenied(f"principal {principal.id!r} does not belong to tenant {tenant_id!r}")
    if row["role"] != principal.role.value:
        raise AccessDenied(
            f"principal {principal.id!r} is a {row['role']}, not a {principal.role.value}"
        )
    if row["revoked"]:
        raise AccessDenied(f"principal {principal.id!r} was revoked")
    if row["status"] not in ACTIVE_TENANT_STATUSES:
        raise AccessDenied(f"tenant {tenant_id!r} is {row['status']}")
