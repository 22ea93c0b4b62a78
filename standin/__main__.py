"""`python -m standin --port 8765`: the stand-in as a standalone process."""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import logging
import signal

from standin._config import OfflineModelConfig
from standin._runner import serve


def _parse(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        prog="python -m standin",
        description="Deterministic stand-in for the Anthropic Messages API (not a language "
        "model). Faults come from LEDGERD_OFFLINE_FAULTS and LEDGERD_OFFLINE_LATENCY_MS.",
    )
    parser.add_argument("--host", default="127.0.0.1", help="address to bind (default 127.0.0.1)")
    parser.add_argument("--port", type=int, default=8765, help="port, 0 for a free one")
    return parser.parse_args(argv)


async def _main(host: str, port: int, config: OfflineModelConfig) -> None:
    task = asyncio.create_task(serve(host, port, config))
    # SIGTERM is how supervisors stop a process; make it as graceful as Ctrl-C.
    with contextlib.suppress(NotImplementedError):
        asyncio.get_running_loop().add_signal_handler(signal.SIGTERM, task.cancel)
    with contextlib.suppress(asyncio.CancelledError):
        await task


def main(argv: list[str] | None = None) -> None:
    arguments = _parse(argv)
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(name)s %(message)s")
    config = OfflineModelConfig.from_env()
    with contextlib.suppress(KeyboardInterrupt):
        asyncio.run(_main(arguments.host, arguments.port, config))


if __name__ == "__main__":
    main()
