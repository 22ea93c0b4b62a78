"""The async psycopg 3 connection pool every process shares."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any, TypeAlias

from psycopg import AsyncConnection
from psycopg.rows import dict_row
from psycopg_pool import AsyncConnectionPool

Conn: TypeAlias = AsyncConnection[dict[str, Any]]
Pool: TypeAlias = AsyncConnectionPool[Conn]


async def _configure(conn: Conn) -> None:
    # UTC everywhere: posted dates and audit times must not depend on a server's locale.
    await conn.execute("SET TIME ZONE 'UTC'")
    await conn.commit()


async def open_pool(url: str, *, max_size: int = 10, min_size: int = 1) -> Pool:
    """Open a pool of dict-row connections to `url`, ready when it returns."""
    pool: Pool = AsyncConnectionPool(
        url,
        connection_class=Conn,
        min_size=min_size,
        max_size=max_size,
        kwargs={"row_factory": dict_row, "autocommit": False},
        configure=_configure,
        open=False,
        name="ledgerd",
    )
    await pool.open(wait=True, timeout=30)
    return pool


STATEMENT_TIMEOUT_MS = 5_000


@asynccontextmanager
async def read_only(pool: Pool, timeout_ms: int = STATEMENT_TIMEOUT_MS) -> AsyncIterator[Conn]:
    """A connection in a READ ONLY transaction whose statements time out: a query built from
    a model's specification can neither change the books nor hold a connection for long."""
    async with pool.connection() as conn, conn.transaction():
        await conn.execute("SET TRANSACTION READ ONLY")
        await conn.execute("SELECT set_config('statement_timeout', %s, true)", (str(timeout_ms),))
        yield conn
