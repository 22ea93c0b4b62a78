"""Tenant scoping shared by every handler: rows are always filtered by the caller's tenant,
and a reference to another tenant's row is refused by name rather than silently missing."""

from __future__ import annotations

from accounting.errors import AccessDenied, NotFound
from accounting.principals import Principal
from ledgerd.db import Conn

__all__ = ["Conn", "missing"]


async def missing(
    conn: Conn, principal: Principal, table: str, key: str, value: object
) -> Exception:
    """The error for a row absent from the caller's tenant: denied if another tenant owns it."""
    cursor = await conn.execute(
        f"SELECT tenant_id FROM {table} WHERE {key} = %s LIMIT 1",  # identifiers are ours
        (value,),
    )
    row = await cursor.fetchone()
    what = f"{table.removesuffix('s').replace('_', ' ')} {value}"
    if row is not None and row["tenant_id"] != principal.tenant_id:
        return AccessDenied(
            f"{what} belongs to another tenant; principal {principal.id!r} "
            f"may only access tenant {principal.tenant_id!r}"
        )
    return NotFound(f"{what} not found in tenant {principal.tenant_id!r}")
