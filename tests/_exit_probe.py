"""A short-lived Temporal client, as a command is: connect, describe one run, print its status
(or NOT_FOUND: an error result holds the client longer), exit. `--check-threads` also releases ledgerd's Temporal runtime itself and prints how many
threads the process has left (the exit hook does the same at exit)."""

from __future__ import annotations

import asyncio
import os
import sys

from temporalio.client import Client
from temporalio.service import RPCError, RPCStatusCode

from ledgerd.temporal_runtime import release_temporal_runtime, temporal_runtime


async def describe(address: str, workflow_id: str) -> str:
    client = await Client.connect(address, runtime=temporal_runtime())
    try:
        described = await client.get_workflow_handle(workflow_id).describe()
    except RPCError as error:
        if error.status != RPCStatusCode.NOT_FOUND:
            raise
        return "NOT_FOUND"
    return described.status.name if described.status else "?"


def main() -> None:
    address, workflow_id, *flags = sys.argv[1:]
    print(asyncio.run(describe(address, workflow_id)))
    if "--check-threads" in flags:
        print(f"released {release_temporal_runtime()}")
        print(f"threads {len(os.listdir('/proc/self/task'))}")


if __name__ == "__main__":
    main()
