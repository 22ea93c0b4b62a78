"""Generic JSON webhook: the Notification as JSON, with `Idempotency-Key: <dedupe key>`.

A retried delivery carries the same key, so a receiver that honours the header (the common
convention) processes each notification once even when an answer was lost on the way back.
"""

from __future__ import annotations

from pydantic import SecretStr

from ledgerd.contracts import Notification
from ledgerd.notifications._http import keep_out_of_logs, post_json


class WebhookChannel:
    name = "webhook"

    def __init__(self, url: SecretStr | str) -> None:
        # A webhook URL usually carries its receiver's token: never let httpx log it.
        self._url = url if isinstance(url, SecretStr) else SecretStr(url)
        keep_out_of_logs(self._url.get_secret_value())

    async def send(self, notification: Notification) -> None:
        await post_json(
            self.name,
            self._url.get_secret_value(),
            notification.model_dump(mode="json"),
            headers={"Idempotency-Key": notification.dedupe_key},
        )
