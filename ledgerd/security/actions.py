"""Credentials for the Updates and Signals that act for someone: what each one signs.

The API, the CLI and `starter` call these after authenticating the principal; workflows call
`verify_*` in their validators, against `workflow.now()`.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

from accounting.principals import Principal
from ledgerd.config import get_settings
from ledgerd.security import signing_keyring
from ledgerd.security.credentials import Claims, content_digest, sign, verify


def decision_action(action: str) -> str:
    return f"decide:{action}"


def sign_action(
    principal: Principal,
    workflow_id: str,
    action: str,
    *,
    subject: str = "",
    content: Any = None,
    now: datetime | None = None,
) -> str:
    settings = get_settings()
    return sign(
        signing_keyring(),
        principal=principal,
        workflow_id=workflow_id,
        action=action,
        subject=subject,
        digest=content_digest(content) if content is not None else "",
        now=now or datetime.now(UTC),
        ttl=timedelta(seconds=settings.credential_ttl_seconds),
    )


def verify_action(
    credential: str | None,
    *,
    principal: Principal | None,
    workflow_id: str,
    action: str,
    now: datetime,
    subject: str = "",
    content: Any = None,
) -> Claims:
    return verify(
        signing_keyring(),
        credential,
        principal=principal,
        workflow_id=workflow_id,
        action=action,
        subject=subject,
        digest=content_digest(content) if content is not None else "",
        now=now,
    )
