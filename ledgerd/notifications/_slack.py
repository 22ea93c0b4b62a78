"""Slack incoming webhook: `{"text": …, "blocks": […]}` posted to the configured URL."""

from __future__ import annotations

from typing import Any

from pydantic import SecretStr

from ledgerd.contracts import Notification, Severity
from ledgerd.notifications._http import keep_out_of_logs, post_json

_ICONS = {
    Severity.INFO: ":white_check_mark:",
    Severity.ATTENTION: ":warning:",
    Severity.FAILURE: ":rotating_light:",
}
# Slack's limits: 3000 characters of section text, 10 fields of 2000 characters.
_MAX_TEXT = 2900
_MAX_FIELDS = 10
_MAX_FIELD = 1900


def _escape(text: str, limit: int = _MAX_TEXT) -> str:
    """Slack's mrkdwn control characters, escaped as its docs ask; cut to `limit`."""
    text = text if len(text) <= limit else text[: limit - 1] + "…"
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def slack_payload(notification: Notification) -> dict[str, Any]:
    icon = _ICONS[notification.severity]
    subject = _escape(notification.subject)
    context = (
        f"{notification.severity.value} · `{_escape(notification.kind, 200)}` · "
        f"tenant `{_escape(notification.tenant_id, 200)}` · "
        f"workflow `{_escape(notification.workflow_id, 300)}`"
    )
    blocks: list[dict[str, Any]] = [
        {"type": "section", "text": {"type": "mrkdwn", "text": f"{icon} *{subject}*"}},
        {"type": "context", "elements": [{"type": "mrkdwn", "text": context}]},
    ]
    fields = [
        {"type": "mrkdwn", "text": _escape(f"*{key}*\n{value}", _MAX_FIELD)}
        for key, value in list(notification.body.items())[:_MAX_FIELDS]
    ]
    if fields:
        blocks.append({"type": "section", "fields": fields})
    return {"text": f"{icon} [{notification.severity.value}] {subject}", "blocks": blocks}


class SlackChannel:
    """Posts to a Slack incoming webhook. The URL is a credential: it stays a `SecretStr`
    until the request is made, and httpx's request log line has it blanked."""

    name = "slack"

    def __init__(self, webhook_url: SecretStr) -> None:
        self._url = webhook_url
        keep_out_of_logs(webhook_url.get_secret_value())

    async def send(self, notification: Notification) -> None:
        await post_json(self.name, self._url.get_secret_value(), slack_payload(notification))
