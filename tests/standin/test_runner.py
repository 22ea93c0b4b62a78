"""Starting and stopping the stand-in: in-process and as `python -m standin`."""

from __future__ import annotations

import asyncio
import os
import re
import signal
import sys

import httpx
import pytest

from standin import OfflineModelServer, serve


async def test_port_zero_picks_a_free_port_and_stop_releases_it() -> None:
    async with OfflineModelServer() as one, OfflineModelServer() as two:
        assert one.port != two.port
        assert one.base_url == f"http://127.0.0.1:{one.port}"
        async with httpx.AsyncClient(base_url=one.base_url) as http:
            assert (await http.get("/health")).status_code == 200
        port = one.port
    with pytest.raises(RuntimeError):
        _ = one.port
    with pytest.raises(httpx.ConnectError):
        async with httpx.AsyncClient() as http:
            await http.get(f"http://127.0.0.1:{port}/health")


async def test_port_in_use_raises_oserror() -> None:
    async with OfflineModelServer() as taken:
        with pytest.raises(OSError):
            await OfflineModelServer(port=taken.port).start()


async def test_serve_runs_until_cancelled(capsys: pytest.CaptureFixture[str]) -> None:
    task = asyncio.create_task(serve(port=0))
    for _ in range(200):
        await asyncio.sleep(0.01)
        if "listening on" in capsys.readouterr().out or task.done():
            break
    assert not task.done()
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task


async def test_module_entry_point_serves_and_stops_on_sigterm() -> None:
    process = await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "standin",
        "--port",
        "0",
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.DEVNULL,
        env={**os.environ, "LEDGERD_OFFLINE_FAULTS": '[{"status": 529}]'},
    )
    try:
        assert process.stdout is not None
        line = (await asyncio.wait_for(process.stdout.readline(), timeout=20)).decode()
        found = re.search(r"listening on (http://\S+)", line)
        assert found, line
        async with httpx.AsyncClient(base_url=found.group(1)) as http:
            assert (await http.get("/health")).json()["status"] == "ok"
            faulted = await http.post(
                "/v1/messages",
                headers={"x-api-key": "k", "anthropic-version": "2023-06-01"},
                json={
                    "model": "claude-haiku-4-5",
                    "max_tokens": 5,
                    "messages": [{"role": "user", "content": "x"}],
                },
            )
            assert faulted.status_code == 529
        process.send_signal(signal.SIGTERM)
        assert await asyncio.wait_for(process.wait(), timeout=10) == 0
    finally:
        if process.returncode is None:
            process.kill()
            await process.wait()
