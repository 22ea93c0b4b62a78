"""Who calls, whether they may, and how often: every route's one gate.

A bearer token names a platform principal (`authenticate_token`: unknown, expired, revoked or
closed-tenant tokens are refused); the database keeps only each token's SHA-256, and the token
is never stored, logged or echoed. The principal, and so the tenant, of every request comes
from here, never from a request body. Then the per-principal and per-tenant rate limits
(`_limits`), then the role matrix (`ledgerd.security.policy`, kind `api`), looked up by the
matched route's method and path: a route missing from the matrix is refused to everyone.
Platform administrators (`platform_admins`) have their own gate, `PlatformAdmin`.
"""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends, Request
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer

from accounting.principals import Principal, TokenRefused, authenticate_token
from ledgerd.api._errors import ApiError
from ledgerd.api._limits import over_limit
from ledgerd.api._resources import CurrentSettings, Database
from ledgerd.security import policy
from ledgerd.security.admins import AdminRefused, authenticate_admin

_bearer = HTTPBearer(
    auto_error=False,
    scheme_name="token",
    description="A platform principal's token (the demo seed's are documented in the README).",
)
_CHALLENGE = {"WWW-Authenticate": "Bearer"}
Bearer = Annotated[HTTPAuthorizationCredentials | None, Depends(_bearer)]


def route_subject(request: Request) -> str:
    """The matrix's name of the matched route: `POST /v1/runs/{workflow_id}/feedback`."""
    route = request.scope.get("route")
    path = getattr(route, "path_format", request.url.path)
    return f"{request.method} {path}"


def _token(credentials: HTTPAuthorizationCredentials | None) -> str:
    if credentials is None or not credentials.credentials.strip():
        raise ApiError(
            401,
            "unauthorized",
            "missing bearer token: send `Authorization: Bearer <token>`",
            headers=_CHALLENGE,
        )
    return credentials.credentials.strip()


async def _limit(pool: Database, settings: CurrentSettings, who: str, tenant: str) -> None:
    limited = await over_limit(
        pool,
        f"principal:{who}",
        f"tenant:{tenant}",
        per_principal=settings.rate_limit_per_principal,
        per_tenant=settings.rate_limit_per_tenant,
    )
    if limited is not None:
        what, wait = limited
        raise ApiError(
            429,
            "rate_limited",
            f"too many requests: the limit is {what}; retry in {wait} s",
            headers={"Retry-After": str(wait)},
        )


async def current_principal(
    request: Request, credentials: Bearer, pool: Database, settings: CurrentSettings
) -> Principal:
    try:
        principal = await authenticate_token(pool, _token(credentials))
    except TokenRefused as error:
        raise ApiError(401, "unauthorized", str(error), headers=_CHALLENGE) from None
    await _limit(pool, settings, principal.id, principal.tenant_id)
    refused = policy.refusal(principal, "api", route_subject(request))
    if refused is not None:
        raise ApiError(403, "forbidden", refused)
    return principal


CurrentPrincipal = Annotated[Principal, Depends(current_principal)]


async def platform_admin(
    request: Request, credentials: Bearer, pool: Database, settings: CurrentSettings
) -> str:
    """The administrator a token proves; a tenant principal's token is refused by the matrix."""
    token = _token(credentials)
    try:
        admin = await authenticate_admin(pool, token)
    except AdminRefused as refused:
        try:
            principal = await authenticate_token(pool, token)
        except TokenRefused:
            raise ApiError(401, "unauthorized", str(refused), headers=_CHALLENGE) from None
        reason = policy.refusal(principal, "api", route_subject(request))
        raise ApiError(403, "forbidden", reason or str(refused)) from None
    await _limit(pool, settings, f"admin/{admin}", "platform")
    return admin


PlatformAdmin = Annotated[str, Depends(platform_admin)]
