"""A short-lived Temporal client, as a command is: connect, describe one run, print its status
(or NOT_FOUND: an error result holds the client longer), exit. `--check-threads` also releases
ledgerd's Temporal runtime itself and prints how many threads the process has left (the exit
hook does the same at exit). `--through-api` first serves a request of each kind (a route, the
codec) from the HTTP API built over that client, as `ledgerd serve` does, and drops the app."""

from __future__ import annotations

import asyncio
import os
import sys

from temporalio.client import Client
from temporalio.service import RPCError, RPCStatusCode

from ledgerd.temporal_runtime import release_temporal_runtime, temporal_runtime


async def through_api(client: Client) -> None:
    import httpx

    from ledgerd.api import create_app
    from ledgerd.config import load_settings

    app = create_app(load_settings(), temporal_client=client)
    async with httpx.AsyncClient(
        transport=httpx.ASGITransport(app=app), base_url="http://api"
    ) as http:
        assert (await http.get("/health")).status_code == 200
        assert (await http.post("/codec/decode", json={"payloads": []})).status_code == 403


async def describe(address: str, workflow_id: str, api: bool) -> str:
    client = await Client.connect(address, runtime=temporal_runtime())
    if api:
        await through_api(client)
    try:
        described = await client.get_workflow_handle(workflow_id).describe()
    except RPCError as error:
        if error.status != RPCStatusCode.NOT_FOUND:
            raise
        return "NOT_FOUND"
    return described.status.name if described.status else "?"


def main() -> None:
    address, workflow_id, *flags = sys.argv[1:]
    print(asyncio.run(describe(address, workflow_id, "--through-api" in flags)))
    if "--check-threads" in flags:
        print(f"released {release_temporal_runtime()}")
        print(f"threads {len(os.listdir('/proc/self/task'))}")


if __name__ == "__main__":
    main()
