"""Notification channels against real receivers: a local HTTP server standing in for Slack and
the JSON webhook, and a local SMTP server (aiosmtpd). The `notify` activity runs in
Temporal's ActivityEnvironment on a fresh database, and a whole daemon run on the
time-skipping server shows that a broken channel never fails the daemon."""

from __future__ import annotations

import asyncio
import email
import json
import logging
from collections.abc import AsyncIterator, Iterator
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from email.message import Message
from http import HTTPStatus
from typing import Any, cast

import httpx
import psycopg
import pytest
from aiosmtpd.controller import Controller
from aiosmtpd.smtp import SMTP, AuthResult, Envelope, LoginPassword, Session
from temporalio.exceptions import ApplicationError
from temporalio.testing import ActivityEnvironment, WorkflowEnvironment

from activities.notify import notify
from ledgerd.config import ConfigError, load_settings
from ledgerd.contracts import Notification, Outcome, Severity
from ledgerd.notifications._email import email_message
from ledgerd.runtime import Dependencies, open_dependencies
from ledgerd.stack import free_port
from standin import OfflineModelServer
from tests._ledger import ACCOUNTANT, BLUE_BOTTLE, small_ledger
from tests.conftest import running_worker
from workflows import HydrationRequest, VendorHydration

# A Slack webhook URL is a credential; its path is what must never leak.
SLACK_PATH = "/services/T0SECRET/B0SECRET/xoxSecretToken123"


@dataclass
class Request:
    method: str
    path: str
    headers: dict[str, str]
    body: Any


