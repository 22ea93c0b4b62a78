"""PostgreSQL access: the pooled connections and the schema migrations."""

from ledgerd.db._migrate import Migration, MigrationError, apply_migrations, bundled_migrations
from ledgerd.db._pool import STATEMENT_TIMEOUT_MS, Conn, Pool, open_pool, read_only

__all__ = [
    "STATEMENT_TIMEOUT_MS",
    "Conn",
    "Migration",
    "MigrationError",
    "Pool",
    "apply_migrations",
    "bundled_migrations",
    "open_pool",
    "read_only",
]
