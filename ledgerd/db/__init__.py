"""PostgreSQL access: the pooled connections and the schema migrations."""

from ledgerd.db._migrate import Migration, MigrationError, apply_migrations, bundled_migrations
from ledgerd.db._pool import Conn, Pool, open_pool

__all__ = [
    "Conn",
    "Migration",
    "MigrationError",
    "Pool",
    "apply_migrations",
    "bundled_migrations",
    "open_pool",
]
