"""Retry classification of every fault the stand-in injects, through the real anthropic SDK."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import anthropic
import httpx
import pytest

from activities._failures import classify
from standin import OfflineModelServer


async def _fail_with(
    server: OfflineModelServer, control: httpx.AsyncClient, fault: dict[str, Any]
) -> Exception:
    (await control.post("/_control/faults", json=[fault])).raise_for_status()
    async with anthropic.AsyncAnthropic(
        base_url=server.base_url, api_key="k", max_retries=0
    ) as sdk:
        with pytest.raises(anthropic.APIError) as caught:
            await sdk.messages.create(
                model="claude-sonnet-5-5",
                max_tokens=100,
                messages=[{"role": "user", "content": "hi"}],
            )
    return caught.value


@pytest.mark.parametrize(
    ("fault", "retryable", "delay"),
    [
        ({"kind": "error", "status": 429, "retry_after": 7}, True, timedelta(seconds=7)),
        ({"kind": "error", "status": 429, "retry_after_ms": 1500}, True, timedelta(seconds=1.5)),
        ({"kind": "error", "status": 500}, True, None),
        ({"kind": "error", "status": 529, "retry_after": 3}, True, timedelta(seconds=3)),
        ({"kind": "spend_limit"}, False, None),
        ({"kind": "credit_exhausted"}, False, None),
        ({"kind": "error", "status": 400}, False, None),
        ({"kind": "error", "status": 401}, False, None),
        ({"kind": "error", "status": 403}, False, None),
        ({"kind": "error", "status": 404}, False, None),
        ({"kind": "error", "status": 413}, False, None),
        ({"kind": "error", "status": 422}, False, None),
        # Payment details need a person; waiting will not fix them.
        ({"kind": "error", "status": 402}, False, None),
        # Both spend-limit 429s are final; a ramp limit clears after its retry-after.
        ({"kind": "spend_limit", "error_code": "contract_spend_limit_reached"}, False, None),
        (
            {"status": 429, "error_code": "ramp_limit_exceeded", "retry_after": 20},
            True,
            timedelta(seconds=20),
        ),
        # The API's own x-should-retry wins over the status, as in the SDK.
        ({"status": 500, "headers": {"x-should-retry": "false"}}, False, None),
        ({"status": 409, "headers": {"x-should-retry": "true"}}, True, None),
        ({"status": 400, "headers": {"x-should-retry": "true"}}, True, None),
    ],
    ids=lambda v: str(v),
)
async def test_faults_map_to_retry_decisions(
    model_server: OfflineModelServer,
    model_control: httpx.AsyncClient,
    fault: dict[str, Any],
    retryable: bool,
    delay: timedelta | None,
) -> None:
    error = await _fail_with(model_server, model_control, fault)
    decision = classify(error)
    assert decision.non_retryable is (not retryable)
    assert decision.next_retry_delay == delay
    assert "request-id req_offline_" in decision.message


async def test_an_unreachable_provider_is_retryable() -> None:
    async with anthropic.AsyncAnthropic(
        base_url="http://127.0.0.1:9", api_key="k", max_retries=0
    ) as sdk:
        with pytest.raises(anthropic.APIConnectionError) as caught:
            await sdk.messages.create(
                model="m", max_tokens=10, messages=[{"role": "user", "content": "hi"}]
            )
    decision = classify(caught.value)
    assert not decision.non_retryable
    assert decision.type == "ModelConnectionError"
