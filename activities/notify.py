"""`notify`: tell people a run finished, failed, escalated or needs attention.

Delivery starts with the database outbox (channels drain it) and a log line. The dedupe key
makes a retried activity a no-op, so nobody is told twice.
"""

from __future__ import annotations

import logging

from psycopg.types.json import Jsonb
from temporalio import activity

from ledgerd.contracts import Notification
from ledgerd.runtime import dependencies

log = logging.getLogger("ledgerd.notify")


@activity.defn(name="notify")
async def notify(notification: Notification) -> bool:
    """Queue the notification; False when it was already queued."""
    async with dependencies().pool.connection() as conn:
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
        queued = cursor.rowcount == 1
    if queued:
        log.info(
            "%s [%s] %s (%s)",
            notification.severity.value,
            notification.tenant_id,
            notification.subject,
            notification.workflow_id,
        )
    return queued
