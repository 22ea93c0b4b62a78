"""Platform administrators: they create tenants and principals and may decode payloads
through the codec server. They belong to no tenant; only their token's SHA-256 is stored."""

from __future__ import annotations

import secrets
from datetime import timedelta

from accounting.errors import AccessDenied, InvalidRequest
from accounting.principals import token_digest
from ledgerd.db import Pool

ADMIN_ID = r"^[a-z][a-z0-9._-]{1,62}$"


class AdminRefused(AccessDenied):
    """The token is not a platform administrator's (or it expired, or was revoked)."""


def new_token(prefix: str) -> str:
    """A bearer token of 256 random bits; shown once, stored as its SHA-256."""
    return f"{prefix}_{secrets.token_urlsafe(32)}"


async def authenticate_admin(pool: Pool, token: str) -> str:
    """The administrator id `token` proves, or `AdminRefused` saying why not."""
    async with pool.connection() as conn:
        cursor = await conn.execute(
            """SELECT id, revoked_at IS NOT NULL AS revoked,
                      token_expires_at IS NOT NULL AND token_expires_at <= now() AS expired
               FROM platform_admins WHERE token_sha256 = %s""",
            (token_digest(token),),
        )
        row = await cursor.fetchone()
    if row is None:
        raise AdminRefused("not a platform administrator's token")
    if row["revoked"] or row["expired"]:
        raise AdminRefused(f"the token of administrator {row['id']!r} was revoked or has expired")
    return str(row["id"])


async def create_admin(pool: Pool, admin_id: str, *, created_by: str | None, ttl: timedelta) -> str:
    """Add an administrator; return their token (shown once, never stored)."""
    token = new_token("lga")
    async with pool.connection() as conn:
        cursor = await conn.execute(
            """INSERT INTO platform_admins (id, token_sha256, token_expires_at, created_by)
               VALUES (%s, %s, now() + %s, %s) ON CONFLICT (id) DO NOTHING RETURNING id""",
            (admin_id, token_digest(token), ttl, created_by),
        )
        if await cursor.fetchone() is None:
            raise InvalidRequest(f"administrator {admin_id!r} already exists")
    return token


async def any_admin(pool: Pool) -> bool:
    async with pool.connection() as conn:
        cursor = await conn.execute("SELECT 1 FROM platform_admins LIMIT 1")
        return await cursor.fetchone() is not None
