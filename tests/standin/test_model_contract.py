"""The stand-in refuses what the real API refuses, per model, with the documented wording.

Each refusal here is one the Claude 5.5 models' docs name; a request ledgerd used to send is
among them (budget thinking for the planner, forced tool choice for the judge), so a client
that regresses fails here instead of against production.
"""

from __future__ import annotations

import base64
import json
from collections.abc import Iterator
from typing import Any

import anthropic
import httpx
import pytest
from anthropic.types import TextBlock, ThinkingBlock, ToolUseBlock

from standin import (
    MessagesRequest,
    PolicyReply,
    ReplyText,
    ReplyToolUse,
    register_scenario,
    scenario_marker,
    unregister_scenario,
)

from ._helpers import inject, user

LOOKUP: Any = {
    "name": "lookup_vendor",
    "description": "Find a vendor by id.",
    "input_schema": {
        "type": "object",
        "properties": {"vendor_id": {"type": "string"}},
        "required": ["vendor_id"],
    },
}
VERDICT: Any = {
    "name": "submit_verdict",
    "description": "Submit your verdict.",
    "input_schema": {
        "type": "object",
        "properties": {"passed": {"type": "boolean"}},
        "required": ["passed"],
    },
}


async def refused(client: anthropic.AsyncAnthropic, **request: Any) -> anthropic.APIStatusError:
    with pytest.raises(anthropic.APIStatusError) as caught:
        await client.messages.create(**request)
    return caught.value


async def test_the_old_planner_request_is_refused_by_opus_5_5(
    client: anthropic.AsyncAnthropic,
) -> None:
    # What ledgerd sent the planner before issue 11: budget thinking of 2048 tokens.
    error = await refused(
        client,
        model="claude-opus-5-5",
        max_tokens=4096 + 2048,
        thinking={"type": "enabled", "budget_tokens": 2048},
        tools=[LOOKUP],
        messages=user("plan it"),
    )
    assert error.status_code == 400
    assert error.type == "invalid_request_error"
    assert error.api_message == (
        '"thinking.type.enabled" is not supported for this model. Use "thinking.type.adaptive" '
        'and "output_config.effort" to control thinking behavior.'
    )


@pytest.mark.parametrize("model", ["claude-sonnet-5-5", "claude-opus-5-5"])
@pytest.mark.parametrize("choice", [{"type": "tool", "name": "submit_verdict"}, {"type": "any"}])
async def test_the_old_judge_request_is_refused_by_sonnet_and_opus_5_5(
    client: anthropic.AsyncAnthropic, model: str, choice: Any
) -> None:
    # What ledgerd sent the judge before issue 11: the verdict tool, forced.
    error = await refused(
        client,
        model=model,
        max_tokens=4096,
        tools=[VERDICT],
        tool_choice=choice,
        messages=user("x"),
    )
    assert error.status_code == 400
    assert (
        error.api_message == 'tool_choice: type "tool" and "any" are not supported for this model.'
    )


async def test_forced_tool_choice_counts_no_tokens_either(
    offline_server: Any, client: anthropic.AsyncAnthropic
) -> None:
    with pytest.raises(anthropic.BadRequestError, match="not supported for this model"):
        await client.messages.count_tokens(
            model="claude-opus-5-5",
            tools=[VERDICT],
            tool_choice={"type": "any"},
            messages=user("x"),
        )


async def test_haiku_5_5_takes_forced_tool_choice_and_skips_thinking(
    client: anthropic.AsyncAnthropic,
) -> None:
    message = await client.messages.create(
        model="claude-haiku-5-5",
        max_tokens=4096,
        tools=[VERDICT],
        tool_choice={"type": "tool", "name": "submit_verdict"},
        messages=user("judge it"),
    )
    assert [b.type for b in message.content] == ["tool_use"]


@pytest.mark.parametrize(
    ("model", "message"),
    [
        (
            "claude-opus-5-5",
            '"thinking.type.disabled" is not supported for this model. Use '
            '"thinking.type.adaptive" and "output_config.effort" to control thinking behavior.',
        ),
        (
            "claude-sonnet-5-5",
            'To turn thinking off on this model, send "thinking": {"type": "between_tools"} '
            'instead of {"type": "disabled"}. The model does not think before responding. The '
            "short updates it writes between tool calls come back as thinking blocks.",
        ),
    ],
)
async def test_thinking_cannot_be_turned_off(
    client: anthropic.AsyncAnthropic, model: str, message: str
) -> None:
    error = await refused(
        client, model=model, max_tokens=1024, thinking={"type": "disabled"}, messages=user("x")
    )
    assert error.api_message == message


