"""Email over SMTP: stdlib `smtplib`, run in a thread so the event loop never blocks.

The Message-ID is derived from the dedupe key, so even a resent copy (an answer lost after
the server accepted the message) is recognisably the same message to mail clients.
"""

from __future__ import annotations

import asyncio
import hashlib
import json
import logging
import smtplib
import ssl
from collections.abc import Sequence
from datetime import UTC, datetime
from email.message import EmailMessage
from email.utils import format_datetime

from pydantic import SecretStr

from ledgerd.contracts import Notification
from ledgerd.notifications._channel import DeliveryError

log = logging.getLogger("ledgerd.notify")

TIMEOUT_SECONDS = 20.0


def _one_line(text: str) -> str:
    """Header values may not hold line breaks (nor should a subject)."""
    return " ".join(text.split())


def email_message(
    notification: Notification, sender: str, recipients: Sequence[str]
) -> EmailMessage:
    message = EmailMessage()
    message["Subject"] = _one_line(
        f"[ledgerd {notification.severity.value}] {notification.subject}"
    )
    message["From"] = sender
    message["To"] = ", ".join(recipients)
    message["Date"] = format_datetime(datetime.now(UTC))
    digest = hashlib.sha256(notification.dedupe_key.encode()).hexdigest()[:32]
    domain = sender.rpartition("@")[2] or "ledgerd"
    message["Message-ID"] = f"<{digest}@{domain}>"
    message["X-Ledgerd-Kind"] = _one_line(notification.kind)
    lines = [
        notification.subject,
        "",
        f"kind:     {notification.kind}",
        f"severity: {notification.severity.value}",
        f"tenant:   {notification.tenant_id}",
        f"workflow: {notification.workflow_id}",
    ]
    if notification.body:
        lines += ["", json.dumps(notification.body, indent=2, sort_keys=True, default=str)]
    message.set_content("\n".join(lines) + "\n")
    return message


class EmailChannel:
    name = "email"

    def __init__(
        self,
        *,
        host: str,
        port: int,
        sender: str,
        recipients: Sequence[str],
        username: SecretStr | None = None,
        password: SecretStr | None = None,
        security: str = "starttls",
    ) -> None:
        self._host = host
        self._port = port
        self._sender = sender
        self._recipients = list(recipients)
        self._username = username
        self._password = password
        self._security = security

    async def send(self, notification: Notification) -> None:
        message = email_message(notification, self._sender, self._recipients)
        await asyncio.to_thread(self._send, message)

    def _send(self, message: EmailMessage) -> None:
        # Errors name SMTP codes and exception types only: server replies and
        # SMTPRecipientsRefused quote addresses.
        try:
            # TLS unless explicitly turned off: credentials and ledger data never cross the
            # network in the clear by default, and a server without STARTTLS is refused.
            smtp: smtplib.SMTP
            if self._security == "tls":
                smtp = smtplib.SMTP_SSL(
                    self._host,
                    self._port,
                    timeout=TIMEOUT_SECONDS,
                    context=ssl.create_default_context(),
                )
            else:
                smtp = smtplib.SMTP(self._host, self._port, timeout=TIMEOUT_SECONDS)
            with smtp:
                if self._security == "starttls":
                    smtp.starttls(context=ssl.create_default_context())
                if self._username is not None and self._password is not None:
                    smtp.login(self._username.get_secret_value(), self._password.get_secret_value())
                refused = smtp.send_message(message)
        except smtplib.SMTPRecipientsRefused as error:
            raise DeliveryError(f"email: all {len(error.recipients)} recipients refused") from None
        except smtplib.SMTPResponseException as error:
            raise DeliveryError(f"email: SMTP {error.smtp_code}") from None
        except TimeoutError:
            raise DeliveryError("email: timed out") from None
        except (smtplib.SMTPException, OSError) as error:
            raise DeliveryError(f"email: {type(error).__name__}") from None
        if refused:
            # Delivered to the others; resending would tell them twice.
            log.warning("email: %d of %d recipients refused", len(refused), len(self._recipients))
