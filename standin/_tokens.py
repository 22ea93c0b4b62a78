"""Deterministic token accounting and prompt-cache emulation.

Token counts are an approximation (`ceil(utf8 bytes / 4)` per block), not a tokenizer: what
matters for tests is that they are stable, grow with the prompt and add up the way the real
`usage` object does (`input + cache_creation + cache_read` = the whole prompt), so budget and
cost code can be exercised offline.
"""

from __future__ import annotations

import hashlib
import json
import math
from dataclasses import dataclass
from typing import Any

from standin._wire import (
    CacheControl,
    CacheCreation,
    ImageBlock,
    MessagesRequest,
    RedactedThinkingBlock,
    TextBlock,
    ThinkingBlock,
    ToolResultBlock,
    ToolUseBlock,
    Usage,
)

LOOKBACK_BLOCKS = 20


def count_tokens(text: str) -> int:
    return math.ceil(len(text.encode("utf-8")) / 4)


def canonical_json(value: Any) -> str:
    return json.dumps(value, sort_keys=True, separators=(",", ":"), ensure_ascii=False)


@dataclass(frozen=True)
class Segment:
    """One cacheable unit of the prompt, in the order the real API hashes them."""

    key: str
    tokens: int
    breakpoint: CacheControl | None


def _block_segment(role: str, block: Any) -> Segment:
    if isinstance(block, TextBlock):
        text = block.text
    elif isinstance(block, ToolUseBlock):
        text = block.name + canonical_json(block.input)
    elif isinstance(block, ToolResultBlock):
        text = block.text()
    elif isinstance(block, ThinkingBlock):
        text = block.thinking
    elif isinstance(block, RedactedThinkingBlock):
        text = block.data
    elif isinstance(block, ImageBlock):
        text = ""
    else:  # pragma: no cover - the request model admits no other block type
        raise TypeError(type(block))
    # cache_control is a marker, not content: moving a breakpoint must not change the prefix.
    body = block.model_dump(mode="json", exclude={"cache_control"}, exclude_none=True)
    return Segment(role + canonical_json(body), count_tokens(text), block.cache_control)


def prompt_segments(request: MessagesRequest) -> list[Segment]:
    """Tools, then system, then messages: the order prompt caching builds its prefixes in."""
    segments: list[Segment] = []
    for tool in request.tools or []:
        body = tool.model_dump(mode="json", exclude={"cache_control"}, exclude_none=True)
        segments.append(
            Segment(
                "tool" + canonical_json(body),
                count_tokens(canonical_json(body)),
                tool.cache_control,
            )
        )
    for block in request.system_blocks():
        segments.append(_block_segment("system", block))
    for message in request.messages:
        segments.extend(_block_segment(message.role, block) for block in message.blocks())
    if request.cache_control is not None and segments:
        last = segments[-1]
        segments[-1] = Segment(last.key, last.tokens, request.cache_control)
    return segments


class PromptCache:
    """Remembers prefixes that ended at a cache breakpoint, per model, for the server's life.

    Entries never expire: TTLs are reported in `usage.cache_creation` but not emulated, so a
    test's outcome never depends on wall-clock time. `clear()` is the reset.
    """

    def __init__(self, min_tokens: int | None = None) -> None:
        # None: each model's own minimum cacheable prompt, from the registry.
        self._min_tokens = min_tokens
        self._entries: set[str] = set()

    def clear(self) -> None:
        self._entries.clear()

    def usage(
        self, request: MessagesRequest, output_tokens: int, model_min_tokens: int = 0
    ) -> Usage:
        """Usage for this request, then remember its breakpoint prefixes (like a real write).

        Like the real API, a breakpoint also finds entries written at earlier block
        boundaries, up to `LOOKBACK_BLOCKS` before it; that is what lets a client move its
        marker to the newest message each turn and still read the previous turn's prefix.
        """
        min_tokens = self._min_tokens if self._min_tokens is not None else model_min_tokens
        digest = hashlib.sha256(request.model.encode("utf-8"))
        total = 0
        boundaries: list[tuple[str, int]] = []
        breakpoints: list[tuple[int, CacheControl]] = []
        for segment in prompt_segments(request):
            digest.update(b"\x00" + segment.key.encode("utf-8"))
            total += segment.tokens
            boundaries.append((digest.hexdigest(), total))
            if segment.breakpoint is not None and total >= min_tokens:
                breakpoints.append((len(boundaries) - 1, segment.breakpoint))
        read = 0
        for index, _ in breakpoints:
            for key, tokens in boundaries[max(0, index - LOOKBACK_BLOCKS) : index + 1]:
                if key in self._entries:
                    read = max(read, tokens)
        created = 0
        creation = CacheCreation()
        if breakpoints:
            last_index, last_control = breakpoints[-1]
            last_key, last_tokens = boundaries[last_index]
            if last_key not in self._entries:
                created = last_tokens - read
                if last_control.ttl == "1h":
                    creation = CacheCreation(ephemeral_1h_input_tokens=created)
                else:
                    creation = CacheCreation(ephemeral_5m_input_tokens=created)
        self._entries.update(boundaries[index][0] for index, _ in breakpoints)
        return Usage(
            input_tokens=total - read - created,
            output_tokens=output_tokens,
            cache_creation_input_tokens=created,
            cache_read_input_tokens=read,
            cache_creation=creation,
        )
