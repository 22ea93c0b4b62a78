"""The FastAPI application: routers, error handlers, and the connections it lives on."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import AsyncExitStack, asynccontextmanager

from fastapi import FastAPI, Request
from pydantic import BaseModel
from temporalio.client import Client

from ledgerd.api import (
    _approvals,
    _errors,
    _feedback,
    _onboarding,
    _questions,
    _runs,
    _tenants,
    _vendor_hydration,
)
from ledgerd.api._codec import codec_app
from ledgerd.api._limits import BodyLimit
from ledgerd.api._resources import Resources
from ledgerd.api._resources import resources as resources_of
from ledgerd.config import Settings
from ledgerd.db import Pool, open_pool

DESCRIPTION = """\
Start and steer ledgerd's process daemons over HTTP.

Every request carries `Authorization: Bearer <token>`; the token names a platform principal,
whose tenant scopes everything: runs, approvals and what a daemon may touch. Errors are
`{"error": {"type": ..., "message": ...}}`; a malformed request never starts a run.
"""


class Health(BaseModel):
    status: str
    temporal: bool
    database: bool


def create_app(
    settings: Settings, temporal_client: Client | None = None, pool: Pool | None = None
) -> FastAPI:
    """The API. A client or pool not given is opened at start-up and closed at shutdown."""
    resources = Resources(settings=settings, client=temporal_client, pool=pool)

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        async with AsyncExitStack() as stack:
            if resources.pool is None:
                opened = await open_pool(
                    settings.effective_database_url, max_size=settings.db_pool_max
                )
                stack.push_async_callback(opened.close)
                resources.pool = opened
            if resources.client is None:
                from starter import connect

                resources.client = await connect(settings)
                # Let go of it at shutdown: it holds Temporal's runtime, whose threads must
                # stop before Python exits (ledgerd.temporal_runtime).
                stack.callback(setattr, resources, "client", None)
            yield
        # Only what this lifespan opened is closed.

    app = FastAPI(
        title="ledgerd API",
        version="1",
        description=DESCRIPTION,
        lifespan=lifespan,
    )
    app.state.resources = resources
    _errors.install(app)
    # Outermost: an oversized body is refused before anything reads it (the codec server too).
    app.add_middleware(BodyLimit, max_bytes=settings.max_request_bytes)
    app.include_router(_vendor_hydration.router)
    app.include_router(_onboarding.router)
    app.include_router(_approvals.router)
    app.include_router(_questions.router)
    app.include_router(_runs.router)
    app.include_router(_feedback.router)
    app.include_router(_tenants.router)
    # The codec server, for the Temporal UI and `temporal ... --codec-endpoint` (docs/security.md).
    app.mount("/codec", codec_app(settings, lambda: resources.pool))

    app.get("/health", response_model=Health, tags=["health"], summary="Liveness")(_health)

    return app


# Defined once, outside `create_app`: FastAPI caches what it learns about each endpoint
# function for the life of the process, and a closure over `resources` would keep the
# app's Temporal client (so Temporal's runtime threads) alive until exit.
async def _health(request: Request) -> Health:
    found = resources_of(request)
    return Health(status="ok", temporal=found.client is not None, database=found.pool is not None)
