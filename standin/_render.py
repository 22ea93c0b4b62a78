"""Turn a `PolicyReply` into response content, honouring the request's output limits.

The limits are applied like the real API applies them, because clients must handle their
outcomes: a stop sequence ends the text early (`stop_sequence`), and output beyond
`max_tokens` is cut (`max_tokens`) with an incomplete tool_use dropped, since a half-written
tool call is unusable.
"""

from __future__ import annotations

from dataclasses import dataclass

from standin._faults import FaultSpec
from standin._policy import PolicyReply, ReplyText, new_tool_use_id
from standin._schema import break_input, synthesize
from standin._thinking import redacted_block, thinking_block
from standin._tokens import canonical_json, count_tokens
from standin._wire import (
    MessagesRequest,
    OutBlock,
    RedactedThinkingOut,
    StopReason,
    TextOut,
    ThinkingOut,
    ToolChoiceTool,
    ToolUseOut,
)


@dataclass(frozen=True)
class Rendered:
    content: list[OutBlock]
    stop_reason: StopReason
    stop_sequence: str | None
    output_tokens: int


def block_tokens(block: OutBlock) -> int:
    if isinstance(block, TextOut):
        return count_tokens(block.text)
    if isinstance(block, ToolUseOut):
        return count_tokens(block.name + canonical_json(block.input))
    if isinstance(block, ThinkingOut):
        return count_tokens(block.thinking)
    return count_tokens(block.data)


def _cut(text: str, tokens: int) -> str:
    # Slicing bytes can split a character; dropping the fragment keeps the text valid UTF-8.
    return text.encode("utf-8")[: max(tokens, 0) * 4].decode("utf-8", errors="ignore")


def _blocks(request: MessagesRequest, reply: PolicyReply) -> list[OutBlock]:
    blocks: list[OutBlock] = []
    calls = 0
    for item in reply.content:
        if isinstance(item, ReplyText):
            blocks.append(TextOut(text=item.text))
        else:
            tool_id = item.id or new_tool_use_id(request, calls)
            blocks.append(ToolUseOut(id=tool_id, name=item.name, input=dict(item.input)))
            calls += 1
    return blocks


def _malform(request: MessagesRequest, blocks: list[OutBlock]) -> list[OutBlock]:
    """Break the first tool call's input; with no call, invent one to break."""
    tools = {tool.name: tool for tool in request.tools or []}
    for index, block in enumerate(blocks):
        if isinstance(block, ToolUseOut) and block.name in tools:
            schema = tools[block.name].input_schema
            blocks[index] = block.model_copy(update={"input": break_input(schema, block.input)})
            return blocks
    choice = request.tool_choice
    name = choice.name if isinstance(choice, ToolChoiceTool) else next(iter(tools))
    schema = tools[name].input_schema
    broken = break_input(schema, synthesize(schema, name=name))
    return [ToolUseOut(id=new_tool_use_id(request, 0), name=name, input=broken)]


def _apply_stop_sequences(
    request: MessagesRequest, blocks: list[OutBlock]
) -> tuple[list[OutBlock], str | None]:
    sequences = [item for item in request.stop_sequences or [] if item]
    for index, block in enumerate(blocks):
        if not isinstance(block, TextOut):
            continue
        hits = [(block.text.find(item), item) for item in sequences if item in block.text]
        if hits:
            position, sequence = min(hits)
            return [*blocks[:index], TextOut(text=block.text[:position])], sequence
    return blocks, None


def _limit(blocks: list[OutBlock], budget: int) -> tuple[list[OutBlock], bool]:
    """Keep what fits in `budget` tokens; True when something was cut."""
    kept: list[OutBlock] = []
    for block in blocks:
        cost = block_tokens(block)
        if cost <= budget:
            kept.append(block)
            budget -= cost
            continue
        if isinstance(block, TextOut):
            kept.append(TextOut(text=_cut(block.text, budget)))
        elif isinstance(block, ThinkingOut):
            # What the server returns is what it signs, so a cut block still round-trips.
            kept.append(thinking_block(_cut(block.thinking, budget)))
        return kept, True
    return kept, False


def render(request: MessagesRequest, reply: PolicyReply, fault: FaultSpec | None) -> Rendered:
    blocks = _blocks(request, reply)
    stop_reason = reply.effective_stop_reason()
    if fault is not None and fault.kind == "malformed_tool_input":
        blocks = _malform(request, blocks)
        stop_reason = "tool_use"
    blocks, sequence = _apply_stop_sequences(request, blocks)
    if sequence is not None:
        stop_reason = "stop_sequence"
    if request.thinking_enabled():
        thought: ThinkingOut | RedactedThinkingOut = (
            redacted_block(reply.rationale)
            if reply.redact_thinking
            else thinking_block(reply.rationale, omitted=request.thinking_display() == "omitted")
        )
        blocks = [thought, *blocks]
    natural = sum(block_tokens(block) for block in blocks)
    truncating = fault is not None and fault.kind == "truncate"
    budget = request.max_tokens
    if truncating:
        # Pretend the limit was half the natural length, so something is always cut.
        budget = min(budget, natural // 2)
    blocks, cut = _limit(blocks, budget)
    if cut or truncating:
        return Rendered(blocks, "max_tokens", None, request.max_tokens)
    return Rendered(blocks, stop_reason, sequence, max(1, natural))
