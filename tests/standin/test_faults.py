"""Injected faults, seen through the real SDK exactly as production failures would be."""

from __future__ import annotations

import time
from typing import Any

import anthropic
import httpx
import pytest
from anthropic.types import TextBlock, ToolUseBlock
from pydantic import BaseModel, ValidationError

from standin import FaultSpec, OfflineModelConfig, OfflineModelServer

from ._helpers import MODEL, inject, user

LOOKUP: Any = {
    "name": "lookup_vendor",
    "input_schema": {
        "type": "object",
        "properties": {"vendor_id": {"type": "string"}, "limit": {"type": "integer"}},
        "required": ["vendor_id", "limit"],
    },
}


class LookupInput(BaseModel):
    vendor_id: str
    limit: int


async def _ask(client: anthropic.AsyncAnthropic, **extra: Any) -> anthropic.types.Message:
    message: anthropic.types.Message = await client.messages.create(
        model=extra.pop("model", MODEL), max_tokens=300, messages=user("hello"), **extra
    )
    return message


async def test_rate_limit_with_retry_after(
    client: anthropic.AsyncAnthropic, control: httpx.AsyncClient
) -> None:
    await inject(control, {"status": 429, "retry_after": 7, "message": "slow down"})
    with pytest.raises(anthropic.RateLimitError) as caught:
        await _ask(client)
    error = caught.value
    assert error.status_code == 429
    # Visible with the SDK's own retries off, so ledgerd's retry policy can honour it.
    assert error.response.headers["retry-after"] == "7"
    assert error.body == {
        "type": "error",
        "error": {"type": "rate_limit_error", "message": "slow down"},
        "request_id": error.request_id,
    }
    assert error.request_id is not None
    assert error.request_id == error.response.headers["request-id"]
    assert error.response.headers["x-offline-fault"] == "error"


async def test_retry_after_ms_header(
    client: anthropic.AsyncAnthropic, control: httpx.AsyncClient
) -> None:
    await inject(control, {"status": 529, "retry_after_ms": 1500})
    with pytest.raises(anthropic.OverloadedError) as caught:
        await _ask(client)
    assert caught.value.response.headers["retry-after-ms"] == "1500"
    assert "retry-after" not in caught.value.response.headers


async def test_sdk_retries_honour_retry_after_ms(
    offline_server: OfflineModelServer, control: httpx.AsyncClient
) -> None:
    await inject(control, {"status": 529, "retry_after_ms": 20, "times": 2})
    async with anthropic.AsyncAnthropic(
        base_url=offline_server.base_url, api_key="test", max_retries=2
    ) as retrying:
        started = time.monotonic()
        message = await _ask(retrying)
        elapsed = time.monotonic() - started
    assert message.stop_reason == "end_turn"
    statuses = [
        item["status"] for item in (await control.get("/_control/requests")).json()["requests"]
    ]
    assert statuses == [529, 529, 200]
    assert elapsed < 0.5  # the SDK's own backoff would be about a second; it used 20 ms


@pytest.mark.parametrize(
    ("status", "exception", "error_type"),
    [
        (400, anthropic.BadRequestError, "invalid_request_error"),
        (401, anthropic.AuthenticationError, "authentication_error"),
        (413, anthropic.ContentTooLargeError, "request_too_large"),
        (500, anthropic.InternalServerError, "api_error"),
        (529, anthropic.OverloadedError, "overloaded_error"),
    ],
)
async def test_status_maps_to_sdk_exception(
    client: anthropic.AsyncAnthropic,
    control: httpx.AsyncClient,
    status: int,
    exception: type[anthropic.APIStatusError],
    error_type: str,
) -> None:
    await inject(control, {"status": status})
    with pytest.raises(exception) as caught:
        await _ask(client)
    assert type(caught.value) is exception
    assert caught.value.status_code == status
    assert caught.value.type == error_type


async def test_529_is_an_internal_server_error_subclass(
    client: anthropic.AsyncAnthropic, control: httpx.AsyncClient
) -> None:
    await inject(control, {"status": 529})
    with pytest.raises(anthropic.InternalServerError) as caught:
        await _ask(client)
    assert isinstance(caught.value, anthropic.OverloadedError)
    assert caught.value.api_message == "Overloaded"


