"""Delivering one notification: the outbox row first, then every channel not yet delivered."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Sequence

import psycopg
import psycopg_pool
from pydantic import BaseModel, Field

from ledgerd.config import Settings
from ledgerd.contracts import Notification
from ledgerd.db import Pool
from ledgerd.notifications import _outbox
from ledgerd.notifications._channel import Channel, describe_failure
from ledgerd.notifications._email import EmailChannel
from ledgerd.notifications._slack import SlackChannel
from ledgerd.notifications._webhook import WebhookChannel

log = logging.getLogger("ledgerd.notify")
# Below the notify activity's 60 s start-to-close timeout, with room for the sends.
RECORD_PATIENCE_SECONDS = 40.0


class DeliveryReport(BaseModel):
    """What one delivery attempt did; short and secret-free (it lands in workflow history)."""

    dedupe_key: str
    queued: bool = Field(description="This attempt wrote the outbox row (False: it existed).")
    delivered: list[str] = Field(default_factory=list, description="Sent by this attempt.")
    already_delivered: list[str] = Field(
        default_factory=list, description="Delivered by an earlier attempt: not sent again."
    )
    failed: dict[str, str] = Field(
        default_factory=dict, description="Channel → a short, safe reason."
    )


def configured_channels(settings: Settings) -> list[Channel]:
    """The channels the settings configure, besides the outbox (which always receives)."""
    channels: list[Channel] = []
    if settings.notify_slack_webhook_url is not None:
        channels.append(SlackChannel(settings.notify_slack_webhook_url))
    if settings.notify_webhook_url:
        channels.append(WebhookChannel(settings.notify_webhook_url))
    if settings.smtp_host and settings.notify_email_to:
        channels.append(
            EmailChannel(
                host=settings.smtp_host,
                port=settings.smtp_port,
                sender=settings.smtp_from,
                recipients=settings.notify_email_to,
                username=settings.smtp_username,
                password=settings.smtp_password,
                security=settings.smtp_security,
            )
        )
    return channels


async def _attempt(channel: Channel, notification: Notification) -> str | None:
    """None when delivered, else why not. One channel's failure never stops the others."""
    try:
        await channel.send(notification)
    except Exception as error:
        return describe_failure(error)
    return None


async def deliver(
    pool: Pool, notification: Notification, channels: Sequence[Channel]
) -> DeliveryReport:
    """Queue `notification` in the outbox, then send it to each channel that has not had it.

    Every attempt is recorded in `notification_deliveries`, so calling this again with the
    same dedupe key sends only to the channels that failed. The outbox row is marked
    delivered once every channel has delivered; with no channel configured it stays pending
    for whatever reads the outbox.
    """
    names = [channel.name for channel in channels]
    if len(set(names)) != len(names):
        raise ValueError(f"channel names must be unique, got {names}")
    key = notification.dedupe_key
    async with pool.connection() as conn:
        queued = await _outbox.queue(conn, notification)
        done = await _outbox.delivered_channels(conn, key)
    if queued:
        log.info(
            "%s [%s] %s (%s)",
            notification.severity.value,
            notification.tenant_id,
            notification.subject,
            notification.workflow_id,
        )
    report = DeliveryReport(
        dedupe_key=key, queued=queued, already_delivered=[n for n in names if n in done]
    )
    pending = [channel for channel in channels if channel.name not in done]
    errors = await asyncio.gather(*(_attempt(channel, notification) for channel in pending))
    for channel, error in zip(pending, errors, strict=True):
        if error is None:
            report.delivered.append(channel.name)
            log.info("notification %s delivered via %s", key, channel.name)
        else:
            report.failed[channel.name] = error
            log.warning("notification %s not delivered via %s: %s", key, channel.name, error)
    await _record_patiently(pool, key, list(zip(pending, errors, strict=True)), bool(channels))
    return report


async def _record_patiently(
    pool: Pool, key: str, results: list[tuple[Channel, str | None]], mark: bool
) -> None:
    """Record what was sent, waiting out a database outage of up to RECORD_PATIENCE.

    Failing here would have Temporal retry the activity, which sends again what the receiver
    already has (same Idempotency-Key, but a second delivery all the same): what was sent is
    kept in memory and written once PostgreSQL is back.
    """
    clock = asyncio.get_running_loop().time
    deadline = clock() + RECORD_PATIENCE_SECONDS
    pause = 0.5
    while True:
        try:
            waiting = max(1.0, deadline - clock())
            async with pool.connection(timeout=waiting) as conn, conn.transaction():
                for channel, error in results:
                    await _outbox.record(conn, key, channel.name, error)
                if mark and all(error is None for _, error in results):
                    await _outbox.mark_delivered(conn, key)
            return
        except (psycopg.OperationalError, psycopg_pool.PoolTimeout) as error:
            if clock() + pause > deadline:
                raise
            log.warning("recording notification %s waits for PostgreSQL: %s", key, error)
            await asyncio.sleep(pause)
            pause = min(pause * 2, 5.0)
