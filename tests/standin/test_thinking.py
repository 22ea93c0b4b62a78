"""Thinking blocks: signed, verified on the way back, and the real API's tool-loop rule."""

from __future__ import annotations

import base64
import json
from collections.abc import Iterator
from typing import Any

import anthropic
import pytest
from anthropic.types import RedactedThinkingBlock, TextBlock, ThinkingBlock, ToolUseBlock

from standin import (
    MessagesRequest,
    PolicyReply,
    ReplyText,
    register_scenario,
    scenario_marker,
    unregister_scenario,
)

from ._helpers import MODEL, user

LOOKUP: Any = {
    "name": "lookup_vendor",
    "input_schema": {
        "type": "object",
        "properties": {"vendor_id": {"type": "string"}},
        "required": ["vendor_id"],
    },
}
THINKING: Any = {"type": "enabled", "budget_tokens": 1024}
ADAPTIVE_MODEL = "claude-opus-5"  # adaptive thinking, blocks not bound to the prefix


def _as_param(block: Any) -> dict[str, Any]:
    dumped: dict[str, Any] = block.model_dump(exclude_none=True)
    return dumped


async def _tool_turn(client: anthropic.AsyncAnthropic) -> tuple[list[Any], ToolUseBlock]:
    messages: list[Any] = user("find vendor 'V-1'")
    first = await client.messages.create(
        model=MODEL, max_tokens=2048, thinking=THINKING, tools=[LOOKUP], messages=messages
    )
    call = first.content[-1]
    assert isinstance(call, ToolUseBlock)
    messages.append({"role": "assistant", "content": [_as_param(b) for b in first.content]})
    messages.append(
        {
            "role": "user",
            "content": [{"type": "tool_result", "tool_use_id": call.id, "content": "ok"}],
        }
    )
    return messages, call


async def test_thinking_block_is_signed(client: anthropic.AsyncAnthropic) -> None:
    message = await client.messages.create(
        model=MODEL, max_tokens=2048, thinking=THINKING, tools=[LOOKUP], messages=user("find it")
    )
    thinking, call = message.content
    assert isinstance(thinking, ThinkingBlock)
    assert isinstance(call, ToolUseBlock)
    assert "rule 3" in thinking.thinking
    assert "lookup_vendor" in thinking.thinking
    # The signature binds the block to the model that wrote it (and its conversation).
    envelope = json.loads(base64.b64decode(thinking.signature))
    assert envelope["m"] == MODEL
    assert message.usage.output_tokens > len(thinking.thinking) // 4


async def test_unchanged_thinking_round_trips(client: anthropic.AsyncAnthropic) -> None:
    messages, _ = await _tool_turn(client)
    final = await client.messages.create(
        model=MODEL, max_tokens=2048, thinking=THINKING, tools=[LOOKUP], messages=messages
    )
    assert final.stop_reason == "end_turn"
    assert isinstance(final.content[0], ThinkingBlock)
    assert isinstance(final.content[1], TextBlock)


async def test_modified_thinking_is_rejected(client: anthropic.AsyncAnthropic) -> None:
    messages, _ = await _tool_turn(client)
    messages[1]["content"][0]["thinking"] += " (edited)"
    with pytest.raises(anthropic.BadRequestError) as caught:
        await client.messages.create(
            model=MODEL, max_tokens=2048, thinking=THINKING, tools=[LOOKUP], messages=messages
        )
    # The latest assistant message's blocks get the documented "cannot be modified" 400.
    assert caught.value.api_message == (
        "messages.1.content.0: `thinking` or `redacted_thinking` blocks in the latest "
        "assistant message cannot be modified. These blocks must remain as they were in the "
        "original response."
    )


async def test_modified_earlier_thinking_has_an_invalid_signature(
    client: anthropic.AsyncAnthropic,
) -> None:
    messages, _ = await _tool_turn(client)
    second = await client.messages.create(
        model=MODEL, max_tokens=2048, thinking=THINKING, tools=[LOOKUP], messages=messages
    )
    messages.append({"role": "assistant", "content": [_as_param(b) for b in second.content]})
    messages.append({"role": "user", "content": "and now?"})
    messages[1]["content"][0]["thinking"] += " (edited)"
    with pytest.raises(anthropic.BadRequestError) as caught:
        await client.messages.create(
            model=MODEL, max_tokens=2048, thinking=THINKING, tools=[LOOKUP], messages=messages
        )
    assert (
        caught.value.api_message == "messages.1.content.0: Invalid `signature` in `thinking` block"
    )


async def test_missing_signature_is_rejected(client: anthropic.AsyncAnthropic) -> None:
    messages, _ = await _tool_turn(client)
    del messages[1]["content"][0]["signature"]
    with pytest.raises(anthropic.BadRequestError, match=r"content\.0\.thinking\.signature"):
        await client.messages.create(
            model=MODEL, max_tokens=2048, thinking=THINKING, tools=[LOOKUP], messages=messages
        )


