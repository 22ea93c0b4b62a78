"""Round trips through the real anthropic SDK: text, tool use, repair, forced tools, limits."""

from __future__ import annotations

from enum import StrEnum
from typing import Any

import anthropic
import httpx
import pytest
from anthropic.types import TextBlock, ToolUseBlock
from pydantic import BaseModel, Field

from standin import OfflineModelServer

from ._helpers import MODEL, user

LOOKUP: Any = {
    "name": "lookup_vendor",
    "description": "Find a vendor by id.",
    "input_schema": {
        "type": "object",
        "properties": {
            "vendor_id": {"type": "string"},
            "limit": {"type": "integer", "minimum": 5},
            "include_archived": {"type": "boolean"},
        },
        "required": ["vendor_id", "limit"],
    },
}
POST_ENTRY: Any = {
    "name": "post_entry",
    "description": "Post a journal entry.",
    "input_schema": {
        "type": "object",
        "properties": {"amount": {"type": "number"}, "memo": {"type": "string"}},
        "required": ["amount", "memo"],
    },
}


async def test_plain_text_round_trip(client: anthropic.AsyncAnthropic) -> None:
    raw = await client.messages.with_raw_response.create(
        model=MODEL, max_tokens=200, messages=user("What is the closing balance?")
    )
    message = await raw.parse()

    assert raw.headers["request-id"].startswith("req_offline_")
    assert message.id.startswith("msg_offline_")
    assert message.model == MODEL
    assert message.stop_reason == "end_turn"
    assert len(message.content) == 1
    block = message.content[0]
    assert isinstance(block, TextBlock)
    assert "What is the closing balance?" in block.text
    assert "no language model" in block.text
    assert message.usage.input_tokens == 7  # ceil(28 bytes / 4)
    assert message.usage.output_tokens > 0


async def test_tool_use_round_trip(client: anthropic.AsyncAnthropic) -> None:
    messages: list[Any] = user("Please find vendor_id: 'V-7' for me.")
    first = await client.messages.create(
        model=MODEL, max_tokens=500, tools=[LOOKUP, POST_ENTRY], messages=messages
    )

    assert first.stop_reason == "tool_use"
    (call,) = first.content
    assert isinstance(call, ToolUseBlock)
    assert call.name == "lookup_vendor"
    assert call.id.startswith("toolu_offline_")
    assert call.input == {"vendor_id": "V-7", "limit": 5}

    messages += [
        {"role": "assistant", "content": first.content},
        {
            "role": "user",
            "content": [
                {"type": "tool_result", "tool_use_id": call.id, "content": "ACME Corp, active"}
            ],
        },
    ]
    final = await client.messages.create(
        model=MODEL, max_tokens=500, tools=[LOOKUP, POST_ENTRY], messages=messages
    )

    assert final.stop_reason == "end_turn"
    (text,) = final.content
    assert isinstance(text, TextBlock)
    assert "lookup_vendor: ACME Corp, active" in text.text


async def test_user_text_naming_a_tool_selects_it(client: anthropic.AsyncAnthropic) -> None:
    message = await client.messages.create(
        model=MODEL,
        max_tokens=500,
        tools=[LOOKUP, POST_ENTRY],
        messages=user('Use post_entry with memo="rent" please'),
    )
    (call,) = message.content
    assert isinstance(call, ToolUseBlock)
    assert call.name == "post_entry"
    assert call.input == {"amount": 1, "memo": "rent"}


async def test_tool_error_gets_one_repaired_retry(client: anthropic.AsyncAnthropic) -> None:
    messages: list[Any] = user("look up the vendor")
    first = await client.messages.create(
        model=MODEL, max_tokens=500, tools=[LOOKUP], messages=messages
    )
    call = first.content[0]
    assert isinstance(call, ToolUseBlock)

    def failed(tool_id: str, text: str) -> dict[str, Any]:
        return {
            "role": "user",
            "content": [
                {"type": "tool_result", "tool_use_id": tool_id, "content": text, "is_error": True}
            ],
        }

    messages += [{"role": "assistant", "content": first.content}, failed(call.id, "timeout")]
    retry = await client.messages.create(
        model=MODEL, max_tokens=500, tools=[LOOKUP], messages=messages
    )
    assert retry.stop_reason == "tool_use"
    retried = retry.content[0]
    assert isinstance(retried, ToolUseBlock)
    assert retried.name == "lookup_vendor"
    assert retried.id != call.id
    assert set(retried.input) == {"vendor_id", "limit"}

    messages += [{"role": "assistant", "content": retry.content}, failed(retried.id, "timeout")]
    gave_up = await client.messages.create(
        model=MODEL, max_tokens=500, tools=[LOOKUP], messages=messages
    )
    assert gave_up.stop_reason == "end_turn"
    text = gave_up.content[0]
    assert isinstance(text, TextBlock)
    assert "lookup_vendor (error): timeout" in text.text