async def test_haiku_5_5_turns_thinking_off_only_up_to_high_effort(
    client: anthropic.AsyncAnthropic,
) -> None:
    off: Any = {"type": "disabled"}
    ok = await client.messages.create(
        model="claude-haiku-5-5",
        max_tokens=1024,
        thinking=off,
        output_config={"effort": "high"},
        messages=user("x"),
    )
    assert not any(isinstance(b, ThinkingBlock) for b in ok.content)
    error = await refused(
        client,
        model="claude-haiku-5-5",
        max_tokens=1024,
        thinking=off,
        output_config={"effort": "max"},
        messages=user("x"),
    )
    assert error.status_code == 400


async def test_between_tools_is_sonnet_5_5s_lowest_setting_at_low_to_high_effort(
    client: anthropic.AsyncAnthropic,
) -> None:
    between: Any = {"type": "between_tools"}
    ok = await client.messages.create(
        model="claude-sonnet-5-5",
        max_tokens=1024,
        thinking=between,
        output_config={"effort": "low"},
        messages=user("x"),
    )
    assert ok.stop_reason == "end_turn"
    for request in (
        {"thinking": between, "output_config": {"effort": "xhigh"}},
        {"thinking": {"type": "between_tools", "display": "summarized"}},
    ):
        error = await refused(
            client, model="claude-sonnet-5-5", max_tokens=1024, messages=user("x"), **request
        )
        assert error.status_code == 400
    error = await refused(
        client, model="claude-opus-5-5", max_tokens=1024, thinking=between, messages=user("x")
    )
    assert error.status_code == 400


@pytest.mark.parametrize("model", ["claude-opus-5-5", "claude-sonnet-5-5", "claude-haiku-5-5"])
async def test_the_5_5_models_refuse_prefill(client: anthropic.AsyncAnthropic, model: str) -> None:
    prefill: Any = [*user("x"), {"role": "assistant", "content": "Sure,"}]
    error = await refused(client, model=model, max_tokens=1024, messages=prefill)
    assert error.api_message == (
        "This model does not support assistant message prefill. The conversation must end "
        "with a user message."
    )


async def test_older_models_still_take_prefill(client: anthropic.AsyncAnthropic) -> None:
    prefill: Any = [*user("x"), {"role": "assistant", "content": "Sure,"}]
    message = await client.messages.create(
        model="claude-haiku-4-5", max_tokens=64, messages=prefill
    )
    assert message.stop_reason in {"end_turn", "max_tokens"}


async def test_sampling_parameters(client: anthropic.AsyncAnthropic) -> None:
    # The SDK no longer defines them; they can only be smuggled in as extra body fields.
    for model, body in [
        ("claude-opus-5-5", {"temperature": 0.2}),
        ("claude-sonnet-5-5", {"top_k": 5}),
        ("claude-haiku-5-5", {"top_p": 1.0}),
        ("claude-haiku-5-5", {"temperature": 1.0, "top_p": 0.99}),
        ("claude-haiku-4-5", {"temperature": 0.5, "top_p": 0.9}),
    ]:
        error = await refused(
            client, model=model, max_tokens=256, messages=user("x"), extra_body=body
        )
        assert error.status_code == 400, (model, body)
    for model, body in [
        ("claude-haiku-5-5", {"temperature": 1.0}),  # its default, stated in the docs
        ("claude-haiku-4-5", {"temperature": 0.2}),
    ]:
        ok = await client.messages.create(
            model=model, max_tokens=256, messages=user("x"), extra_body=body
        )
        assert ok.stop_reason in {"end_turn", "max_tokens"}


async def test_effort_and_limits_per_model(client: anthropic.AsyncAnthropic) -> None:
    # (An explicit timeout: the SDK refuses long non-streaming calls without one.)
    ok = await client.messages.create(
        model="claude-opus-5-5",
        max_tokens=64_000,
        output_config={"effort": "xhigh"},
        messages=user("x"),
        timeout=60,
    )
    assert ok.stop_reason == "end_turn"
    error = await refused(
        client,
        model="claude-haiku-4-5",
        max_tokens=256,
        output_config={"effort": "low"},
        messages=user("x"),
    )
    assert error.status_code == 400
    error = await refused(
        client, model="claude-haiku-4-5", max_tokens=64_001, messages=user("x"), timeout=60
    )
    assert error.api_message == (
        "max_tokens: 64001 > 64000, which is the maximum allowed number of output tokens for "
        "claude-haiku-4-5"
    )


