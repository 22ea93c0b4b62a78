"""Prompt-cache emulation: usage fields behave like the real API's across calls."""

from __future__ import annotations

from typing import Any

import anthropic
import httpx
import pytest

from ._helpers import MODEL, user

SYSTEM_TEXT = "You reconcile ledgers. " * 100  # 2300 bytes: 575 tokens


def cached_system(ttl: str | None = None) -> Any:
    control: dict[str, Any] = {"type": "ephemeral"}
    if ttl:
        control["ttl"] = ttl
    return [{"type": "text", "text": SYSTEM_TEXT, "cache_control": control}]


async def test_first_call_writes_second_reads(client: anthropic.AsyncAnthropic) -> None:
    first = await client.messages.create(
        model=MODEL, max_tokens=100, system=cached_system(), messages=user("first question")
    )
    second = await client.messages.create(
        model=MODEL, max_tokens=100, system=cached_system(), messages=user("another one")
    )

    assert first.usage.cache_creation_input_tokens == 575
    assert first.usage.cache_read_input_tokens == 0
    assert first.usage.cache_creation is not None
    assert first.usage.cache_creation.ephemeral_5m_input_tokens == 575
    assert first.usage.input_tokens == 4  # "first question": only the uncached rest

    assert second.usage.cache_read_input_tokens == 575
    assert second.usage.cache_creation_input_tokens == 0
    assert second.usage.input_tokens == 3


async def test_cache_is_per_model_and_per_prefix(client: anthropic.AsyncAnthropic) -> None:
    await client.messages.create(
        model=MODEL, max_tokens=100, system=cached_system(), messages=user("q")
    )
    other_model = await client.messages.create(
        model="claude-sonnet-5", max_tokens=100, system=cached_system(), messages=user("q")
    )
    changed: Any = [{**cached_system()[0], "text": SYSTEM_TEXT + "Changed."}]
    other_prefix = await client.messages.create(
        model=MODEL, max_tokens=100, system=changed, messages=user("q")
    )
    assert other_model.usage.cache_read_input_tokens == 0
    assert other_model.usage.cache_creation_input_tokens == 575
    assert other_prefix.usage.cache_read_input_tokens == 0


async def test_usage_adds_up_to_the_whole_prompt(client: anthropic.AsyncAnthropic) -> None:
    tools: list[Any] = [
        {
            "name": "lookup",
            "input_schema": {"type": "object", "properties": {}},
            "cache_control": {"type": "ephemeral", "ttl": "1h"},
        }
    ]
    counted = await client.messages.count_tokens(
        model=MODEL, system=cached_system(), tools=tools, messages=user("question")
    )
    for _ in range(2):
        message = await client.messages.create(
            model=MODEL,
            max_tokens=100,
            system=cached_system(),
            tools=tools,
            tool_choice={"type": "none"},
            messages=user("question"),
        )
        usage = message.usage
        total = (
            usage.input_tokens
            + (usage.cache_creation_input_tokens or 0)
            + (usage.cache_read_input_tokens or 0)
        )
        assert total == counted.input_tokens
    assert usage.cache_read_input_tokens == counted.input_tokens - 2


async def test_moving_the_marker_reads_the_previous_turn(
    client: anthropic.AsyncAnthropic,
) -> None:
    def text(body: str, *, marked: bool = False) -> dict[str, Any]:
        block: dict[str, Any] = {"type": "text", "text": body}
        if marked:
            block["cache_control"] = {"type": "ephemeral"}
        return block

    first_turn: list[Any] = [{"role": "user", "content": [text("x" * 400, marked=True)]}]
    first = await client.messages.create(model=MODEL, max_tokens=50, messages=first_turn)
    assert first.usage.cache_creation_input_tokens == 100

    # The client moves its only marker to the newest message, as agents usually do.
    second_turn: list[Any] = [
        {"role": "user", "content": [text("x" * 400)]},
        {"role": "assistant", "content": "ok"},
        {"role": "user", "content": [text("y" * 40, marked=True)]},
    ]
    second = await client.messages.create(model=MODEL, max_tokens=50, messages=second_turn)
    assert second.usage.cache_read_input_tokens == 100
    assert second.usage.cache_creation_input_tokens == 1 + 10  # "ok" and the new turn

    repeat = await client.messages.create(model=MODEL, max_tokens=50, messages=second_turn)
    assert repeat.usage.cache_read_input_tokens == 111
    assert repeat.usage.cache_creation_input_tokens == 0


async def test_lookback_is_limited_to_twenty_blocks(client: anthropic.AsyncAnthropic) -> None:
    marked: Any = {"type": "text", "text": "x" * 400, "cache_control": {"type": "ephemeral"}}
    await client.messages.create(
        model=MODEL, max_tokens=50, messages=[{"role": "user", "content": [marked]}]
    )
    filler = [{"type": "text", "text": f"filler {n}"} for n in range(21)]
    far: list[Any] = [
        {"role": "user", "content": [{"type": "text", "text": "x" * 400}]},
        {"role": "assistant", "content": "ok"},
        {
            "role": "user",
            "content": [*filler, {**filler[0], "cache_control": {"type": "ephemeral"}}],
        },
    ]
    message = await client.messages.create(model=MODEL, max_tokens=50, messages=far)
    assert message.usage.cache_read_input_tokens == 0


async def test_top_level_cache_control_marks_the_last_block(
    client: anthropic.AsyncAnthropic,
) -> None:
    body: dict[str, Any] = {
        "model": MODEL,
        "max_tokens": 50,
        "messages": user("z" * 80),
        "extra_body": {"cache_control": {"type": "ephemeral"}},
    }
    first = await client.messages.create(**body)
    second = await client.messages.create(**body)
    assert first.usage.cache_creation_input_tokens == 20
    assert second.usage.cache_read_input_tokens == 20
    assert second.usage.input_tokens == 0


async def test_more_than_four_breakpoints_is_rejected(client: anthropic.AsyncAnthropic) -> None:
    blocks: list[Any] = [
        {"type": "text", "text": f"part {n}", "cache_control": {"type": "ephemeral"}}
        for n in range(5)
    ]
    messages: Any = [{"role": "user", "content": blocks}]
    with pytest.raises(anthropic.BadRequestError, match="A maximum of 4 blocks"):
        await client.messages.create(model=MODEL, max_tokens=50, messages=messages)


async def test_reset_forgets_the_cache(
    client: anthropic.AsyncAnthropic, control: httpx.AsyncClient
) -> None:
    await client.messages.create(
        model=MODEL, max_tokens=100, system=cached_system(), messages=user("q")
    )
    await control.post("/_control/reset")
    again = await client.messages.create(
        model=MODEL, max_tokens=100, system=cached_system(), messages=user("q")
    )
    assert again.usage.cache_creation_input_tokens == 575
