"""The Temporal Core runtime of a ledgerd process, shut down before the interpreter finalizes.

Temporal's Core runtime runs Tokio threads that call back into Python: each client call
completes its asyncio future from one of them, and such a callback lets go of the GIL midway
(waking the event loop writes to a socket). CPython ends a foreign thread that wants the GIL
back once the interpreter is finalizing; ended in the middle of a callback, it takes the
process down after everything was printed: `Fatal Python error: PyGILState_Release: thread
state … must be current when releasing`, exit 134, or a segfault (temporalio/sdk-python#300).
Temporal's default runtime lives until finalization, so any process that exits soon after
its last call can die that way: about 1 in 10 short scripts did here.

This runtime is dropped at exit instead, by an `atexit` hook that runs while the interpreter
is still intact: when its last reference goes, the bridge shuts Tokio down with the GIL
released and waits for every running callback, so no Temporal thread is left when
finalization starts. The hook first lets go of what can still hold a client at that point.
`LedgerdPlugin` gives this runtime to every client and replayer that does not name one;
anything else that connects names it itself.
"""

from __future__ import annotations

import atexit
import gc
import os
import sys
import time
import weakref

from temporalio.envconfig import ClientConfig
from temporalio.runtime import Runtime, TelemetryConfig

from ledgerd.otel_env import temporal_metrics_config

_runtime: Runtime | None = None
_hook_registered = False
# How long exit waits for a call's completion still running on a Temporal thread: one needs
# only the GIL back; what is still held after this is held by a client nobody released.
_CALLBACKS_SETTLE_SECONDS = 2.0


def temporal_runtime() -> Runtime:
    """The process's Temporal runtime, created on first use (exporting Core's metrics where
    the `OTEL_*` variables say, see `ledgerd.otel_env`)."""
    global _runtime, _hook_registered
    if _runtime is None:
        _runtime = Runtime(telemetry=TelemetryConfig(metrics=temporal_metrics_config(os.environ)))
        if not _hook_registered:
            atexit.register(release_temporal_runtime)
            _hook_registered = True
    return _runtime


def release_temporal_runtime() -> bool:
    """Drop the runtime, stopping its threads once no client, worker or test environment
    holds it any more; True if they are stopped. Runs at exit; a later `temporal_runtime()`
    starts a new one."""
    global _runtime
    if _runtime is None:
        return True
    alive = weakref.ref(_runtime)
    _runtime = None
    # An uncaught exception's traceback, kept for post-mortem debugging that can no longer
    # happen, holds its frames and the clients in them; a cycle holds clients until collected.
    for kept in ("last_type", "last_value", "last_traceback", "last_exc"):
        if hasattr(sys, kept):
            setattr(sys, kept, None)
    deadline = time.monotonic() + _CALLBACKS_SETTLE_SECONDS
    while True:
        _apply_dropped_references()
        gc.collect()
        if alive() is None:
            return True
        if time.monotonic() > deadline:
            break
        # A Temporal thread may still be completing a call's future (whose result or error
        # leads back to the client), waiting for the GIL: sleeping hands it over.
        time.sleep(0.005)
    print(
        "ledgerd: a Temporal client or worker still holds the Temporal runtime at exit, so "
        "its threads outlive Python and the process may abort: release it before exiting",
        file=sys.stderr,
    )
    return False


def _apply_dropped_references() -> None:
    """Temporal's threads let go of Python objects (a completed call's future, its result or
    error, and through them the client) without holding the GIL; the bridge (pyo3) applies
    such releases the next time any thread calls into it, and after a process's last call
    nothing does. Parsing an empty client configuration is a call into the bridge that does
    nothing else."""
    ClientConfig.load(config_source=b"", override_env_vars={})
