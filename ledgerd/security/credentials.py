"""Short-lived signed credentials: proof that a platform-authenticated principal asked for one
action on one workflow (and, for a decision, on one pending approval), until an expiry.

An Update or a Signal carries no bearer token, so whoever sends it could name anyone in its
payload. The API and the CLI authenticate the principal first (a token), then sign a
credential over every claim that matters; the workflow verifies it deterministically (HMAC
with a key loaded at worker start, expiry against `workflow.now()`), so a payload that names
another principal, role, tenant, workflow, approval or action, or whose content was changed,
is refused.

Format, one line to paste into `temporal workflow update execute --input`:
`ldc1.<key id>.<base64url claims JSON>.<base64url HMAC-SHA256 of "ldc1.<key id>.<claims>">`.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
from datetime import datetime, timedelta
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from accounting.principals import Principal, Role
from ledgerd.security._keys import Keyring

PREFIX = "ldc1"


class CredentialError(ValueError):
    """A credential does not prove what it is used for; the message says which claim."""


class Claims(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")

    principal: str = Field(alias="p")
    tenant: str = Field(alias="t")
    role: Role = Field(alias="r")
    workflow_id: str = Field(alias="w")
    action: str = Field(alias="a")
    subject: str = Field(default="", alias="s", description="The approval id of a decision.")
    digest: str = Field(default="", alias="d", description="SHA-256 of what is decided.")
    expires: int = Field(alias="e", description="Unix seconds.")

    @property
    def who(self) -> Principal:
        return Principal(id=self.principal, tenant_id=self.tenant, role=self.role)


def content_digest(content: Any) -> str:
    """SHA-256 of canonical JSON: a decision's comments and edited proposal, feedback's body."""
    canonical = json.dumps(content, sort_keys=True, separators=(",", ":"), default=str)
    return hashlib.sha256(canonical.encode()).hexdigest()


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def _unb64(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


def sign(
    keyring: Keyring,
    *,
    principal: Principal,
    workflow_id: str,
    action: str,
    now: datetime,
    ttl: timedelta,
    subject: str = "",
    digest: str = "",
) -> str:
    claims = Claims(
        p=principal.id,
        t=principal.tenant_id,
        r=principal.role,
        w=workflow_id,
        a=action,
        s=subject,
        d=digest,
        e=int((now + ttl).timestamp()),
    )
    body = _b64(claims.model_dump_json(by_alias=True).encode())
    signed = f"{PREFIX}.{keyring.current}.{body}"
    mac = hmac.new(keyring.current_key, signed.encode(), hashlib.sha256).digest()
    return f"{signed}.{_b64(mac)}"


def verify(
    keyring: Keyring,
    credential: str | None,
    *,
    principal: Principal | None = None,
    workflow_id: str,
    action: str,
    now: datetime,
    subject: str = "",
    digest: str = "",
) -> Claims:
    """The claims, if `credential` is genuine, unexpired and made for exactly this use."""
    if not credential:
        raise CredentialError(
            "no credential: get one from the API, `ledgerd approval-token` or "
            "`ledgerd action-token`, which authenticate you first"
        )
    parts = credential.strip().split(".")
    if len(parts) != 4 or parts[0] != PREFIX:
        raise CredentialError("the credential is malformed: expected ldc1.<key>.<claims>.<mac>")
    _, key_id, body, mac = parts
    key = keyring.key(key_id)
    if key is None:
        raise CredentialError(f"the credential's key {key_id!r} is unknown or retired")
    expected = hmac.new(key, f"{PREFIX}.{key_id}.{body}".encode(), hashlib.sha256).digest()
    try:
        genuine = hmac.compare_digest(expected, _unb64(mac))
        claims = Claims.model_validate_json(_unb64(body)) if genuine else None
    except (ValueError, ValidationError):
        claims = None
    if claims is None:
        raise CredentialError("the credential's signature does not match: it was forged or altered")
    if now.timestamp() >= claims.expires:
        raise CredentialError("the credential has expired: get a new one")
    mismatches = [
        f"{name} {got!r} (it was issued for {want!r})"
        for name, want, got in (
            ("workflow", claims.workflow_id, workflow_id),
            ("action", claims.action, action),
            ("approval", claims.subject, subject),
        )
        if want != got
    ]
    if mismatches:
        raise CredentialError("the credential does not cover " + ", ".join(mismatches))
    if digest != claims.digest:
        raise CredentialError(
            "the credential was issued for different content (comments, proposal or feedback)"
        )
    if principal is not None and principal != claims.who:
        raise CredentialError(
            f"the credential was issued to {claims.principal!r} ({claims.role.value} of "
            f"{claims.tenant!r}), not to {principal.id!r} ({principal.role.value} of "
            f"{principal.tenant_id!r})"
        )
    return claims


def unverified_claims(credential: str) -> Claims:
    """The claims of a credential already verified (an accepted Update's): who decided.
    Never use this to decide whether to trust a credential; `verify` does that."""
    return Claims.model_validate_json(_unb64(credential.strip().split(".")[2]))
