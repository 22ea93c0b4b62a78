"""Platform administration over HTTP: tenants, their principals, and administrators.

Only platform administrators (their bearer token, `platform_admins`) may call these; a tenant
principal's token is refused by the role matrix (403). A created principal's or
administrator's token is in the response once (`Cache-Control: no-store`) and is kept only as
its SHA-256.
"""

from __future__ import annotations

from datetime import timedelta

from fastapi import APIRouter, Response
from pydantic import BaseModel, Field

from accounting.errors import InvalidRequest, NotFound
from ledgerd.api._auth import PlatformAdmin
from ledgerd.api._errors import ApiError, error_responses
from ledgerd.api._resources import CurrentSettings, Database
from ledgerd.security.admins import ADMIN_ID, create_admin
from ledgerd.security.tenancy import (
    IssuedToken,
    NewPrincipal,
    NewTenant,
    add_principal,
    create_tenant,
    revoke_principal,
)

router = APIRouter(tags=["platform administration"])
_NO_STORE = {"Cache-Control": "no-store"}


class CreatedTenant(BaseModel):
    tenant_id: str
    status: str = "onboarding"
    principals: list[IssuedToken] = Field(description="Each token is shown this once.")


class NewAdmin(BaseModel):
    admin_id: str = Field(pattern=ADMIN_ID)


class CreatedAdmin(BaseModel):
    admin_id: str
    token: str = Field(description="Shown this once.")


def _ttl(settings: CurrentSettings) -> timedelta:
    return timedelta(days=settings.token_ttl_days)


@router.post(
    "/v1/tenants",
    status_code=201,
    response_model=CreatedTenant,
    responses=error_responses(401, 403, 409, 422),
    summary="Create a tenant and its principals",
)
async def create(
    body: NewTenant,
    admin: PlatformAdmin,
    pool: Database,
    settings: CurrentSettings,
    response: Response,
) -> CreatedTenant:
    try:
        issued = await create_tenant(pool, body, created_by=admin, token_ttl=_ttl(settings))
    except InvalidRequest as error:
        raise ApiError(409, "conflict", str(error)) from None
    response.headers.update(_NO_STORE)
    return CreatedTenant(tenant_id=body.tenant_id, principals=issued)


@router.post(
    "/v1/tenants/{tenant_id}/principals",
    status_code=201,
    response_model=IssuedToken,
    responses=error_responses(401, 403, 404, 409, 422),
    summary="Add a principal to a tenant",
)
async def add(
    tenant_id: str,
    body: NewPrincipal,
    admin: PlatformAdmin,
    pool: Database,
    settings: CurrentSettings,
    response: Response,
) -> IssuedToken:
    try:
        issued = await add_principal(
            pool, tenant_id, body, created_by=admin, token_ttl=_ttl(settings)
        )
    except NotFound as error:
        raise ApiError(404, "not_found", str(error)) from None
    except InvalidRequest as error:
        raise ApiError(409, "conflict", str(error)) from None
    response.headers.update(_NO_STORE)
    return issued


@router.post(
    "/v1/principals/{principal_id}/revoke",
    status_code=204,
    responses=error_responses(401, 403, 404),
    summary="Revoke a principal's token",
)
async def revoke(principal_id: str, admin: PlatformAdmin, pool: Database) -> Response:
    try:
        await revoke_principal(pool, principal_id)
    except NotFound as error:
        raise ApiError(404, "not_found", str(error)) from None
    return Response(status_code=204)


@router.post(
    "/v1/admins",
    status_code=201,
    response_model=CreatedAdmin,
    responses=error_responses(401, 403, 409, 422),
    summary="Create a platform administrator",
)
async def add_admin(
    body: NewAdmin,
    admin: PlatformAdmin,
    pool: Database,
    settings: CurrentSettings,
    response: Response,
) -> CreatedAdmin:
    try:
        token = await create_admin(pool, body.admin_id, created_by=admin, ttl=_ttl(settings))
    except InvalidRequest as error:
        raise ApiError(409, "conflict", str(error)) from None
    response.headers.update(_NO_STORE)
    return CreatedAdmin(admin_id=body.admin_id, token=token)
