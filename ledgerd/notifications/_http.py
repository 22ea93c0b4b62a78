"""Posting JSON for the HTTP channels, with httpx, without leaking webhook URLs.

httpx logs every request's full URL at INFO ("HTTP Request: POST https://…"), and a Slack
incoming-webhook URL is a credential; a filter on the `httpx` logger blanks the URLs
registered with `keep_out_of_logs`. Errors name the status code or the exception type only.
"""

from __future__ import annotations

import logging
from typing import Any

import httpx

from ledgerd.notifications._channel import DeliveryError

TIMEOUT = httpx.Timeout(10.0)
REDACTED = "[redacted webhook URL]"


class _RedactSecrets(logging.Filter):
    def __init__(self) -> None:
        super().__init__()
        self.secrets: set[str] = set()

    def filter(self, record: logging.LogRecord) -> bool:
        if self.secrets and isinstance(record.args, tuple):
            record.args = tuple(
                REDACTED if any(secret in str(arg) for secret in self.secrets) else arg
                for arg in record.args
            )
        return True


_redact = _RedactSecrets()
logging.getLogger("httpx").addFilter(_redact)


def keep_out_of_logs(secret: str) -> None:
    """Blank `secret` wherever httpx would log it."""
    _redact.secrets.add(secret)


async def post_json(
    channel: str, url: str, payload: Any, headers: dict[str, str] | None = None
) -> None:
    """POST `payload` as JSON; raise `DeliveryError` unless the answer is a 2xx."""
    try:
        async with httpx.AsyncClient(timeout=TIMEOUT, follow_redirects=False) as client:
            response = await client.post(
                url, json=payload, headers={"User-Agent": "ledgerd", **(headers or {})}
            )
    except httpx.TimeoutException:
        raise DeliveryError(f"{channel}: timed out") from None
    except httpx.HTTPError as error:  # the message may quote the URL: name the type only
        raise DeliveryError(f"{channel}: {type(error).__name__}") from None
    if not response.is_success:
        raise DeliveryError(f"{channel}: HTTP {response.status_code} {response.reason_phrase}")
