"""Uniform JSON errors: every 4xx and 5xx answers `{"error": {"type", "message", ...}}`.

FastAPI's own 422 validation errors are reshaped to name each bad field in words; Temporal's
refusals become the status a caller can act on (409 for a run already going, 503 when Temporal
is unreachable), and so do the platform's (404, 403, 422), a malformed chart export (422
naming the row and column) and an unreachable database (503). Nothing here echoes a request header, so a bearer token never reaches a
response or a log.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping, Sequence
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from psycopg import OperationalError
from psycopg_pool import PoolTimeout
from pydantic import BaseModel, Field, ValidationError
from starlette.exceptions import HTTPException as StarletteHTTPException
from temporalio.exceptions import WorkflowAlreadyStartedError
from temporalio.service import RPCError, RPCStatusCode

from accounting.errors import AccessDenied, NotFound, PlatformError
from ledgerd.onboarding._chart_import import ChartImportError

log = logging.getLogger("ledgerd.api")

# How the Temporal SDK words a client that cannot (re)connect; it raises a bare RuntimeError.
_TEMPORAL_CONNECT_FAILED = "Failed client connect"

# Fields a caller may not send: who acts, and for which tenant, comes from the bearer token.
_FROM_TOKEN = frozenset({"tenant_id", "principal", "approver", "credential"})
# Fields only the workflow itself sets (continue-as-new's state).
_INTERNAL = frozenset({"resume"})

_TYPES = {
    400: "bad_request",
    401: "unauthorized",
    403: "forbidden",
    404: "not_found",
    405: "method_not_allowed",
    409: "conflict",
    413: "payload_too_large",
    415: "unsupported_media_type",
    422: "invalid_request",
    429: "rate_limited",
    503: "unavailable",
}


class FieldError(BaseModel):
    field: str = Field(
        description="Dotted path of the bad field inside `in`, e.g. `budget.max_steps`."
    )
    location: str = Field(description="Where the field is: `body`, `query`, `path` or `header`.")
    message: str
    type: str = Field(description="pydantic's error type, e.g. `string_too_short`.")


class ErrorDetail(BaseModel):
    type: str = Field(description="A stable, machine-readable kind, e.g. `unauthorized`.")
    message: str = Field(description="What went wrong and what to do about it.")
    fields: list[FieldError] | None = Field(
        default=None, description="For `invalid_request`: each bad field."
    )
    workflow_id: str | None = None


class ErrorBody(BaseModel):
    """The body of every error response."""

    error: ErrorDetail


class ApiError(Exception):
    """Raised by endpoints; rendered as an `ErrorBody` with `status`."""

    def __init__(
        self,
        status: int,
        type: str,
        message: str,
        *,
        workflow_id: str | None = None,
        fields: list[FieldError] | None = None,
        headers: dict[str, str] | None = None,
    ) -> None:
        super().__init__(message)
        self.status = status
        self.detail = ErrorDetail(
            type=type, message=message, fields=fields, workflow_id=workflow_id
        )
        self.headers = headers


def error_responses(*statuses: int) -> dict[int | str, dict[str, Any]]:
    """OpenAPI `responses=` entries documenting the error body for `statuses`, and for the
    limits every route has (413: body too large, 429: rate limited, with `Retry-After`)."""
    return {status: {"model": ErrorBody} for status in (*statuses, 413, 429)}


def render(
    status: int, detail: ErrorDetail, headers: Mapping[str, str] | None = None
) -> JSONResponse:
    body = ErrorBody(error=detail).model_dump(mode="json", exclude_none=True)
    return JSONResponse(body, status_code=status, headers=headers)


def field_errors(errors: Sequence[Any], *, location: str | None = None) -> list[FieldError]:
    """pydantic's error dicts as `FieldError`s; `location` prefixes errors of a model built
    in an endpoint (its locs start inside the body)."""
    out = []
    for item in errors:
        loc = [str(part) for part in item.get("loc", ())]
        where = location or (loc.pop(0) if loc else "body")
        name = ".".join(loc)
        message = str(item.get("msg", "invalid")).removeprefix("Value error, ")
        kind = str(item.get("type", "invalid"))
        if kind == "extra_forbidden":
            message = (
                f"{name} comes from the bearer token and may not be sent"
                if name in _FROM_TOKEN
                else f"{name} is internal to the workflow and may not be sent"
                if name in _INTERNAL
                else f"unknown field {name!r}"
            )
        elif kind == "json_invalid":
            name = ""  # its loc holds a character offset, not a field
            message = f"the body is not valid JSON: {item.get('ctx', {}).get('error', message)}"
        elif kind == "missing" and where == "body" and not name:
            message = "a JSON body is required"
        out.append(FieldError(field=name, location=where, message=message, type=kind))
    return out


def _invalid(fields: list[FieldError]) -> JSONResponse:
    summary = "; ".join(f"{f.field or f.location}: {f.message}" for f in fields)
    return render(
        422,
        ErrorDetail(type="invalid_request", message=f"invalid request: {summary}", fields=fields),
    )


def install(app: FastAPI) -> None:
    """Register the handlers that give every error the same JSON shape."""

    @app.exception_handler(ApiError)
    async def api_error(request: Request, error: ApiError) -> JSONResponse:
        return render(error.status, error.detail, error.headers)

    @app.exception_handler(StarletteHTTPException)
    async def http_error(request: Request, error: StarletteHTTPException) -> JSONResponse:
        kind = _TYPES.get(error.status_code, "error")
        if error.status_code == 404 and error.detail == "Not Found":
            message = f"no such endpoint: {request.method} {request.url.path}; see /docs"
        elif error.status_code == 405:
            message = f"{request.method} is not allowed on {request.url.path}; see /docs"
        else:
            message = str(error.detail)
        return render(error.status_code, ErrorDetail(type=kind, message=message), error.headers)

    @app.exception_handler(RequestValidationError)
    async def request_invalid(request: Request, error: RequestValidationError) -> JSONResponse:
        return _invalid(field_errors(error.errors()))

    @app.exception_handler(ValidationError)
    async def input_invalid(request: Request, error: ValidationError) -> JSONResponse:
        # A workflow input built in an endpoint (the body plus the token's principal) broke
        # one of its rules: the request was malformed, and nothing was started.
        return _invalid(field_errors(error.errors(), location="body"))

    @app.exception_handler(WorkflowAlreadyStartedError)
    async def already_started(request: Request, error: WorkflowAlreadyStartedError) -> JSONResponse:
        return render(
            409,
            ErrorDetail(
                type="already_running",
                message=f"run {error.workflow_id!r} is already running; follow it at "
                f"/v1/runs/{error.workflow_id}",
                workflow_id=error.workflow_id,
            ),
        )

    @app.exception_handler(RPCError)
    async def temporal_refused(request: Request, error: RPCError) -> JSONResponse:
        if error.status == RPCStatusCode.UNAVAILABLE:
            return render(
                503, ErrorDetail(type="unavailable", message="Temporal is unreachable; retry later")
            )
        log.warning("Temporal refused %s %s: %s", request.method, request.url.path, error)
        return render(
            502, ErrorDetail(type="temporal_error", message=f"Temporal refused: {error.message}")
        )

    @app.exception_handler(ChartImportError)
    async def chart_malformed(request: Request, error: ChartImportError) -> JSONResponse:
        message = f"the chart export is malformed: {error}; fix the file and send it again"
        field = FieldError(field="chart_csv", location="body", message=str(error), type="chart")
        return render(422, ErrorDetail(type="invalid_request", message=message, fields=[field]))

    @app.exception_handler(PlatformError)
    async def platform_refused(request: Request, error: PlatformError) -> JSONResponse:
        status = (
            404 if isinstance(error, NotFound) else 403 if isinstance(error, AccessDenied) else 422
        )
        return render(status, ErrorDetail(type=_TYPES[status], message=str(error)))

    @app.exception_handler(OperationalError)
    @app.exception_handler(PoolTimeout)
    async def database_unreachable(request: Request, error: Exception) -> JSONResponse:
        log.warning("database unreachable in %s %s: %s", request.method, request.url.path, error)
        return render(
            503,
            ErrorDetail(type="unavailable", message="the database is unreachable; retry later"),
            {"Retry-After": "5"},
        )

    @app.exception_handler(RuntimeError)
    async def temporal_unreachable(request: Request, error: RuntimeError) -> JSONResponse:
        if str(error).startswith(_TEMPORAL_CONNECT_FAILED):
            return render(
                503, ErrorDetail(type="unavailable", message="Temporal is unreachable; retry later")
            )
        return await unexpected(request, error)

    @app.exception_handler(Exception)
    async def unexpected(request: Request, error: Exception) -> JSONResponse:
        log.exception("unhandled error in %s %s", request.method, request.url.path)
        return render(
            500,
            ErrorDetail(type="internal", message="internal error; the API's log has the details"),
        )
