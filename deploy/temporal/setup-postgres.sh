#!/bin/sh
# Temporal's persistence on PostgreSQL: create the `temporal` and `temporal_visibility`
# databases and bring their schemas up to date, as Temporal's own compose files do
# (temporalio/samples-server, compose/scripts/setup-postgres.sh). Safe to re-run: an existing
# database or base schema is kept, and update-schema applies only what is missing.
# temporal-sql-tool reads the password from SQL_PASSWORD.
set -eu
: "${POSTGRES_SEEDS:?POSTGRES_SEEDS is required}"
: "${POSTGRES_USER:?POSTGRES_USER is required}"
PORT="${DB_PORT:-5432}"
SCHEMA=/etc/temporal/schema/postgresql/v12

sql() {
  temporal-sql-tool --plugin postgres12 --ep "$POSTGRES_SEEDS" -u "$POSTGRES_USER" -p "$PORT" "$@"
}

nc -z -w 10 "$POSTGRES_SEEDS" "$PORT"
for db in temporal temporal_visibility; do
  sql --db "$db" create || echo "database $db exists"
  sql --db "$db" setup-schema -v 0.0 || echo "schema of $db exists"
done
sql --db temporal update-schema -d "$SCHEMA/temporal/versioned"
sql --db temporal_visibility update-schema -d "$SCHEMA/visibility/versioned"
echo "Temporal schema is up to date"
