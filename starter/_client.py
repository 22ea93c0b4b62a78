from __future__ import annotations

from temporalio.client import Client

from ledgerd.config import Settings, get_settings
from ledgerd.plugin import LedgerdPlugin


async def connect(settings: Settings | None = None) -> Client:
    """A Temporal client with ledgerd's data converter, for starting and steering daemons."""
    settings = settings or get_settings()
    return await Client.connect(
        settings.effective_temporal_address,
        namespace=settings.temporal_namespace,
        plugins=[LedgerdPlugin()],
    )