async def test_spend_limit_429_is_distinguishable(
    client: anthropic.AsyncAnthropic, control: httpx.AsyncClient
) -> None:
    await inject(control, {"kind": "spend_limit"})
    with pytest.raises(anthropic.RateLimitError) as caught:
        await _ask(client)
    error = caught.value
    assert type(error).__name__ == "EnforcedSpendLimitReachedError"
    assert error.status_code == 429
    assert error.type == "rate_limit_error"
    assert error.error_code == "enforced_spend_limit_reached"
    # Retrying cannot help, so the real API sends no retry-after; neither does the stand-in.
    assert "retry-after" not in error.response.headers


async def test_credit_exhausted_is_a_400(
    client: anthropic.AsyncAnthropic, control: httpx.AsyncClient
) -> None:
    await inject(control, {"kind": "credit_exhausted"})
    with pytest.raises(anthropic.BadRequestError) as caught:
        await _ask(client)
    assert caught.value.api_message is not None
    assert caught.value.api_message.startswith("Your credit balance is too low")


async def test_truncate_fault(client: anthropic.AsyncAnthropic, control: httpx.AsyncClient) -> None:
    await inject(control, {"kind": "truncate"})
    full_text = "Offline stand-in reply (deterministic, no language model involved)."
    cut = await _ask(client)
    assert cut.stop_reason == "max_tokens"
    assert cut.usage.output_tokens == 300
    text = cut.content[0]
    assert isinstance(text, TextBlock)
    assert 0 < len(text.text) < len(full_text)
    assert full_text.startswith(text.text)

    whole = await _ask(client)
    assert whole.stop_reason == "end_turn"


async def test_truncate_cuts_the_reply_and_its_tool_call(
    client: anthropic.AsyncAnthropic, control: httpx.AsyncClient
) -> None:
    await inject(control, {"kind": "truncate"})
    message = await _ask(client, tools=[LOOKUP])
    assert message.stop_reason == "max_tokens"
    calls = [block for block in message.content if isinstance(block, ToolUseBlock)]
    # Whatever of the call was written is there, and it is incomplete.
    assert all("vendor_id" not in call.input for call in calls)


async def test_malformed_tool_input(
    client: anthropic.AsyncAnthropic, control: httpx.AsyncClient
) -> None:
    await inject(control, {"kind": "malformed_tool_input"})
    plain = await _ask(client)  # no tools offered: the fault waits for a request with tools
    assert plain.stop_reason == "end_turn"

    message = await _ask(client, tools=[LOOKUP])
    assert message.stop_reason == "tool_use"
    (call,) = message.content
    assert isinstance(call, ToolUseBlock)
    with pytest.raises(ValidationError) as caught:
        LookupInput.model_validate(call.input)
    assert caught.value.errors()[0]["loc"] == ("vendor_id",)
    assert caught.value.errors()[0]["type"] == "missing"

    healthy = await _ask(client, tools=[LOOKUP])
    assert isinstance(healthy.content[0], ToolUseBlock)
    LookupInput.model_validate(healthy.content[0].input)


async def test_malformed_tool_input_without_required_fields_mistypes(
    client: anthropic.AsyncAnthropic, control: httpx.AsyncClient
) -> None:
    tool = {
        "name": "set_limit",
        "input_schema": {"type": "object", "properties": {"limit": {"type": "integer"}}},
    }
    await inject(control, {"kind": "malformed_tool_input"})
    message = await _ask(client, tools=[tool], tool_choice={"type": "tool", "name": "set_limit"})
    call = message.content[0]
    assert isinstance(call, ToolUseBlock)
    assert not isinstance(call.input["limit"], int)


async def test_times_then_clears(
    client: anthropic.AsyncAnthropic, control: httpx.AsyncClient
) -> None:
    await inject(control, {"status": 500, "times": 2})
    for remaining in (1, 0):
        with pytest.raises(anthropic.InternalServerError):
            await _ask(client)
        pending = (await control.get("/_control/faults")).json()["pending"]
        assert [item["remaining"] for item in pending] == ([remaining] if remaining else [])
    assert (await _ask(client)).stop_reason == "end_turn"


async def test_faults_apply_in_queue_order(
    client: anthropic.AsyncAnthropic, control: httpx.AsyncClient
) -> None:
    await inject(control, {"status": 529}, {"status": 429})
    with pytest.raises(anthropic.OverloadedError):
        await _ask(client)
    with pytest.raises(anthropic.RateLimitError):
        await _ask(client)
    assert (await _ask(client)).stop_reason == "end_turn"


async def test_match_model(client: anthropic.AsyncAnthropic, control: httpx.AsyncClient) -> None:
    await inject(control, {"status": 529, "match_model": "claude-haiku-5-5"})
    assert (await _ask(client)).stop_reason == "end_turn"
    with pytest.raises(anthropic.OverloadedError):
        await _ask(client, model="claude-haiku-5-5")


