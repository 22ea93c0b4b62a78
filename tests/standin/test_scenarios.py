"""Scenarios plug in ahead of the generic policy, in registration order."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import anthropic
import pytest
from anthropic.types import TextBlock, ToolUseBlock

from standin import (
    MessagesRequest,
    OfflineModelConfig,
    OfflineModelServer,
    PolicyReply,
    ReplyText,
    ReplyToolUse,
    last_tool_results,
    new_tool_use_id,
    offered_tools,
    register_scenario,
    registered_scenarios,
    scenario_marker,
    tool_calls_so_far,
    unregister_scenario,
    user_text,
)

from ._helpers import MODEL, user

HYDRATE: Any = {
    "name": "fetch_vendor",
    "input_schema": {
        "type": "object",
        "properties": {"vendor_id": {"type": "string"}},
        "required": ["vendor_id"],
    },
}


class VendorHydration:
    """Calls fetch_vendor once, then reports the vendor's name from the tool result."""

    name = "test_vendor_hydration"

    def matches(self, request: MessagesRequest) -> bool:
        return scenario_marker(request) == "test_vendor_hydration"

    def respond(self, request: MessagesRequest) -> PolicyReply:
        results = last_tool_results(request)
        if results:
            (result,) = results.values()
            return PolicyReply((ReplyText(f"Hydrated: {result.result_text}"),))
        assert "fetch_vendor" in offered_tools(request)
        return PolicyReply(
            (ReplyText("Fetching."), ReplyToolUse("fetch_vendor", {"vendor_id": "V-42"})),
            rationale="hydrate the vendor first",
        )


@dataclass
class Fixed:
    name: str
    text: str
    marker: str = "test_vendor_hydration"

    def matches(self, request: MessagesRequest) -> bool:
        return scenario_marker(request) == self.marker

    def respond(self, request: MessagesRequest) -> PolicyReply:
        return PolicyReply((ReplyText(self.text),))


class Exploding:
    name = "test_exploding"

    def matches(self, request: MessagesRequest) -> bool:
        return scenario_marker(request) == "explode"

    def respond(self, request: MessagesRequest) -> PolicyReply:
        raise KeyError("vendor")


@pytest.fixture
def scenarios() -> Iterator[None]:
    before = {scenario.name for scenario in registered_scenarios()}
    yield
    for scenario in registered_scenarios():
        if scenario.name not in before:
            unregister_scenario(scenario.name)


SYSTEM = "You hydrate vendors.\nscenario: test_vendor_hydration\n"


@pytest.mark.usefixtures("scenarios")
async def test_scenario_drives_a_tool_loop(client: anthropic.AsyncAnthropic) -> None:
    register_scenario(VendorHydration())
    raw = await client.messages.with_raw_response.create(
        model=MODEL, max_tokens=500, system=SYSTEM, tools=[HYDRATE], messages=user("go")
    )
    first = await raw.parse()
    assert raw.headers["x-offline-policy"] == "test_vendor_hydration"
    text, call = first.content
    assert isinstance(text, TextBlock)
    assert isinstance(call, ToolUseBlock)
    assert text.text == "Fetching."
    assert call.input == {"vendor_id": "V-42"}
    assert first.stop_reason == "tool_use"

    messages: list[Any] = [
        *user("go"),
        {"role": "assistant", "content": first.content},
        {
            "role": "user",
            "content": [{"type": "tool_result", "tool_use_id": call.id, "content": "Initech"}],
        },
    ]
    final = await client.messages.create(
        model=MODEL, max_tokens=500, system=SYSTEM, tools=[HYDRATE], messages=messages
    )
    assert final.stop_reason == "end_turn"
    assert final.content[0] == TextBlock(type="text", text="Hydrated: Initech")


@pytest.mark.usefixtures("scenarios")
async def test_first_registered_wins_and_reregistering_replaces(
    client: anthropic.AsyncAnthropic,
) -> None:
    register_scenario(Fixed("test_a", "from a"))
    register_scenario(Fixed("test_b", "from b"))

    async def answer() -> str:
        message = await client.messages.create(
            model=MODEL, max_tokens=100, system=SYSTEM, messages=user("x")
        )
        block = message.content[0]
        assert isinstance(block, TextBlock)
        return block.text

    assert await answer() == "from a"
    register_scenario(Fixed("test_a", "a again", marker="other"))
    assert [s.name for s in registered_scenarios()][-2:] == ["test_a", "test_b"]
    assert await answer() == "from b"
    unregister_scenario("test_b")
    assert "Offline stand-in reply" in await answer()


async def test_config_scenarios_come_first() -> None:
    register_scenario(Fixed("test_global", "global"))
    try:
        config = OfflineModelConfig(scenarios=(Fixed("test_local", "local"),))
        async with (
            OfflineModelServer(config) as server,
            anthropic.AsyncAnthropic(base_url=server.base_url, api_key="k", max_retries=0) as sdk,
        ):
            message = await sdk.messages.create(
                model=MODEL, max_tokens=100, system=SYSTEM, messages=user("x")
            )
    finally:
        unregister_scenario("test_global")
    assert message.content[0] == TextBlock(type="text", text="local")


@pytest.mark.usefixtures("scenarios")
async def test_failing_scenario_is_a_500_naming_it(client: anthropic.AsyncAnthropic) -> None:
    register_scenario(Exploding())
    with pytest.raises(anthropic.InternalServerError) as caught:
        await client.messages.create(
            model=MODEL, max_tokens=100, system="scenario: explode", messages=user("x")
        )
    assert caught.value.type == "api_error"
    assert "KeyError('vendor')" in (caught.value.api_message or "")


def _request(**fields: Any) -> MessagesRequest:
    return MessagesRequest.model_validate({"model": MODEL, "max_tokens": 10, **fields})


def test_helpers_read_the_conversation() -> None:
    request = _request(
        system=[{"type": "text", "text": "intro\nscenario: close_books"}],
        tools=[HYDRATE],
        messages=[
            {"role": "user", "content": "first ask"},
            {
                "role": "assistant",
                "content": [
                    {"type": "tool_use", "id": "t1", "name": "fetch_vendor", "input": {"a": 1}}
                ],
            },
            {
                "role": "user",
                "content": [
                    {
                        "type": "tool_result",
                        "tool_use_id": "t1",
                        "content": [{"type": "text", "text": "boom"}],
                        "is_error": True,
                    },
                    {"type": "text", "text": "second ask"},
                ],
            },
        ],
    )
    assert scenario_marker(request) == "close_books"
    assert list(offered_tools(request)) == ["fetch_vendor"]
    assert tool_calls_so_far(request) == [("t1", "fetch_vendor", {"a": 1})]
    assert last_tool_results(request) == {"t1": ("fetch_vendor", {"a": 1}, "boom", True)}
    assert user_text(request) == "first ask\nsecond ask"
    assert user_text(request, last_only=True) == "second ask"


def test_tool_use_ids_are_deterministic() -> None:
    one = _request(messages=user("same"))
    two = _request(messages=user("same"))
    other = _request(messages=user("different"))
    assert new_tool_use_id(one, 0) == new_tool_use_id(two, 0)
    assert new_tool_use_id(one, 0) != new_tool_use_id(one, 1)
    assert new_tool_use_id(one, 0) != new_tool_use_id(other, 0)
    assert new_tool_use_id(one, 0).startswith("toolu_offline_")
