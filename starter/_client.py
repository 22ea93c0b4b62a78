from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

from opentelemetry import trace
from temporalio.client import Client
from temporalio.common import SearchAttributePair, TypedSearchAttributes

from ledgerd import search_attributes as sa
from ledgerd.config import Settings, get_settings
from ledgerd.connection import connect_client
from ledgerd.plugin import LedgerdPlugin


async def connect(settings: Settings | None = None) -> Client:
    """A Temporal client with ledgerd's data converter, for starting and steering daemons."""
    settings = settings or get_settings()
    return await connect_client(settings, [LedgerdPlugin(settings=settings)])


def daemon_attributes(tenant_id: str, daemon: str) -> TypedSearchAttributes:
    """Set at start, so a run is findable by tenant and daemon from its first moment."""
    return TypedSearchAttributes(
        [SearchAttributePair(sa.TENANT, tenant_id), SearchAttributePair(sa.DAEMON, daemon)]
    )


_tracer = trace.get_tracer("ledgerd.starter")


@contextmanager
def traced_start(what: str) -> Iterator[dict[str, str]]:
    """A span around starting a daemon, and the memo that names its trace.

    Temporal's interceptor carries the span's context into the workflow, so the run's spans
    join this trace; its id goes into the memo, where the Temporal UI shows it next to the run
    and `ledgerd trace` prints it, to look the trace up in Jaeger or Tempo.
    """
    with _tracer.start_as_current_span(f"start {what}") as span:
        context = span.get_span_context()
        yield {"trace_id": format(context.trace_id, "032x")} if context.is_valid else {}
