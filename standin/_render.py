"""Turn a `PolicyReply` into the response content the requested model would return.

Per model (from the registry), as the real API shapes it:
- thinking: a leading thinking block when the model thinks (adaptive by default on the 5.x
  models, a budget when asked on older ones), none when forced tool choice skips it; its
  text is empty under the default `display: "omitted"`;
- text between tool calls: on the models that move it (Opus and Sonnet 5.5), narration
  before a tool call comes back as a progress-update thinking block;
- structured outputs: with `output_config.format` the reply is one JSON text block;
- limits: a stop sequence ends the text early, and output beyond `max_tokens` is cut, a
  tool call cut mid-input keeping the part that was written (as the real stream does).

Every thinking block is signed for the model, the account and the conversation before it.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

from standin._contract import Checked, prefix_digest, redacted, sign
from standin._faults import FaultSpec
from standin._policy import PolicyReply, ReplyText, new_tool_use_id
from standin._schema import break_input, synthesize
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
    stop_details: dict[str, Any] | None = None


@dataclass
class _Thought:
    """A thinking block before signing: what the model thought, and what is shown."""

    shown: str
    redact: bool = False


_Draft = OutBlock | _Thought


def block_tokens(block: _Draft) -> int:
    if isinstance(block, TextOut):
        return count_tokens(block.text)
    if isinstance(block, ToolUseOut):
        return count_tokens(block.name + canonical_json(block.input))
    if isinstance(block, ThinkingOut):
        return count_tokens(block.thinking)
    if isinstance(block, _Thought):
        return max(count_tokens(block.shown), 8)  # hidden thinking is still billed
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


def _as_structured_output(request: MessagesRequest, blocks: list[OutBlock]) -> list[OutBlock]:
    """With `output_config.format`, the answer is JSON text: a scenario's answer tool call
    (a tool the request does not offer) becomes its input as JSON; text that is no JSON is
    replaced by an object synthesised from the schema, as a constrained model must emit."""
    schema = request.answer_schema()
    if schema is None:
        return blocks
    offered = {tool.name for tool in request.tools or []}
    for block in blocks:
        if isinstance(block, ToolUseOut) and block.name not in offered:
            return [TextOut(text=json.dumps(block.input))]
    texts = [b for b in blocks if isinstance(b, TextOut)]
    if texts:
        try:
            json.loads(texts[-1].text)
            return [texts[-1]]
        except ValueError:
            pass
    return [TextOut(text=json.dumps(synthesize(schema)))]


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


def _partial_input(arguments: dict[str, Any], budget: int, name: str) -> dict[str, Any]:
    """The keys of a tool input that were written before the output ran out."""
    kept: dict[str, Any] = {}
    spent = count_tokens(name)
    for key, value in arguments.items():
        spent += count_tokens(canonical_json({key: value}))
        if spent > budget:
            break
        kept[key] = value
    if kept == arguments and arguments:  # always cut something: the call did not finish
        kept.pop(next(reversed(arguments)))
    return kept


def _limit(blocks: list[_Draft], budget: int) -> tuple[list[_Draft], bool]:
    """Keep what fits in `budget` tokens; True when something was cut."""
    kept: list[_Draft] = []
    for block in blocks:
        cost = block_tokens(block)
        if cost <= budget:
            kept.append(block)
            budget -= cost
            continue
        if isinstance(block, TextOut):
            kept.append(TextOut(text=_cut(block.text, budget)))
        elif isinstance(block, _Thought):
            kept.append(_Thought(_cut(block.shown, budget), block.redact))
        elif isinstance(block, ToolUseOut):
            kept.append(
                block.model_copy(update={"input": _partial_input(block.input, budget, block.name)})
            )
        return kept, True
    return kept, False


def _display(request: MessagesRequest, checked: Checked) -> str:
    sent = request.thinking_display()
    if sent is not None:
        return sent
    # The 5.x models hide thinking by default; older ones returned summaries.
    return "omitted" if checked.profile.thinking.display else "summarized"


def _with_thinking(
    request: MessagesRequest, reply: PolicyReply, blocks: list[OutBlock], checked: Checked
) -> list[_Draft]:
    form = checked.thinking
    skipped = request.forces_tool()  # a forced call starts the reply: no thinking
    if form not in {"adaptive", "enabled", "between_tools"} or (skipped and form == "adaptive"):
        return list(blocks)
    display = _display(request, checked)
    drafts: list[_Draft] = []
    if form != "between_tools":
        shown = reply.rationale if display != "omitted" and display != "updates" else ""
        drafts.append(_Thought(shown, reply.redact_thinking))
    moves_text = (
        checked.profile.thinking.text_between_tools == "thinking" or form == "between_tools"
    )
    for index, block in enumerate(blocks):
        before_call = any(isinstance(b, ToolUseOut) for b in blocks[index + 1 :])
        if moves_text and isinstance(block, TextOut) and before_call:
            visible = form == "between_tools" or display != "omitted"
            drafts.append(_Thought(block.text if visible else ""))
        else:
            drafts.append(block)
    return drafts


def _signed(request: MessagesRequest, drafts: list[_Draft], account: str) -> list[OutBlock]:
    out: list[OutBlock] = []
    for block in drafts:
        if not isinstance(block, _Thought):
            out.append(block)
            continue
        prefix = prefix_digest(request, request.messages, out)
        if block.redact:
            out.append(
                RedactedThinkingOut(
                    data=redacted(block.shown, model=request.model, account=account, prefix=prefix)
                )
            )
        else:
            signature = sign(block.shown, model=request.model, account=account, prefix=prefix)
            out.append(ThinkingOut(thinking=block.shown, signature=signature))
    return out


REFUSAL_DETAILS = {
    "type": "refusal",
    "category": "cyber",
    "explanation": "The offline stand-in declined this request (an injected refusal fault).",
}


def render(
    request: MessagesRequest,
    reply: PolicyReply,
    fault: FaultSpec | None,
    checked: Checked,
    account: str,
) -> Rendered:
    blocks = _as_structured_output(request, _blocks(request, reply))
    stop_reason = reply.effective_stop_reason()
    if request.answer_schema() is not None:
        stop_reason = "end_turn"
    kind = fault.kind if fault is not None else None
    if kind == "malformed_tool_input":
        blocks = _malform(request, blocks)
        stop_reason = "tool_use"
    blocks, sequence = _apply_stop_sequences(request, blocks)
    if sequence is not None:
        stop_reason = "stop_sequence"
    drafts = _with_thinking(request, reply, blocks, checked)
    natural = sum(block_tokens(block) for block in drafts)
    if kind == "refusal":
        # The classifier stops the reply where it intervened: here, before any output.
        details = {**REFUSAL_DETAILS, "category": fault.refusal_category if fault else "cyber"}
        return Rendered([], "refusal", None, 1, details)
    budget = request.max_tokens
    if kind in {"truncate", "context_window"}:
        # Pretend the limit was half the natural length, so something is always cut.
        budget = min(budget, natural // 2)
    drafts, cut = _limit(drafts, budget)
    content = _signed(request, drafts, account)
    if kind == "context_window":
        return Rendered(content, "model_context_window_exceeded", None, max(1, budget))
    if kind == "pause_turn":
        return Rendered(content, "pause_turn", None, max(1, natural))
    if cut or kind == "truncate":
        return Rendered(content, "max_tokens", None, request.max_tokens)
    return Rendered(content, stop_reason, sequence, max(1, natural))
