"""Generic JSON webhook: the Notification as JSON, with `Idempotency-Key: <dedupe key>`.

A retried delivery carries the same key, so a receiver that honours the header (the common
convention) processes each notification once even when an answer was lost on the way back.
"""

from __future__ import annotations

from ledgerd.contracts import Notification
from ledgerd.notifications._http import post_json


class WebhookChannel:
    name = "webhook"

    def __init__(self, url: str) -> None:
        self._url = url

    async def send(self, notification: Notification) -> None:
        await post_json(
            self.name,
            self._url,
            notification.model_dump(mode="json"),
            headers={"Idempotency-Key": notification.dedupe_key},
        )