async def test_latency(client: anthropic.AsyncAnthropic, control: httpx.AsyncClient) -> None:
    await inject(control, {"kind": "latency", "latency_ms": 300})
    started = time.monotonic()
    await _ask(client)
    slow = time.monotonic() - started
    started = time.monotonic()
    await _ask(client)
    fast = time.monotonic() - started
    assert slow >= 0.3
    assert fast < 0.2


async def test_delete_faults(client: anthropic.AsyncAnthropic, control: httpx.AsyncClient) -> None:
    await inject(control, {"status": 500, "times": 5})
    await control.delete("/_control/faults")
    assert (await _ask(client)).stop_reason == "end_turn"


async def test_control_rejects_bad_fault(control: httpx.AsyncClient) -> None:
    response = await control.post("/_control/faults", json=[{"kind": "error"}])
    assert response.status_code == 400
    assert "needs a status" in response.json()["error"]["message"]
    unknown = await control.post("/_control/faults", json=[{"status": 500, "bogus": 1}])
    assert unknown.status_code == 400


def test_config_from_env() -> None:
    config = OfflineModelConfig.from_env(
        {
            "LEDGERD_OFFLINE_FAULTS": '[{"status": 429, "retry_after": 2, "times": 3}]',
            "LEDGERD_OFFLINE_LATENCY_MS": "25",
            "LEDGERD_OFFLINE_FAULT_RATE": "0.1",
            "LEDGERD_OFFLINE_FAULT_SEED": "42",
        }
    )
    assert config.faults == (FaultSpec(status=429, retry_after=2, times=3),)
    assert (config.latency_ms, config.fault_rate, config.seed) == (25, 0.1, 42)
    # The standalone process keeps `/_control/*` (which returns prompts) off unless asked.
    assert OfflineModelConfig.from_env({}) == OfflineModelConfig(control=False)
    assert OfflineModelConfig.from_env({"LEDGERD_OFFLINE_CONTROL": "1"}).control


@pytest.mark.parametrize(
    ("name", "value"),
    [
        ("LEDGERD_OFFLINE_FAULTS", "not json"),
        ("LEDGERD_OFFLINE_FAULTS", '{"status": 500}'),
        ("LEDGERD_OFFLINE_FAULTS", '[{"status": 200}]'),
        ("LEDGERD_OFFLINE_LATENCY_MS", "soon"),
        ("LEDGERD_OFFLINE_FAULT_RATE", "2"),
    ],
)
def test_bad_env_names_the_variable(name: str, value: str) -> None:
    with pytest.raises(
        ValueError, match=name.removeprefix("LEDGERD_OFFLINE_").lower() + "|" + name
    ):
        OfflineModelConfig.from_env({name: value})


async def test_env_faults_apply_from_start(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("LEDGERD_OFFLINE_FAULTS", '[{"status": 529}]')
    async with (
        OfflineModelServer() as server,
        anthropic.AsyncAnthropic(base_url=server.base_url, api_key="k", max_retries=0) as sdk,
    ):
        with pytest.raises(anthropic.OverloadedError):
            await _ask(sdk)
        assert (await _ask(sdk)).stop_reason == "end_turn"


async def test_random_faults_are_seeded() -> None:
    config = OfflineModelConfig(fault_rate=0.5, seed=7)

    async def statuses(server: OfflineModelServer) -> list[int]:
        async with httpx.AsyncClient(base_url=server.base_url) as http:
            seen = []
            for _ in range(12):
                response = await http.post(
                    "/v1/messages",
                    headers={"x-api-key": "k", "anthropic-version": "2023-06-01"},
                    json={"model": MODEL, "max_tokens": 20, "messages": user("hi")},
                )
                seen.append(response.status_code)
            return seen

    async with OfflineModelServer(config) as first:
        run_one = await statuses(first)
    async with OfflineModelServer(config) as second:
        run_two = await statuses(second)
    assert run_one == run_two
    assert 200 in run_one
    assert set(run_one) - {200} <= {429, 500, 529}
    assert set(run_one) - {200}


async def test_invalid_request_does_not_spend_a_fault(
    client: anthropic.AsyncAnthropic, control: httpx.AsyncClient
) -> None:
    await inject(control, {"status": 529})
    with pytest.raises(anthropic.BadRequestError):
        await client.messages.create(model=MODEL, max_tokens=0, messages=user("x"))
    with pytest.raises(anthropic.OverloadedError):
        await _ask(client)