class Currency(StrEnum):
    EUR = "EUR"
    USD = "USD"


class Address(BaseModel):
    street: str
    city: str
    postcode: str | None = None


class InvoiceInput(BaseModel):
    vendor: str
    currency: Currency
    total: float = Field(ge=0.5)
    lines: list[str] = Field(min_length=2)
    address: Address
    approver: str | None = None
    note: str | None
    priority: int = 3


async def test_forced_tool_choice_with_pydantic_schema(client: anthropic.AsyncAnthropic) -> None:
    schema = InvoiceInput.model_json_schema()
    assert "$defs" in schema  # the case this test exists for
    message = await client.messages.create(
        model=MODEL,
        max_tokens=1000,
        tools=[LOOKUP, {"name": "record_invoice", "input_schema": schema}],
        tool_choice={"type": "tool", "name": "record_invoice"},
        messages=user('Record the invoice from vendor: "Globex"'),
    )

    assert message.stop_reason == "tool_use"
    (call,) = message.content
    assert isinstance(call, ToolUseBlock)
    assert call.name == "record_invoice"
    parsed = InvoiceInput.model_validate(call.input)
    assert parsed.vendor == "Globex"
    assert parsed.currency is Currency.EUR
    assert parsed.total == 0.5
    assert len(parsed.lines) == 2
    assert parsed.priority == 3
    assert parsed.note == "offline-note"  # required though nullable: the non-null branch
    assert parsed.approver is None  # optional with a default: the default


async def test_same_request_same_response(client: anthropic.AsyncAnthropic) -> None:
    request: dict[str, Any] = {
        "model": MODEL,
        "max_tokens": 300,
        "tools": [LOOKUP],
        "messages": user("find vendor 'V-9'"),
    }
    first = await client.messages.create(**request)
    second = await client.messages.create(**request)
    assert first.model_dump() == second.model_dump()


async def test_tool_choice_none_answers_in_text(client: anthropic.AsyncAnthropic) -> None:
    message = await client.messages.create(
        model=MODEL,
        max_tokens=300,
        tools=[LOOKUP],
        tool_choice={"type": "none"},
        messages=user("hello"),
    )
    assert message.stop_reason == "end_turn"
    assert isinstance(message.content[0], TextBlock)


async def test_max_tokens_cuts_text(client: anthropic.AsyncAnthropic) -> None:
    message = await client.messages.create(model=MODEL, max_tokens=3, messages=user("hello"))
    assert message.stop_reason == "max_tokens"
    text = message.content[0]
    assert isinstance(text, TextBlock)
    assert len(text.text.encode()) <= 12
    assert message.usage.output_tokens == 3


async def test_max_tokens_keeps_the_part_of_a_tool_call_that_was_written(
    client: anthropic.AsyncAnthropic,
) -> None:
    # As the real stream does: a call cut mid-input arrives with what was written so far, so
    # a client must check stop_reason before running any tool.
    message = await client.messages.create(
        model=MODEL, max_tokens=4, tools=[LOOKUP], messages=user("find vendor_id: 'V-1'")
    )
    assert message.stop_reason == "max_tokens"
    (call,) = message.content
    assert isinstance(call, ToolUseBlock)
    assert call.input == {}  # the required vendor_id was never written


async def test_stop_sequence_ends_text(client: anthropic.AsyncAnthropic) -> None:
    message = await client.messages.create(
        model=MODEL, max_tokens=300, stop_sequences=["Last user"], messages=user("hello")
    )
    assert message.stop_reason == "stop_sequence"
    assert message.stop_sequence == "Last user"
    text = message.content[0]
    assert isinstance(text, TextBlock)
    assert text.text.endswith("involved). ")


async def test_invalid_block_is_rejected_naming_the_field(
    client: anthropic.AsyncAnthropic,
) -> None:
    with pytest.raises(anthropic.BadRequestError) as caught:
        await client.messages.create(
            model=MODEL,
            max_tokens=100,
            messages=[{"role": "user", "content": [{"type": "text"}]}],  # type: ignore[misc,list-item]
        )
    assert caught.value.body["error"]["type"] == "invalid_request_error"  # type: ignore[index]
    assert caught.value.api_message == "messages.0.content.0.text: Field required"


