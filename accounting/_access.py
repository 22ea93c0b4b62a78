"""Tenant scoping shared by every handler: rows are always filtered by the caller's tenant.

A reference to a row outside the caller's tenant is "not found", exactly as a row that does not
exist: saying "it belongs to another tenant" would let a caller probe other tenants' ids
(transaction ids are predictable). Nothing here even looks outside the caller's tenant.
"""

from __future__ import annotations

from accounting.errors import NotFound
from accounting.principals import Principal
from ledgerd.db import Conn

__all__ = ["Conn", "not_found"]


def not_found(principal: Principal, table: str, value: object) -> NotFound:
    """The error for a row absent from the caller's tenant, wherever else it may exist."""
    what = f"{table.removesuffix('s').replace('_', ' ')} {value}"
    return NotFound(f"{what} not found in tenant {principal.tenant_id!r}")
