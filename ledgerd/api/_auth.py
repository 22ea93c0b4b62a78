"""Bearer tokens → platform principals.

The database keeps only each token's SHA-256 (`principals.token_sha256`); the token itself
is hashed on arrival and never stored, logged or echoed. The principal, and so the tenant, of
every request comes from here, never from a request body.
"""

from __future__ import annotations

import hashlib
from typing import Annotated

from fastapi import Depends
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer

from accounting.principals import APPROVER_ROLES, WRITER_ROLES, Principal
from ledgerd.api._errors import ApiError
from ledgerd.api._resources import Database

_bearer = HTTPBearer(
    auto_error=False,
    scheme_name="token",
    description="A platform principal's token, e.g. the demo token `demo-token-acme-accountant`.",
)
_CHALLENGE = {"WWW-Authenticate": "Bearer"}


async def current_principal(
    credentials: Annotated[HTTPAuthorizationCredentials | None, Depends(_bearer)],
    pool: Database,
) -> Principal:
    if credentials is None or not credentials.credentials:
        raise ApiError(
            401,
            "unauthorized",
            "missing bearer token: send `Authorization: Bearer <token>`",
            headers=_CHALLENGE,
        )
    digest = hashlib.sha256(credentials.credentials.encode()).hexdigest()
    async with pool.connection() as conn:
        cursor = await conn.execute(
            "SELECT id, tenant_id, role FROM principals WHERE token_sha256 = %s", (digest,)
        )
        row = await cursor.fetchone()
    if row is None:
        raise ApiError(
            401, "unauthorized", "unknown bearer token: it matches no principal", headers=_CHALLENGE
        )
    return Principal.model_validate(row)


CurrentPrincipal = Annotated[Principal, Depends(current_principal)]


async def writer(principal: CurrentPrincipal) -> Principal:
    """A principal who may start daemons: an owner, accountant or service."""
    if principal.role not in WRITER_ROLES:
        raise ApiError(
            403,
            "forbidden",
            f"principal {principal.id!r} is a {principal.role.value}; "
            "only an owner, accountant or service may start daemons",
        )
    return principal


async def approver(principal: CurrentPrincipal) -> Principal:
    """A principal who may decide approvals: an owner or accountant."""
    if principal.role not in APPROVER_ROLES:
        raise ApiError(
            403,
            "forbidden",
            f"principal {principal.id!r} is a {principal.role.value}; "
            "only an accountant or owner may decide approvals",
        )
    return principal


Writer = Annotated[Principal, Depends(writer)]
Approver = Annotated[Principal, Depends(approver)]