async def test_missing_field_via_raw_http(
    offline_server: OfflineModelServer, control: httpx.AsyncClient
) -> None:
    response = await control.post(
        "/v1/messages",
        headers={"x-api-key": "k", "anthropic-version": "2023-06-01"},
        json={"model": MODEL, "messages": user("hi")},
    )
    assert response.status_code == 400
    assert response.json()["error"] == {
        "type": "invalid_request_error",
        "message": "max_tokens: Field required",
    }
    assert response.json()["request_id"] == response.headers["request-id"]


async def test_unknown_fields_are_accepted(client: anthropic.AsyncAnthropic) -> None:
    message = await client.messages.create(
        model=MODEL,
        max_tokens=100,
        messages=user("hi"),
        extra_body={"some_future_parameter": {"x": 1}, "temperature": 0.2},
    )
    assert message.stop_reason == "end_turn"


async def test_a_streamed_reply_is_the_same_message(client: anthropic.AsyncAnthropic) -> None:
    thinking: Any = {"type": "enabled", "budget_tokens": 1024}
    kwargs: Any = {
        "model": MODEL,
        "max_tokens": 2048,
        "thinking": thinking,
        "tools": [LOOKUP],
        "messages": user("find vendor_id: 'V-1'"),
    }
    plain = await client.messages.create(**kwargs)
    async with client.messages.stream(**kwargs) as stream:
        streamed = await stream.get_final_message()
    assert [b.model_dump() for b in streamed.content] == [b.model_dump() for b in plain.content]
    assert streamed.stop_reason == plain.stop_reason == "tool_use"
    assert streamed.usage.output_tokens == plain.usage.output_tokens


async def test_tool_use_without_result_is_rejected(client: anthropic.AsyncAnthropic) -> None:
    messages: list[Any] = [
        *user("find it"),
        {
            "role": "assistant",
            "content": [
                {"type": "tool_use", "id": "toolu_1", "name": "lookup_vendor", "input": {}}
            ],
        },
        *user("and?"),
    ]
    with pytest.raises(anthropic.BadRequestError) as caught:
        await client.messages.create(model=MODEL, max_tokens=100, tools=[LOOKUP], messages=messages)
    assert caught.value.api_message is not None
    assert caught.value.api_message.startswith(
        "messages.2: `tool_use` ids were found without `tool_result` blocks immediately after: "
        "toolu_1."
    )


async def test_missing_api_key_is_401(
    offline_server: OfflineModelServer,
    control: httpx.AsyncClient,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.delenv("ANTHROPIC_API_KEY", raising=False)
    monkeypatch.delenv("ANTHROPIC_AUTH_TOKEN", raising=False)
    async with anthropic.AsyncAnthropic(
        base_url=offline_server.base_url,
        api_key=None,
        max_retries=0,
        default_headers={"Authorization": anthropic.Omit()},  # type: ignore[dict-item]
    ) as keyless:
        with pytest.raises(anthropic.AuthenticationError) as caught:
            await keyless.messages.create(model=MODEL, max_tokens=10, messages=user("hi"))
    assert caught.value.status_code == 401
    assert caught.value.type == "authentication_error"
    assert caught.value.request_id is not None


async def test_requests_are_recorded_for_inspection(
    client: anthropic.AsyncAnthropic, control: httpx.AsyncClient
) -> None:
    await client.messages.create(model=MODEL, max_tokens=50, messages=user("first"))
    await client.messages.create(model=MODEL, max_tokens=50, messages=user("second"))

    recorded = (await control.get("/_control/requests", params={"limit": 1})).json()["requests"]
    assert [item["body"]["messages"][0]["content"] for item in recorded] == ["second"]
    assert recorded[0]["status"] == 200

    await control.delete("/_control/requests")
    assert (await control.get("/_control/requests")).json()["requests"] == []


async def test_health_and_unknown_route(control: httpx.AsyncClient) -> None:
    health = await control.get("/health")
    assert health.json()["status"] == "ok"
    missing = await control.get("/v1/nothing-here")
    assert missing.status_code == 404
    assert missing.json()["error"]["type"] == "not_found_error"
    assert missing.headers["request-id"].startswith("req_offline_")


async def test_count_tokens_matches_usage(client: anthropic.AsyncAnthropic) -> None:
    counted = await client.messages.count_tokens(model=MODEL, messages=user("count these words"))
    message = await client.messages.create(
        model=MODEL, max_tokens=50, messages=user("count these words")
    )
    assert counted.input_tokens == message.usage.input_tokens == 5
