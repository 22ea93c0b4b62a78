from __future__ import annotations

import asyncio

import psycopg
import pytest

from ledgerd.db import Migration, MigrationError, apply_migrations, bundled_migrations


async def _applied(url: str) -> list[int]:
    async with await psycopg.AsyncConnection.connect(url) as conn:
        cursor = await conn.execute("SELECT version FROM schema_migrations ORDER BY version")
        return [row[0] for row in await cursor.fetchall()]


async def test_migrations_apply_once(empty_pg_url: str) -> None:
    expected = [m.version for m in bundled_migrations()]
    assert await apply_migrations(empty_pg_url) == expected
    assert await apply_migrations(empty_pg_url) == []
    assert await _applied(empty_pg_url) == expected


async def test_concurrent_starters_apply_each_migration_exactly_once(empty_pg_url: str) -> None:
    results = await asyncio.gather(*(apply_migrations(empty_pg_url) for _ in range(6)))
    expected = [m.version for m in bundled_migrations()]
    # Exactly one starter applied everything; the others found nothing left to do.
    assert sorted(results, key=len) == [[]] * 5 + [expected]
    assert await _applied(empty_pg_url) == expected


async def test_a_changed_applied_migration_is_refused(empty_pg_url: str) -> None:
    await apply_migrations(empty_pg_url)
    first = bundled_migrations()[0]
    edited = Migration(first.version, first.name, first.sql + "\n-- edited\n")
    with pytest.raises(MigrationError, match="was changed after it was applied"):
        await apply_migrations(empty_pg_url, [edited])


async def test_a_failing_migration_rolls_back_and_names_itself(empty_pg_url: str) -> None:
    await apply_migrations(empty_pg_url)
    broken = Migration(9999, "broken", "CREATE TABLE half_done (x int); SELECT 1/0;")
    with pytest.raises(MigrationError, match="9999_broken failed"):
        await apply_migrations(empty_pg_url, [broken])
    async with await psycopg.AsyncConnection.connect(empty_pg_url) as conn:
        cursor = await conn.execute("SELECT to_regclass('half_done')")
        assert (await cursor.fetchone()) == (None,)
    assert 9999 not in await _applied(empty_pg_url)
