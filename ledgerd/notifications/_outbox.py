"""The database side: the outbox row (the durable record) and each channel's delivery."""

from __future__ import annotations

from psycopg.types.json import Jsonb

from ledgerd.contracts import Notification
from ledgerd.db import Conn


async def queue(conn: Conn, notification: Notification) -> bool:
    """Write the outbox row; False when a row with this dedupe key already exists."""
    cursor = await conn.execute(
        """INSERT INTO notification_outbox (dedupe_key, tenant_id, workflow_id, kind,
               severity, subject, body)
           VALUES (%s, %s, %s, %s, %s, %s, %s) ON CONFLICT (dedupe_key) DO NOTHING""",
        (
            notification.dedupe_key,
            notification.tenant_id,
            notification.workflow_id,
            notification.kind,
            notification.severity.value,
            notification.subject,
            Jsonb(notification.body),
        ),
    )
    return cursor.rowcount == 1


async def delivered_channels(conn: Conn, dedupe_key: str) -> set[str]:
    cursor = await conn.execute(
        "SELECT channel FROM notification_deliveries WHERE dedupe_key = %s AND status = 'delivered'",
        (dedupe_key,),
    )
    return {row["channel"] for row in await cursor.fetchall()}


async def record(conn: Conn, dedupe_key: str, channel: str, error: str | None) -> None:
    """Count one attempt of `channel`; `error` None means delivered. A delivered record is
    never turned back into a failed one (by an overlapping, older attempt)."""
    await conn.execute(
        """INSERT INTO notification_deliveries
               (dedupe_key, channel, status, attempts, last_error, delivered_at)
           VALUES (%(key)s, %(channel)s, %(status)s, 1, %(error)s,
                   CASE WHEN %(error)s::text IS NULL THEN now() END)
           ON CONFLICT (dedupe_key, channel) DO UPDATE SET
               status = excluded.status,
               attempts = notification_deliveries.attempts + 1,
               last_error = coalesce(excluded.last_error, notification_deliveries.last_error),
               delivered_at = excluded.delivered_at,
               updated_at = now()
           WHERE notification_deliveries.status <> 'delivered'""",
        {
            "key": dedupe_key,
            "channel": channel,
            "status": "delivered" if error is None else "failed",
            "error": error,
        },
    )


async def mark_delivered(conn: Conn, dedupe_key: str) -> None:
    await conn.execute(
        """UPDATE notification_outbox SET delivered_at = now()
           WHERE dedupe_key = %s AND delivered_at IS NULL""",
        (dedupe_key,),
    )
