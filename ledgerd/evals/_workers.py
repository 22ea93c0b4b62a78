"""One worker process per variant: `python -m worker` with the variant's environment.

A separate process, not an in-process `Worker`, because configuration is per process: the
models come from `Settings` and prompts are cached per process, so two variants can only
differ in the same comparison if each has its own worker. The child dies with us
(`PR_SET_PDEATHSIG`), so an interrupted comparison leaves no worker behind.
"""

from __future__ import annotations

import asyncio
import subprocess
import sys
import time
from pathlib import Path

from ledgerd.config import Settings
from ledgerd.evals._variants import Variant, worker_environment
from ledgerd.stack._process import log_tail, spawn, stop

READY_TIMEOUT = 90.0  # importing everything takes seconds on a busy machine


class WorkerFailed(RuntimeError):
    """A variant's worker did not start or stopped; the message ends with its log."""


class VariantWorker:
    def __init__(
        self, label: str, variant: Variant, settings: Settings, task_queue: str, log: Path
    ):
        self.label = label
        self.variant = variant
        self.task_queue = task_queue
        self.log = log
        self._env = worker_environment(variant, settings, task_queue)
        self._process: subprocess.Popen[bytes] | None = None

    def start(self) -> None:
        # From the event loop's thread: PR_SET_PDEATHSIG fires when the *thread* that forked
        # exits, so a short-lived helper thread would take the worker down with it.
        self._process = spawn([sys.executable, "-m", "worker"], log=self.log, env=self._env)

    async def ready(self) -> None:
        """Wait until the worker polls its queue (it logs so), or say why it never will."""
        deadline = time.monotonic() + READY_TIMEOUT
        needle = f"polling task queue {self.task_queue!r}"
        while time.monotonic() < deadline:
            self.check_alive()
            if self.log.exists() and needle in self.log.read_text(errors="replace"):
                return
            await asyncio.sleep(0.2)
        raise WorkerFailed(
            f"the worker of variant {self.label} ({self.variant.name}) did not poll "
            f"{self.task_queue} within {READY_TIMEOUT:.0f}s; {self.log} ends:\n{log_tail(self.log)}"
        )

    def check_alive(self) -> None:
        if self._process is not None and self._process.poll() is not None:
            raise WorkerFailed(
                f"the worker of variant {self.label} ({self.variant.name}) exited with "
                f"{self._process.returncode}; {self.log} ends:\n{log_tail(self.log)}"
            )

    async def watch(self) -> None:
        """Return never; raise `WorkerFailed` as soon as the worker dies, since the runs on its
        queue would otherwise wait for it forever."""
        while True:
            self.check_alive()
            await asyncio.sleep(1.0)

    async def stop(self) -> None:
        """SIGTERM drains the worker (running activities finish), then it exits."""
        if self._process is not None:
            await asyncio.to_thread(stop, self._process, timeout=30)