@pytest.mark.parametrize("model", ["claude-nonexistent-9", "claude-sonnet-4-5"])
async def test_unknown_and_retired_models_are_not_found(
    client: anthropic.AsyncAnthropic, model: str
) -> None:
    error = await refused(client, model=model, max_tokens=256, messages=user("x"))
    assert error.status_code == 404
    assert error.type == "not_found_error"
    assert error.api_message == f"model: {model}"


async def test_the_models_list_has_the_current_models(client: anthropic.AsyncAnthropic) -> None:
    page = await client.models.list(limit=100)
    ids = [m.id for m in page.data]
    assert ids[:3] == ["claude-haiku-5-5", "claude-sonnet-5-5", "claude-opus-5-5"]
    assert "claude-sonnet-4-5" not in ids  # retired
    assert (await client.models.retrieve("claude-opus-5")).display_name == "Claude Opus 5"


async def test_structured_outputs_need_the_supported_schema_subset(
    client: anthropic.AsyncAnthropic,
) -> None:
    raw = {
        "type": "object",
        "properties": {"reason": {"type": "string", "minLength": 3}},
        "required": ["reason"],
    }
    error = await refused(
        client,
        model="claude-opus-5-5",
        max_tokens=1024,
        output_config={"format": {"type": "json_schema", "schema": raw}},
        messages=user("x"),
    )
    assert error.status_code == 400
    message = await client.messages.create(
        model="claude-opus-5-5",
        max_tokens=1024,
        output_config={
            "format": {"type": "json_schema", "schema": anthropic.transform_schema(raw)}
        },
        messages=user("x"),
    )
    (text,) = [b for b in message.content if isinstance(b, TextBlock)]
    assert set(json.loads(text.text)) == {"reason"}


# --- thinking blocks: bound to model, account and conversation -------------------------------


async def _tool_turn(
    client: anthropic.AsyncAnthropic, model: str, system: str = "You help."
) -> list[Any]:
    messages: list[Any] = user("find vendor_id: 'V-1'")
    first = await client.messages.create(
        model=model, max_tokens=4096, system=system, tools=[LOOKUP], messages=messages
    )
    call = first.content[-1]
    assert isinstance(first.content[0], ThinkingBlock)
    assert isinstance(call, ToolUseBlock)
    messages.append(
        {"role": "assistant", "content": [b.model_dump(exclude_none=True) for b in first.content]}
    )
    messages.append(
        {
            "role": "user",
            "content": [{"type": "tool_result", "tool_use_id": call.id, "content": "ok"}],
        }
    )
    return messages


async def test_thinking_round_trips_in_an_append_only_conversation(
    client: anthropic.AsyncAnthropic,
) -> None:
    messages = await _tool_turn(client, "claude-opus-5-5")
    # Moving cache markers keeps blocks valid; so does the same conversation continued.
    messages[-1]["content"][0]["cache_control"] = {"type": "ephemeral"}
    again = await client.messages.create(
        model="claude-opus-5-5",
        max_tokens=4096,
        system="You help.",
        tools=[LOOKUP],
        messages=messages,
    )
    assert again.stop_reason == "end_turn"


@pytest.mark.parametrize("change", ["system", "tools", "earlier turn"])
async def test_a_changed_prefix_binds_the_block_to_another_conversation(
    client: anthropic.AsyncAnthropic, change: str
) -> None:
    messages = await _tool_turn(client, "claude-opus-5-5")
    system, tools = "You help.", [LOOKUP]
    if change == "system":
        system = "You help. Be terse."
    elif change == "tools":
        tools = [LOOKUP, VERDICT]
    else:
        messages[0]["content"] = "find vendor_id: 'V-2'"
    error = await refused(
        client,
        model="claude-opus-5-5",
        max_tokens=4096,
        system=system,
        tools=tools,
        messages=messages,
    )
    assert error.status_code == 400
    assert error.api_message is not None
    assert error.api_message.startswith(
        "messages.1.content.0: Invalid `signature` in `thinking` block. The block is bound to a "
        "different conversation."
    )


async def test_older_models_do_not_bind_blocks_to_the_prefix(
    client: anthropic.AsyncAnthropic,
) -> None:
    messages = await _tool_turn(client, "claude-opus-5")
    again = await client.messages.create(
        model="claude-opus-5", max_tokens=4096, system="Changed.", tools=[LOOKUP], messages=messages
    )
    assert again.stop_reason == "end_turn"


