"""Who is calling: the `Principal` every platform handler takes, and the access rules.

The runtime injects the principal from a workflow's input; it never appears in a tool's
schema, so a model cannot choose who it acts as (issue #3).
"""

from __future__ import annotations

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
