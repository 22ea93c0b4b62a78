from __future__ import annotations

from temporalio.client import Client
from temporalio.common import SearchAttributePair, TypedSearchAttributes

from ledgerd import search_attributes as sa
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


def daemon_attributes(tenant_id: str, daemon: str) -> TypedSearchAttributes:
    """Set at start, so a run is findable by tenant and daemon from its first moment."""
    return TypedSearchAttributes(
        [SearchAttributePair(sa.TENANT, tenant_id), SearchAttributePair(sa.DAEMON, daemon)]
    )