async def _send_back(
    offline_server: Any, messages: list[Any], *, model: str, api_key: str = "test"
) -> httpx.Response:
    """The conversation sent on over plain HTTP, to read the stand-in's report of drops."""
    async with httpx.AsyncClient(base_url=offline_server.base_url) as http:
        return await http.post(
            "/v1/messages",
            headers={"x-api-key": api_key, "anthropic-version": "2023-06-01"},
            json={
                "model": model,
                "max_tokens": 4096,
                "system": "You help.",
                "tools": [LOOKUP],
                "messages": messages,
            },
        )


async def test_another_models_blocks_are_dropped(
    client: anthropic.AsyncAnthropic, offline_server: Any
) -> None:
    messages = await _tool_turn(client, "claude-sonnet-5-5")
    response = await _send_back(offline_server, messages, model="claude-haiku-5-5")
    # Not an error: the API drops what the model cannot read, and says so only in a beta.
    assert response.status_code == 200
    dropped = response.headers["x-offline-dropped-thinking"]
    assert dropped == "messages.1.content.0 model_binding_mismatch"


async def test_sonnet_5_5_blocks_are_bound_to_the_account(
    client: anthropic.AsyncAnthropic, offline_server: Any
) -> None:
    messages = await _tool_turn(client, "claude-sonnet-5-5")
    response = await _send_back(
        offline_server, messages, model="claude-sonnet-5-5", api_key="another-account"
    )
    assert response.status_code == 200
    assert response.headers["x-offline-dropped-thinking"].endswith("organization_binding_mismatch")


class _Narrating:
    """A model that says what it is about to do, then calls the tool."""

    name = "test_narrating"

    def matches(self, request: MessagesRequest) -> bool:
        return scenario_marker(request) == "narrate"

    def respond(self, request: MessagesRequest) -> PolicyReply:
        return PolicyReply(
            (
                ReplyText("Looking the vendor up first."),
                ReplyToolUse("lookup_vendor", {"vendor_id": "V-1"}),
            ),
            rationale="The vendor id is given; look it up.",
        )


@pytest.fixture
def narrating() -> Iterator[None]:
    register_scenario(_Narrating())
    yield
    unregister_scenario("test_narrating")


@pytest.mark.usefixtures("narrating")
async def test_text_between_tool_calls_arrives_in_thinking_blocks_on_5_5(
    client: anthropic.AsyncAnthropic,
) -> None:
    request: Any = {
        "max_tokens": 4096,
        "system": "scenario: narrate",
        "tools": [LOOKUP],
        "messages": user("go"),
    }
    hidden = await client.messages.create(model="claude-opus-5-5", **request)
    assert [b.type for b in hidden.content] == ["thinking", "thinking", "tool_use"]
    assert all(b.thinking == "" for b in hidden.content if isinstance(b, ThinkingBlock))
    shown = await client.messages.create(
        model="claude-opus-5-5", thinking={"type": "adaptive", "display": "summarized"}, **request
    )
    narration = shown.content[1]
    assert isinstance(narration, ThinkingBlock)
    assert narration.thinking == "Looking the vendor up first."
    older = await client.messages.create(model="claude-opus-5", **request)
    assert [b.type for b in older.content] == ["thinking", "text", "tool_use"]


async def test_signatures_name_their_model(client: anthropic.AsyncAnthropic) -> None:
    message = await client.messages.create(
        model="claude-haiku-5-5", max_tokens=1024, messages=user("x")
    )
    thinking = message.content[0]
    assert isinstance(thinking, ThinkingBlock)
    assert json.loads(base64.b64decode(thinking.signature))["m"] == "claude-haiku-5-5"


# --- replies the 5.x models give -------------------------------------------------------------


async def test_a_refusal_is_a_200_with_stop_details(
    client: anthropic.AsyncAnthropic, control: httpx.AsyncClient
) -> None:
    await inject(control, {"kind": "refusal", "refusal_category": "bio"})
    message = await client.messages.create(
        model="claude-haiku-5-5", max_tokens=1024, messages=user("x")
    )
    assert message.stop_reason == "refusal"
    assert message.stop_details is not None
    assert message.stop_details.category == "bio"


async def test_a_stream_can_break_off(
    client: anthropic.AsyncAnthropic, control: httpx.AsyncClient
) -> None:
    await inject(control, {"kind": "stream_error"})
    with pytest.raises(anthropic.APIStatusError, match="overloaded_error"):
        async with client.messages.stream(
            model="claude-haiku-5-5", max_tokens=1024, messages=user("x")
        ) as stream:
            await stream.get_final_message()
