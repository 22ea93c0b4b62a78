"""What every channel is, and how its failures are described without leaking anything."""

from __future__ import annotations

from typing import Protocol

from ledgerd.contracts import Notification

_MAX_ERROR = 300


class DeliveryError(Exception):
    """A channel could not deliver.

    The message is short and safe to store and log: it never holds a secret, a webhook URL
    or a recipient's address (channels build it from status codes and exception types).
    """


class Channel(Protocol):
    """Somewhere notifications go. `send` returns when delivered and raises when not."""

    @property
    def name(self) -> str:
        """Unique among the configured channels; the key of its delivery records."""
        ...

    async def send(self, notification: Notification) -> None: ...


def describe_failure(error: BaseException) -> str:
    """A short, safe description of why a send failed.

    A `DeliveryError` says it itself; anything else is named by type only, because the
    messages of HTTP and SMTP libraries may quote the URL or the recipients.
    """
    if isinstance(error, DeliveryError):
        return str(error)[:_MAX_ERROR]
    return f"unexpected {type(error).__name__}"
