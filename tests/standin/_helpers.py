"""Small helpers shared by the offline model tests."""

from __future__ import annotations

from typing import Any

import httpx

MODEL = (
    "claude-haiku-4-5"  # an older model: no thinking unless asked, prefill and forced tools allowed
)


async def inject(control: httpx.AsyncClient, *faults: dict[str, Any]) -> None:
    response = await control.post("/_control/faults", json=list(faults))
    response.raise_for_status()


def user(text: str) -> Any:
    """Typed `Any` so tests can pass plain dicts where the SDK expects its TypedDicts."""
    return [{"role": "user", "content": text}]
