"""Small helpers shared by the offline model tests."""

from __future__ import annotations

from typing import Any

import httpx

MODEL = "claude-offline-test"


async def inject(control: httpx.AsyncClient, *faults: dict[str, Any]) -> None:
    response = await control.post("/_control/faults", json=list(faults))
    response.raise_for_status()


def user(text: str) -> Any:
    """Typed `Any` so tests can pass plain dicts where the SDK expects its TypedDicts."""
    return [{"role": "user", "content": text}]
