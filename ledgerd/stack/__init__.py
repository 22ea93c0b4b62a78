"""The embedded development stack: Temporal with its UI, PostgreSQL, the offline model, the
worker and the HTTP API, each replaced by real infrastructure when configured."""

from ledgerd.stack._postgres import EmbeddedPostgres
from ledgerd.stack._process import MissingDevStack, PortInUse, free_port
from ledgerd.stack._supervisor import (
    AlreadyRunning,
    Endpoints,
    Stack,
    is_running,
    read_state,
    stop_background,
)
from ledgerd.stack._temporal import SEARCH_ATTRIBUTES, EmbeddedTemporal, binary

__all__ = [
    "SEARCH_ATTRIBUTES",
    "AlreadyRunning",
    "EmbeddedPostgres",
    "EmbeddedTemporal",
    "Endpoints",
    "MissingDevStack",
    "PortInUse",
    "Stack",
    "binary",
    "free_port",
    "is_running",
    "read_state",
    "stop_background",
]
