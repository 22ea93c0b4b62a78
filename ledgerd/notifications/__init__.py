"""Notification channels: Slack incoming webhook, a generic JSON webhook and SMTP email, on
top of the database outbox that always receives every notification.

`deliver` writes the outbox row, sends to each configured channel that has not yet had the
notification and records each attempt in `notification_deliveries`; the `notify` activity
turns failures into a retry that reaches only the failed channels.
"""

from ledgerd.notifications._channel import Channel, DeliveryError
from ledgerd.notifications._deliver import DeliveryReport, configured_channels, deliver

__all__ = ["Channel", "DeliveryError", "DeliveryReport", "configured_channels", "deliver"]