async def test_dropped_thinking_breaks_the_tool_loop_rule(
    client: anthropic.AsyncAnthropic,
) -> None:
    messages, _ = await _tool_turn(client)
    messages[1]["content"] = messages[1]["content"][1:]
    with pytest.raises(anthropic.BadRequestError) as caught:
        await client.messages.create(
            model=MODEL, max_tokens=2048, thinking=THINKING, tools=[LOOKUP], messages=messages
        )
    assert caught.value.api_message is not None
    assert caught.value.api_message.startswith(
        "messages.1.content.0.type: Expected `thinking` or `redacted_thinking`, but found "
        "`tool_use`. When `thinking` is enabled, a final `assistant` message must start with "
        "a thinking block"
    )

    # The same history is fine once thinking is off: the rule is thinking-specific.
    ok = await client.messages.create(
        model=MODEL, max_tokens=2048, tools=[LOOKUP], messages=messages
    )
    assert ok.stop_reason == "end_turn"


async def test_manual_thinking_with_forced_tool_is_rejected(
    client: anthropic.AsyncAnthropic,
) -> None:
    with pytest.raises(anthropic.BadRequestError, match="tool_choice forces tool use"):
        await client.messages.create(
            model=MODEL,
            max_tokens=2048,
            thinking=THINKING,
            tools=[LOOKUP],
            tool_choice={"type": "any"},
            messages=user("x"),
        )


async def test_budget_must_be_below_max_tokens(client: anthropic.AsyncAnthropic) -> None:
    with pytest.raises(anthropic.BadRequestError, match="max_tokens"):
        await client.messages.create(
            model=MODEL, max_tokens=1024, thinking=THINKING, messages=user("x")
        )


async def test_adaptive_thinking_with_omitted_display(client: anthropic.AsyncAnthropic) -> None:
    adaptive: Any = {"type": "adaptive", "display": "omitted"}
    message = await client.messages.create(
        model=ADAPTIVE_MODEL, max_tokens=500, thinking=adaptive, messages=user("hello")
    )
    thinking = message.content[0]
    assert isinstance(thinking, ThinkingBlock)
    assert thinking.thinking == ""
    assert thinking.signature

    follow_up: list[Any] = [
        *user("hello"),
        {"role": "assistant", "content": [_as_param(b) for b in message.content]},
        *user("again"),
    ]
    again = await client.messages.create(
        model=ADAPTIVE_MODEL, max_tokens=500, thinking=adaptive, messages=follow_up
    )
    assert again.stop_reason == "end_turn"


async def test_thinking_in_final_assistant_needs_thinking_enabled(
    client: anthropic.AsyncAnthropic,
) -> None:
    message = await client.messages.create(
        model=MODEL, max_tokens=2048, thinking=THINKING, messages=user("hello")
    )
    prefill: list[Any] = [
        *user("hello"),
        {"role": "assistant", "content": [_as_param(message.content[0])]},
    ]
    with pytest.raises(anthropic.BadRequestError, match="When thinking is disabled"):
        await client.messages.create(model=MODEL, max_tokens=500, messages=prefill)


class _Redacting:
    name = "test_redacting"

    def matches(self, request: MessagesRequest) -> bool:
        return scenario_marker(request) == "redact"

    def respond(self, request: MessagesRequest) -> PolicyReply:
        return PolicyReply((ReplyText("done"),), rationale="secret plan", redact_thinking=True)


@pytest.fixture
def redacting() -> Iterator[None]:
    register_scenario(_Redacting())
    yield
    unregister_scenario("test_redacting")


@pytest.mark.usefixtures("redacting")
async def test_redacted_thinking_round_trips_and_is_verified(
    client: anthropic.AsyncAnthropic,
) -> None:
    first = await client.messages.create(
        model=MODEL,
        max_tokens=2048,
        thinking=THINKING,
        system="scenario: redact",
        messages=user("go"),
    )
    redacted = first.content[0]
    assert isinstance(redacted, RedactedThinkingBlock)
    assert "secret plan" not in redacted.data

    history: list[Any] = [
        *user("go"),
        {"role": "assistant", "content": [_as_param(b) for b in first.content]},
        *user("more"),
    ]
    again = await client.messages.create(
        model=MODEL, max_tokens=2048, thinking=THINKING, system="scenario: redact", messages=history
    )
    assert again.stop_reason == "end_turn"

    history[1]["content"][0]["data"] = redacted.data[:-4] + "AAA="
    with pytest.raises(anthropic.BadRequestError, match="redacted_thinking"):
        await client.messages.create(
            model=MODEL,
            max_tokens=2048,
            thinking=THINKING,
            system="scenario: redact",
            messages=history,
        )
