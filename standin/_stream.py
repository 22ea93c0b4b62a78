"""A finished response as the server-sent events of a streamed Messages API reply.

The event sequence is the real one (`message_start`, per block `content_block_start`,
deltas and `content_block_stop`, then `message_delta` and `message_stop`, with `ping`s), so
the SDK's own accumulator rebuilds the same message a non-streamed call returns. Two faults
act mid-stream: "stream_error" breaks off with an `error` event after `message_start`, and
"stall" goes silent for its `latency_ms` after the first block.
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator
from typing import Any

from standin._faults import FaultSpec
from standin._wire import (
    MessagesResponse,
    RedactedThinkingOut,
    TextOut,
    ThinkingOut,
    ToolUseOut,
)

_CHUNK = 48  # characters per delta: several deltas per block, as a real stream has


def _event(name: str, data: dict[str, Any]) -> bytes:
    return f"event: {name}\ndata: {json.dumps(data)}\n\n".encode()


def _chunks(text: str) -> list[str]:
    return [text[i : i + _CHUNK] for i in range(0, len(text), _CHUNK)] or [""]


def _block_events(index: int, block: Any) -> list[bytes]:
    events: list[bytes] = []

    def delta(payload: dict[str, Any]) -> None:
        events.append(
            _event(
                "content_block_delta",
                {"type": "content_block_delta", "index": index, "delta": payload},
            )
        )

    if isinstance(block, TextOut):
        start: dict[str, Any] = {"type": "text", "text": ""}
    elif isinstance(block, ToolUseOut):
        start = {"type": "tool_use", "id": block.id, "name": block.name, "input": {}}
    elif isinstance(block, ThinkingOut):
        start = {"type": "thinking", "thinking": "", "signature": ""}
    else:
        assert isinstance(block, RedactedThinkingOut)
        start = {"type": "redacted_thinking", "data": block.data}
    events.append(
        _event(
            "content_block_start",
            {"type": "content_block_start", "index": index, "content_block": start},
        )
    )
    if isinstance(block, TextOut):
        for part in _chunks(block.text):
            delta({"type": "text_delta", "text": part})
    elif isinstance(block, ToolUseOut):
        for part in _chunks(json.dumps(block.input)):
            delta({"type": "input_json_delta", "partial_json": part})
    elif isinstance(block, ThinkingOut):
        if block.thinking:
            for part in _chunks(block.thinking):
                delta({"type": "thinking_delta", "thinking": part})
        delta({"type": "signature_delta", "signature": block.signature})
    events.append(_event("content_block_stop", {"type": "content_block_stop", "index": index}))
    return events


async def sse_events(response: MessagesResponse, fault: FaultSpec | None) -> AsyncIterator[bytes]:
    usage = response.usage.model_dump(mode="json")
    start = {
        **response.model_dump(mode="json"),
        "content": [],
        "stop_reason": None,
        "stop_sequence": None,
        "stop_details": None,
        "usage": {**usage, "output_tokens": 1},
    }
    yield _event("message_start", {"type": "message_start", "message": start})
    if fault is not None and fault.kind == "stream_error":
        error = {"type": "overloaded_error", "message": "Overloaded"}
        yield _event("error", {"type": "error", "error": error})
        return
    yield _event("ping", {"type": "ping"})
    for index, block in enumerate(response.content):
        for event in _block_events(index, block):
            yield event
        if index == 0 and fault is not None and fault.kind == "stall":
            await asyncio.sleep(fault.latency_ms / 1000)
    yield _event(
        "message_delta",
        {
            "type": "message_delta",
            "delta": {
                "stop_reason": response.stop_reason,
                "stop_sequence": response.stop_sequence,
                "stop_details": response.stop_details,
            },
            "usage": {
                "output_tokens": usage["output_tokens"],
                "input_tokens": usage["input_tokens"],
                "cache_creation_input_tokens": usage["cache_creation_input_tokens"],
                "cache_read_input_tokens": usage["cache_read_input_tokens"],
            },
        },
    )
    yield _event("message_stop", {"type": "message_stop"})
