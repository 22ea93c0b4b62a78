"""The deterministic policy that decides what the stand-in answers.

Registered scenarios are asked first, in registration order; the first whose `matches` is
true answers. Otherwise the generic policy applies these rules, in order:

1. `tool_choice` is `{"type": "tool", "name": X}`: one `tool_use` of X, input synthesised
   from X's `input_schema`.
2. The last user message carries `tool_result` blocks:
   - if one has `is_error` and its tool has failed only this once in the whole
     conversation (and `tool_choice` is not `none`): call that tool again with input
     re-synthesised from its schema (the "repaired" retry; at most once per tool);
   - otherwise answer in text summarising every result (stop_reason `end_turn`).
3. Tools are offered, `tool_choice` is absent, `auto` or `any`, and no tool has been called
   yet in the conversation: call the tool whose name appears first in the user text, else
   the first offered tool, with synthesised input.
4. Otherwise: a text answer quoting the last user text.

`any` is treated like `auto` once a tool has run, deliberately: a forced call on every turn
would never end a conversation, and the stand-in must always terminate.

Input synthesis is `_schema.synthesize` (defaults, enums, quoted user values, placeholders).
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Sequence
from dataclasses import dataclass, field, replace
from typing import Any, NamedTuple, Protocol, TypeVar

from standin._schema import synthesize
from standin._tokens import canonical_json
from standin._wire import (
    MessagesRequest,
    StopReason,
    TextBlock,
    Tool,
    ToolChoiceNone,
    ToolChoiceTool,
    ToolResultBlock,
    ToolUseBlock,
)

_CLIP = 200
_MARKER = re.compile(r"^\s*scenario:\s*(\S+)\s*$", re.MULTILINE)


@dataclass(frozen=True)
class ReplyText:
    text: str


@dataclass(frozen=True)
class ReplyToolUse:
    """A tool call; leave `id` None to get `new_tool_use_id(request, n)` for the n-th call."""

    name: str
    input: dict[str, Any]
    id: str | None = None


@dataclass(frozen=True)
class PolicyReply:
    """What to answer. `stop_reason` None means "tool_use" if any tool is called, else
    "end_turn". `rationale` becomes the thinking text when the request enables thinking."""

    content: Sequence[ReplyText | ReplyToolUse]
    stop_reason: StopReason | None = None
    rationale: str = ""
    redact_thinking: bool = False

    def effective_stop_reason(self) -> StopReason:
        if self.stop_reason is not None:
            return self.stop_reason
        if any(isinstance(block, ReplyToolUse) for block in self.content):
            return "tool_use"
        return "end_turn"


class Scenario(Protocol):
    """A daemon-specific script for the stand-in, tried before the generic policy."""

    @property
    def name(self) -> str: ...

    def matches(self, request: MessagesRequest) -> bool: ...

    def respond(self, request: MessagesRequest) -> PolicyReply: ...


@dataclass
class _Registry:
    scenarios: list[Scenario] = field(default_factory=list)


_REGISTRY = _Registry()


_S = TypeVar("_S", bound=Scenario)


def register_scenario(scenario: _S) -> _S:
    """Add a scenario after those already registered; re-registering a name replaces it in
    place, so re-importing a scenario module is harmless."""
    for index, existing in enumerate(_REGISTRY.scenarios):
        if existing.name == scenario.name:
            _REGISTRY.scenarios[index] = scenario
            return scenario
    _REGISTRY.scenarios.append(scenario)
    return scenario


def unregister_scenario(name: str) -> None:
    _REGISTRY.scenarios = [item for item in _REGISTRY.scenarios if item.name != name]


def registered_scenarios() -> tuple[Scenario, ...]:
    return tuple(_REGISTRY.scenarios)


# --- helpers for scenarios -----------------------------------------------------------------


class ToolCall(NamedTuple):
    id: str
    name: str
    input: dict[str, Any]


class ToolResult(NamedTuple):
    tool_name: str
    input: dict[str, Any]
    result_text: str
    is_error: bool


def scenario_marker(request: MessagesRequest) -> str | None:
    """The value of a `scenario: NAME` line in the system prompt, the usual way to match."""
    found = _MARKER.search(request.system_text())
    return found.group(1) if found else None


def offered_tools(request: MessagesRequest) -> dict[str, Tool]:
    return {tool.name: tool for tool in request.tools or []}


def tool_calls_so_far(request: MessagesRequest) -> list[ToolCall]:
    return [
        ToolCall(block.id, block.name, block.input)
        for message in request.messages
        if message.role == "assistant"
        for block in message.blocks()
        if isinstance(block, ToolUseBlock)
    ]


def last_tool_results(request: MessagesRequest) -> dict[str, ToolResult]:
    """The tool results in the final user message, keyed by tool_use_id, joined to the call."""
    last = request.messages[-1] if request.messages else None
    if last is None or last.role != "user":
        return {}
    calls = {call.id: call for call in tool_calls_so_far(request)}
    results: dict[str, ToolResult] = {}
    for block in last.blocks():
        if isinstance(block, ToolResultBlock):
            call = calls.get(block.tool_use_id)
            results[block.tool_use_id] = ToolResult(
                call.name if call else "", call.input if call else {}, block.text(), block.is_error
            )
    return results


def user_text(request: MessagesRequest, *, last_only: bool = False) -> str:
    """Text the user wrote (tool results excluded), all turns or only the latest one."""
    chunks: list[str] = []
    for message in request.messages:
        if message.role != "user":
            continue
        texts = [block.text for block in message.blocks() if isinstance(block, TextBlock)]
        if texts:
            chunks = ["\n".join(texts)] if last_only else [*chunks, "\n".join(texts)]
    return "\n".join(chunks)


def new_tool_use_id(request: MessagesRequest, index: int) -> str:
    """Same conversation and index, same id: replays and retries see identical tool ids."""
    basis = request.model_dump(
        mode="json", include={"model", "system", "messages", "tools"}, exclude_none=True
    )
    digest = hashlib.sha256(f"{canonical_json(basis)}#{index}".encode()).hexdigest()
    return f"toolu_offline_{digest[:24]}"


# --- the generic policy --------------------------------------------------------------------


def _clip(text: str) -> str:
    flat = " ".join(text.split())
    return flat if len(flat) <= _CLIP else flat[: _CLIP - 3] + "..."


def _call(request: MessagesRequest, tool: Tool, rationale: str) -> PolicyReply:
    arguments = synthesize(tool.input_schema, user_text=user_text(request), name=tool.name)
    return PolicyReply((ReplyToolUse(tool.name, arguments),), rationale=rationale)


def _errors_for(request: MessagesRequest, tool_name: str) -> int:
    names = {call.id: call.name for call in tool_calls_so_far(request)}
    return sum(
        1
        for message in request.messages
        if message.role == "user"
        for block in message.blocks()
        if isinstance(block, ToolResultBlock)
        and block.is_error
        and names.get(block.tool_use_id) == tool_name
    )


def _mentioned_tool(request: MessagesRequest, tools: dict[str, Tool]) -> Tool | None:
    text = user_text(request)
    positions = []
    for name, tool in tools.items():
        found = re.search(rf"(?<![\w-]){re.escape(name)}(?![\w-])", text)
        if found:
            positions.append((found.start(), tool))
    return min(positions, key=lambda item: item[0])[1] if positions else None


def _summary(results: dict[str, ToolResult]) -> str:
    lines = [f"Summary of {len(results)} tool result(s) (offline stand-in, no language model):"]
    for result in results.values():
        marker = " (error)" if result.is_error else ""
        lines.append(f"- {result.tool_name or 'unknown tool'}{marker}: {_clip(result.result_text)}")
    return "\n".join(lines)


def generic_policy(request: MessagesRequest) -> PolicyReply:
    """Rules 1-4 of the module docstring."""
    tools = offered_tools(request)
    choice = request.tool_choice
    may_call = bool(tools) and not isinstance(choice, ToolChoiceNone)
    if may_call and isinstance(choice, ToolChoiceTool):
        return _call(
            request,
            tools[choice.name],
            f"Stand-in policy rule 1: tool_choice forces `{choice.name}`; calling it with "
            "input synthesised from its input_schema.",
        )
    results = last_tool_results(request)
    if results:
        for result in results.values():
            if (
                result.is_error
                and may_call
                and result.tool_name in tools
                and _errors_for(request, result.tool_name) <= 1
            ):
                return _call(
                    request,
                    tools[result.tool_name],
                    f"Stand-in policy rule 2: `{result.tool_name}` returned an error; calling "
                    "it once more with input re-synthesised from its schema.",
                )
        return PolicyReply(
            (ReplyText(_summary(results)),),
            rationale="Stand-in policy rule 2: tool results arrived; summarising them in text.",
        )
    if may_call and not tool_calls_so_far(request):
        mentioned = _mentioned_tool(request, tools)
        tool = mentioned or next(iter(tools.values()))
        why = "named in the user text" if mentioned else "the first offered tool"
        return _call(
            request,
            tool,
            f"Stand-in policy rule 3: no tool called yet; calling `{tool.name}` ({why}).",
        )
    last = user_text(request, last_only=True)
    return PolicyReply(
        (
            ReplyText(
                "Offline stand-in reply (deterministic, no language model involved). "
                f"Last user message: {_clip(last)}"
            ),
        ),
        rationale="Stand-in policy rule 4: nothing to call; answering in text.",
    )


def decide(request: MessagesRequest, local: tuple[Scenario, ...] = ()) -> tuple[PolicyReply, str]:
    """The reply and who produced it: a scenario's name or "generic"."""
    for scenario in (*local, *_REGISTRY.scenarios):
        if scenario.matches(request):
            reply = scenario.respond(request)
            if not reply.rationale:
                reply = replace(reply, rationale=f"Scenario `{scenario.name}` matched.")
            return reply, scenario.name
    return generic_policy(request), "generic"
