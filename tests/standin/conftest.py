"""One in-process stand-in per test session, reset before each test; the real SDK talks to it."""

from __future__ import annotations

from collections.abc import AsyncIterator

import anthropic
import httpx
import pytest

from standin import OfflineModelConfig, OfflineModelServer


@pytest.fixture(scope="session")
async def offline_server() -> AsyncIterator[OfflineModelServer]:
    # Caching from the first token, so small prompts show cache behaviour; the per-model
    # minimum has tests of its own.
    async with OfflineModelServer(OfflineModelConfig(cache_min_tokens=0), port=0) as server:
        yield server


@pytest.fixture
async def control(offline_server: OfflineModelServer) -> AsyncIterator[httpx.AsyncClient]:
    """Plain HTTP to the control API; resets the server so tests cannot leak into each other."""
    async with httpx.AsyncClient(base_url=offline_server.base_url, timeout=10) as http:
        (await http.post("/_control/reset")).raise_for_status()
        yield http


@pytest.fixture
async def client(
    offline_server: OfflineModelServer, control: httpx.AsyncClient
) -> AsyncIterator[anthropic.AsyncAnthropic]:
    async with anthropic.AsyncAnthropic(
        base_url=offline_server.base_url, api_key="test", max_retries=0
    ) as sdk:
        yield sdk
