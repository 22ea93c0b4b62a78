"""What every request needs: the settings, a Temporal client and the database pool."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Annotated

from fastapi import Depends, Request
from temporalio.client import Client

from ledgerd.api._errors import ApiError
from ledgerd.config import Settings
from ledgerd.db import Pool


@dataclass
class Resources:
    settings: Settings
    client: Client | None = None
    pool: Pool | None = None


def resources(request: Request) -> Resources:
    found: Resources = request.app.state.resources
    return found


def temporal(request: Request) -> Client:
    client = resources(request).client
    if client is None:
        raise ApiError(503, "unavailable", "not connected to Temporal yet; retry shortly")
    return client


def database(request: Request) -> Pool:
    pool = resources(request).pool
    if pool is None:
        raise ApiError(503, "unavailable", "not connected to the database yet; retry shortly")
    return pool


def settings(request: Request) -> Settings:
    return resources(request).settings


TemporalClient = Annotated[Client, Depends(temporal)]
Database = Annotated[Pool, Depends(database)]
CurrentSettings = Annotated[Settings, Depends(settings)]
