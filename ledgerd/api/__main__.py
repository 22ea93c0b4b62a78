"""`python -m ledgerd.api [--host H] [--port P]`: serve the HTTP API with uvicorn."""

from __future__ import annotations

import argparse
import logging
import sys

import uvicorn

from ledgerd.api import create_app
from ledgerd.config import ConfigError, load_settings


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="python -m ledgerd.api", description=__doc__)
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, help="default: LEDGERD_API_PORT (8000)")
    args = parser.parse_args(argv)
    try:
        settings = load_settings()
    except ConfigError as error:
        print(error, file=sys.stderr)
        raise SystemExit(2) from None
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(name)s %(message)s")
    # uvicorn's access log shows method, path and status, never headers: so never a token.
    uvicorn.run(
        create_app(settings),
        host=args.host,
        port=args.port or settings.api_port,
        log_config=None,
    )


if __name__ == "__main__":
    main()