@dataclass
class Receiver:
    """A real HTTP/1.1 server on 127.0.0.1: records each request, answers `status[path]`."""

    port: int = 0
    requests: list[Request] = field(default_factory=list)
    status: dict[str, int] = field(default_factory=dict)

    def url(self, path: str) -> str:
        return f"http://127.0.0.1:{self.port}{path}"

    def to(self, path: str) -> list[Request]:
        return [r for r in self.requests if r.path == path]

    async def handle(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            method, path, _ = (await reader.readline()).decode().split(" ", 2)
            headers: dict[str, str] = {}
            while (line := await reader.readline()) not in (b"\r\n", b"\n", b""):
                name, _, value = line.decode().partition(":")
                headers[name.strip().lower()] = value.strip()
            raw = await reader.readexactly(int(headers.get("content-length", "0")))
            self.requests.append(Request(method, path, headers, json.loads(raw) if raw else None))
            status = HTTPStatus(self.status.get(path, 200))
            text = b"ok" if status < 400 else b"something broke"
            writer.write(
                f"HTTP/1.1 {status.value} {status.phrase}\r\nContent-Type: text/plain\r\n"
                f"Content-Length: {len(text)}\r\nConnection: close\r\n\r\n".encode()
                + text
            )
            await writer.drain()
        finally:
            writer.close()


@pytest.fixture
async def receiver() -> AsyncIterator[Receiver]:
    found = Receiver()
    server = await asyncio.start_server(found.handle, "127.0.0.1", 0)
    found.port = server.sockets[0].getsockname()[1]
    async with server:
        yield found


@dataclass
class Inbox:
    """aiosmtpd handler: keeps every accepted message."""

    messages: list[Envelope] = field(default_factory=list)
    authenticated: list[bool | None] = field(default_factory=list)

    async def handle_DATA(self, server: SMTP, session: Session, envelope: Envelope) -> str:
        self.messages.append(envelope)
        self.authenticated.append(session.authenticated)
        return "250 Message accepted for delivery"

    def parsed(self) -> list[Message]:
        return [email.message_from_bytes(bytes(m.original_content or b"")) for m in self.messages]


@dataclass
class SmtpServer:
    port: int
    inbox: Inbox


def _check_login(
    server: SMTP, session: Session, envelope: Envelope, mechanism: str, auth_data: Any
) -> AuthResult:
    ok = isinstance(auth_data, LoginPassword) and auth_data == (b"ledgerd", b"s3cret-pass")
    return AuthResult(success=ok, handled=False)


@pytest.fixture
def smtp_server() -> Iterator[SmtpServer]:
    inbox = Inbox()
    port = free_port()
    controller = Controller(
        inbox,
        hostname="127.0.0.1",
        port=port,
        authenticator=_check_login,
        auth_require_tls=False,  # STARTTLS needs certificates; login is still exercised
    )
    controller.start()
    try:
        yield SmtpServer(port, inbox)
    finally:
        controller.stop()


@asynccontextmanager
async def notifier(pg_url: str, **settings: Any) -> AsyncIterator[Dependencies]:
    """Dependencies for the activity, with the given notification settings."""
    deps = await open_dependencies(load_settings(database_url=pg_url, **settings))
    try:
        yield deps
    finally:
        await deps.close()


def notification(key: str = "wf-1/completed", **changes: Any) -> Notification:
    values: dict[str, Any] = {
        "dedupe_key": key,
        "tenant_id": "acme",
        "workflow_id": "wf-1",
        "kind": "vendor_hydration.completed",
        "severity": Severity.ATTENTION,
        "subject": "vendor_hydration escalated: domain <not> from evidence & guessed",
        "body": {"steps": 3, "tool_calls": 4},
    }
    return Notification(**(values | changes))


async def run_notify(item: Notification) -> bool:
    return await ActivityEnvironment().run(notify, item)


async def deliveries(deps: Dependencies, key: str = "wf-1/completed") -> dict[str, Any]:
    async with deps.pool.connection() as conn:
        cursor = await conn.execute(
            """SELECT channel, status, attempts, last_error, delivered_at IS NOT NULL AS at
               FROM notification_deliveries WHERE dedupe_key = %s""",
            (key,),
        )
        return {
            r["channel"]: (r["status"], r["attempts"], r["last_error"], r["at"])
            for r in await cursor.fetchall()
        }


async def outbox_delivered(deps: Dependencies, key: str = "wf-1/completed") -> bool | None:
    """None: no outbox row; else whether it is marked delivered."""
    async with deps.pool.connection() as conn:
        cursor = await conn.execute(
            "SELECT delivered_at IS NOT NULL AS done FROM notification_outbox WHERE dedupe_key = %s",
            (key,),
        )
        row = await cursor.fetchone()
    return None if row is None else bool(row["done"])


def smtp_settings(server: SmtpServer, **more: Any) -> dict[str, Any]:
    return {
        "smtp_host": "127.0.0.1",
        "smtp_port": server.port,
        "smtp_from": "ledgerd@books.example",
        "notify_email_to": "ops@books.example, cfo@books.example",
        # The test server speaks plain SMTP; the default (STARTTLS) is tested on its own.
        "smtp_security": "off",
        **more,
    }


async def test_slack_gets_text_and_blocks_and_its_url_is_never_logged(
    pg_url: str, receiver: Receiver, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    url = receiver.url(SLACK_PATH)
    async with notifier(pg_url, notify_slack_webhook_url=url) as deps:
        assert await run_notify(notification()) is True
        assert await deliveries(deps) == {"slack": ("delivered", 1, None, True)}
        assert await outbox_delivered(deps) is True
    [sent] = receiver.to(SLACK_PATH)
    assert sent.method == "POST" and sent.headers["content-type"] == "application/json"
    assert set(sent.body) == {"text", "blocks"}
    escaped = "vendor_hydration escalated: domain &lt;not&gt; from evidence &amp; guessed"
    assert sent.body["text"] == f":warning: [attention] {escaped}"
    section, context, fields = sent.body["blocks"]
    assert section == {
        "type": "section",
        "text": {"type": "mrkdwn", "text": f":warning: *{escaped}*"},
    }
    assert context["type"] == "context"
    assert "tenant `acme`" in context["elements"][0]["text"]
    assert "workflow `wf-1`" in context["elements"][0]["text"]
    assert [f["text"] for f in fields["fields"]] == ["*steps*\n3", "*tool_calls*\n4"]
    # httpx logs each request's URL at INFO: the secret part is blanked.
    assert "HTTP Request: POST [redacted webhook URL]" in caplog.text
    assert "xoxSecretToken123" not in caplog.text


async def test_the_json_webhook_gets_the_notification_with_an_idempotency_key(
    pg_url: str, receiver: Receiver, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    item = notification(body={"steps": 3, "nested": {"ok": True}})
    async with notifier(pg_url, notify_webhook_url=receiver.url("/hooks/ledgerd")) as deps:
        await run_notify(item)
        assert await deliveries(deps) == {"webhook": ("delivered", 1, None, True)}
    [sent] = receiver.to("/hooks/ledgerd")
    assert sent.headers["idempotency-key"] == "wf-1/completed"
    assert sent.headers["content-type"] == "application/json"
    assert sent.body == {
        "dedupe_key": "wf-1/completed",
        "tenant_id": "acme",
        "workflow_id": "wf-1",
        "kind": "vendor_hydration.completed",
        "severity": "attention",
        "subject": item.subject,
        "body": {"steps": 3, "nested": {"ok": True}},
    }
    assert Notification.model_validate(sent.body) == item
    # Its URL carries the receiver's token: httpx's INFO line shows it blanked.
    assert "HTTP Request: POST [redacted webhook URL]" in caplog.text
    assert "/hooks/ledgerd" not in caplog.text


async def test_email_refuses_a_server_without_starttls_unless_turned_off(
    pg_url: str, smtp_server: SmtpServer
) -> None:
    settings = smtp_settings(smtp_server, smtp_username="ledgerd", smtp_password="s3cret-pass")
    settings.pop("smtp_security")  # the default: STARTTLS
    async with notifier(pg_url, **settings) as deps:
        with pytest.raises(ApplicationError):
            await run_notify(notification())
        [(status, _, reason, _)] = (await deliveries(deps)).values()
    assert status == "failed" and reason is not None and reason.startswith("email:")
    assert smtp_server.inbox.messages == [] and smtp_server.inbox.authenticated == []


async def test_email_goes_to_every_recipient_with_the_subject_and_a_stable_message_id(
    pg_url: str, smtp_server: SmtpServer
) -> None:
    item = notification(subject="vendor_hydration failed:\nmodel_turn failed")
    settings = smtp_settings(smtp_server, smtp_username="ledgerd", smtp_password="s3cret-pass")
    async with notifier(pg_url, **settings) as deps:
        await run_notify(item)
        assert await deliveries(deps) == {"email": ("delivered", 1, None, True)}
    [envelope] = smtp_server.inbox.messages
    assert envelope.mail_from == "ledgerd@books.example"
    assert envelope.rcpt_tos == ["ops@books.example", "cfo@books.example"]
    assert smtp_server.inbox.authenticated == [True]
    [message] = smtp_server.inbox.parsed()
    # A line break in a subject would be header injection: it is folded to one line.
    assert message["Subject"] == "[ledgerd attention] vendor_hydration failed: model_turn failed"
    assert message["To"] == "ops@books.example, cfo@books.example"
    assert message["Message-ID"].endswith("@books.example>")
    text = message.get_payload(decode=True)
    assert isinstance(text, bytes)
    assert "workflow: wf-1" in text.decode() and '"steps": 3' in text.decode()

    # The same dedupe key always makes the same Message-ID, so a resent copy is recognisable.
    again = email_message(item, "ledgerd@books.example", ["ops@books.example"])
    assert again["Message-ID"] == message["Message-ID"]


async def test_a_wrong_smtp_password_is_recorded_without_the_password(
    pg_url: str, smtp_server: SmtpServer
) -> None:
    settings = smtp_settings(smtp_server, smtp_username="ledgerd", smtp_password="wrong-pass")
    async with notifier(pg_url, **settings) as deps:
        with pytest.raises(ApplicationError) as raised:
            await run_notify(notification())
        assert await deliveries(deps) == {"email": ("failed", 1, "email: SMTP 535", False)}
    assert "wrong-pass" not in str(raised.value)
    assert smtp_server.inbox.messages == []


async def test_the_same_dedupe_key_twice_sends_once_per_channel(
    pg_url: str, receiver: Receiver, smtp_server: SmtpServer
) -> None:
    settings = smtp_settings(
        smtp_server,
        notify_slack_webhook_url=receiver.url(SLACK_PATH),
        notify_webhook_url=receiver.url("/hooks/ledgerd"),
    )
    async with notifier(pg_url, **settings) as deps:
        assert await run_notify(notification()) is True
        assert await run_notify(notification()) is False
        recorded = await deliveries(deps)
    assert recorded == {
        "slack": ("delivered", 1, None, True),
        "webhook": ("delivered", 1, None, True),
        "email": ("delivered", 1, None, True),
    }
    assert len(receiver.to(SLACK_PATH)) == len(receiver.to("/hooks/ledgerd")) == 1
    assert len(smtp_server.inbox.messages) == 1


async def test_a_failing_channel_raises_after_recording_and_a_retry_sends_only_to_it(
    pg_url: str, receiver: Receiver, smtp_server: SmtpServer
) -> None:
    receiver.status["/hooks/ledgerd"] = 500
    settings = smtp_settings(
        smtp_server,
        notify_slack_webhook_url=receiver.url(SLACK_PATH),
        notify_webhook_url=receiver.url("/hooks/ledgerd"),
    )
    async with notifier(pg_url, **settings) as deps:
        with pytest.raises(ApplicationError) as raised:
            await run_notify(notification())
        assert await deliveries(deps) == {
            "slack": ("delivered", 1, None, True),
            "webhook": ("failed", 1, "webhook: HTTP 500 Internal Server Error", False),
            "email": ("delivered", 1, None, True),
        }
        assert await outbox_delivered(deps) is False

        receiver.status["/hooks/ledgerd"] = 200
        assert await run_notify(notification()) is False
        assert await deliveries(deps) == {
            "slack": ("delivered", 1, None, True),
            # The last error stays for the record; the status says it got through.
            "webhook": ("delivered", 2, "webhook: HTTP 500 Internal Server Error", True),
            "email": ("delivered", 1, None, True),
        }
        assert await outbox_delivered(deps) is True
    error = raised.value
    assert error.type == "NotificationNotDelivered" and not error.non_retryable
    assert "webhook: HTTP 500" in str(error)
    assert str(receiver.port) not in str(error) and "xoxSecretToken123" not in str(error)
    assert len(receiver.to(SLACK_PATH)) == 1
    assert len(receiver.to("/hooks/ledgerd")) == 2
    assert len(smtp_server.inbox.messages) == 1


async def test_the_outbox_row_exists_even_when_every_channel_fails(
    pg_url: str, receiver: Receiver, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    down = free_port()  # nothing listens here
    receiver.status["/hooks/ledgerd"] = 503
    settings = {
        "notify_slack_webhook_url": f"http://127.0.0.1:{down}{SLACK_PATH}",
        "notify_webhook_url": receiver.url("/hooks/ledgerd"),
        "smtp_host": "127.0.0.1",
        "smtp_port": down,
        "notify_email_to": "ops@books.example",
    }
    async with notifier(pg_url, **settings) as deps:
        with pytest.raises(ApplicationError) as raised:
            await run_notify(notification())
        assert await outbox_delivered(deps) is False
        assert await deliveries(deps) == {
            "slack": ("failed", 1, "slack: ConnectError", False),
            "webhook": ("failed", 1, "webhook: HTTP 503 Service Unavailable", False),
            "email": ("failed", 1, "email: ConnectionRefusedError", False),
        }
        async with deps.pool.connection() as conn:
            cursor = await conn.execute("SELECT kind, severity, body FROM notification_outbox")
            assert await cursor.fetchall() == [
                {
                    "kind": "vendor_hydration.completed",
                    "severity": "attention",
                    "body": {"steps": 3, "tool_calls": 4},
                }
            ]
    for leak in ("xoxSecretToken123", "ops@books.example"):
        assert leak not in str(raised.value) and leak not in caplog.text
    assert str(down) not in str(raised.value)


async def test_with_no_channel_configured_the_outbox_row_waits_for_its_readers(
    pg_url: str,
) -> None:
    async with notifier(pg_url) as deps:
        assert await run_notify(notification()) is True
        assert await outbox_delivered(deps) is False
        assert await deliveries(deps) == {}


def test_channel_settings_come_from_the_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("LEDGERD_NOTIFY_SLACK_WEBHOOK_URL", "https://hooks.example" + SLACK_PATH)
    monkeypatch.setenv("LEDGERD_SMTP_HOST", "mail.internal")
    monkeypatch.setenv("LEDGERD_NOTIFY_EMAIL_TO", "ops@books.example, cfo@books.example")
    settings = load_settings()
    assert settings.notify_email_to == ("ops@books.example", "cfo@books.example")
    hash(settings)  # model clients are cached per Settings
    assert settings.notify_slack_webhook_url is not None
    assert "xoxSecretToken123" not in repr(settings)


def test_bad_channel_settings_fail_at_start_without_echoing_secrets() -> None:
    with pytest.raises(ConfigError, match="LEDGERD_NOTIFY_EMAIL_TO is set but LEDGERD_SMTP"):
        load_settings(notify_email_to="ops@books.example")
    with pytest.raises(ConfigError, match="not an email address") as bad_address:
        load_settings(smtp_host="mail.internal", notify_email_to="ops@books.example, nobody")
    assert "LEDGERD_NOTIFY_EMAIL_TO" in str(bad_address.value)
    with pytest.raises(ConfigError) as bad_secret:
        load_settings(notify_slack_webhook_url=["https://hooks.example" + SLACK_PATH])
    assert "LEDGERD_NOTIFY_SLACK_WEBHOOK_URL" in str(bad_secret.value)
    assert "xoxSecretToken123" not in str(bad_secret.value)


@pytest.fixture
async def broken_webhook_deps(
    pg_url: str,
    receiver: Receiver,
    model_server: OfflineModelServer,
    model_control: httpx.AsyncClient,
) -> AsyncIterator[Dependencies]:
    receiver.status["/hooks/ledgerd"] = 500
    async with notifier(
        pg_url,
        offline_model_port=model_server.port,
        notify_slack_webhook_url=receiver.url(SLACK_PATH),
        notify_webhook_url=receiver.url("/hooks/ledgerd"),
    ) as deps:
        yield deps


async def test_a_daemon_run_with_a_broken_webhook_still_completes(
    time_skipping_env: WorkflowEnvironment, broken_webhook_deps: Dependencies, receiver: Receiver
) -> None:
    deps = broken_webhook_deps
    await small_ledger(deps.pool)
    async with running_worker(time_skipping_env) as queue:
        result = await time_skipping_env.client.execute_workflow(
            VendorHydration.run,
            HydrationRequest(tenant_id="acme", principal=ACCOUNTANT, descriptor=BLUE_BOTTLE),
            id="hydrate-broken-webhook",
            task_queue=queue,
        )
    assert result.outcome is Outcome.COMPLETED, result.reason
    first_run = (
        await time_skipping_env.client.get_workflow_handle("hydrate-broken-webhook").describe()
    ).run_id
    key = f"hydrate-broken-webhook@{first_run}/completed"  # see workflows/_keys.py
    # Every attempt of the bounded retry policy reached the webhook; Slack heard it once.
    assert len(receiver.to("/hooks/ledgerd")) == 5
    assert len(receiver.to(SLACK_PATH)) == 1
    assert await deliveries(deps, key) == {
        "slack": ("delivered", 1, None, True),
        "webhook": ("failed", 5, "webhook: HTTP 500 Internal Server Error", False),
    }
    assert await outbox_delivered(deps, key) is False


class _OutageDuringSend:
    """A real pool that refuses `refusals` connections once armed: PostgreSQL going away
    while a channel sends (stopping the suite's shared server would stop other tests)."""

    def __init__(self, pool: Any) -> None:
        self.pool = pool
        self.refusals = 0
        self.refused = 0

    def connection(self, timeout: float | None = None) -> Any:
        if self.refusals > self.refused:
            self.refused += 1
            raise psycopg.OperationalError("connection refused (the test's outage)")
        return self.pool.connection(timeout=timeout)


@pytest.mark.parametrize("refusals", [3, 1000])
async def test_a_database_outage_after_sending_sends_nothing_twice(
    pg_url: str, receiver: Receiver, monkeypatch: pytest.MonkeyPatch, refusals: int
) -> None:
    from ledgerd.notifications import _deliver
    from ledgerd.notifications._webhook import WebhookChannel

    monkeypatch.setattr(_deliver, "RECORD_PATIENCE_SECONDS", 10.0 if refusals < 1000 else 2.0)
    async with notifier(pg_url) as deps:
        pool = _OutageDuringSend(deps.pool)
        webhook = WebhookChannel(receiver.url("/hooks/ledgerd"))

        class Arming:
            name = "webhook"

            async def send(self, item: Notification) -> None:
                await webhook.send(item)
                pool.refusals = refusals

        if refusals < 1000:
            report = await _deliver.deliver(cast(Any, pool), notification(), [Arming()])
            assert report.delivered == ["webhook"] and pool.refused == refusals
            assert await outbox_delivered(deps) is True
            assert (await deliveries(deps))["webhook"][:2] == ("delivered", 1)
        else:
            # Longer than the patience: the activity fails, and its retry sends again (the
            # receiver dedupes by Idempotency-Key); nothing is recorded as delivered.
            with pytest.raises(psycopg.OperationalError):
                await _deliver.deliver(cast(Any, pool), notification(), [Arming()])
            assert await outbox_delivered(deps) is False
    assert len(receiver.to("/hooks/ledgerd")) == 1
