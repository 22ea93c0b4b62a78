"""`notify`: tell people a run finished, failed, escalated or needs attention.

Every notification is written to the database outbox first (the durable record), then sent
to each configured channel (Slack, a JSON webhook, email; see `ledgerd.notifications`).
Each channel's delivery is recorded per dedupe key, so a retried activity sends only to the
channels that failed and nobody is told twice. A failed channel raises a retryable error
after the record is written; the workflow's bounded retry policy gives up eventually and
the daemon's run is not affected.

The result stays a `bool` (True when this call wrote the outbox row): recorded histories
hold `true`/`false` for it, and a workflow replaying them decodes the result with this
function's return type, so changing it would break replay of running and closed workflows.
"""

from __future__ import annotations

from temporalio import activity
from temporalio.exceptions import ApplicationError

from ledgerd.contracts import Notification
from ledgerd.notifications import configured_channels, deliver
from ledgerd.runtime import dependencies


@activity.defn(name="notify")
async def notify(notification: Notification) -> bool:
    """Queue the notification and deliver it to every configured channel not yet reached;
    False when the outbox row already existed (a retry, or the same key sent again)."""
    deps = dependencies()
    report = await deliver(deps.pool, notification, configured_channels(deps.settings))
    if report.failed:
        reasons = "; ".join(report.failed.values())
        raise ApplicationError(
            f"notification {notification.dedupe_key} not delivered ({reasons}); "
            f"a retry sends only to the failed channels",
            type="NotificationNotDelivered",
        )
    return report.queued
