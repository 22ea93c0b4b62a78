"""Process-wide dependencies of activities: opened once per worker, closed on shutdown."""

from __future__ import annotations

from dataclasses import dataclass

from ledgerd.config import Settings
from ledgerd.db import Pool, open_pool
from ledgerd.memory import configure_embedder, embedder_from

_current: Dependencies | None = None


@dataclass
class Dependencies:
    settings: Settings
    pool: Pool

    async def close(self) -> None:
        await self.pool.close()


async def open_dependencies(settings: Settings) -> Dependencies:
    global _current
    pool = await open_pool(settings.effective_database_url, max_size=settings.db_pool_max)
    # Memory tools embed with the configured provider; set it from these settings, which
    # may be overrides (tests, benchmarks) rather than the process environment.
    configure_embedder(embedder_from(settings))
    _current = Dependencies(settings=settings, pool=pool)
    return _current


def dependencies() -> Dependencies:
    """The worker's dependencies; activities call this instead of opening their own."""
    if _current is None:
        raise RuntimeError("activity dependencies are not open: start activities via worker.py")
    return _current
