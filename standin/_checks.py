"""Conversation rules the real API enforces beyond the JSON schema.

Each rule is here because a client that breaks it works against this stand-in only to fail
against production; rejecting with the real API's wording makes the bug show up in tests.
"""

from __future__ import annotations

from standin._wire import (
    InvalidRequest,
    MessagesRequest,
    ThinkingEnabled,
    ToolChoiceAny,
    ToolChoiceTool,
    ToolResultBlock,
    ToolUseBlock,
)

MAX_CACHE_BREAKPOINTS = 4


def check_request(request: MessagesRequest) -> None:
    """Raise `InvalidRequest` for the first rule the request breaks."""
    if request.stream:
        raise InvalidRequest(
            "stream: streaming is not supported by the offline model stand-in; "
            "call messages.create without stream=True"
        )
    if not request.messages:
        raise InvalidRequest("messages: at least one message is required")
    _check_tools(request)
    _check_thinking_config(request)
    _check_tool_pairing(request)
    _check_cache_breakpoints(request)


def _check_tools(request: MessagesRequest) -> None:
    names = [tool.name for tool in request.tools or []]
    if len(names) != len(set(names)):
        raise InvalidRequest("tools: Tool names must be unique.")
    if isinstance(request.tool_choice, ToolChoiceTool) and request.tool_choice.name not in names:
        raise InvalidRequest(
            f"tool_choice.name: tool {request.tool_choice.name!r} is not one of the offered tools"
        )


def _check_thinking_config(request: MessagesRequest) -> None:
    if not isinstance(request.thinking, ThinkingEnabled):
        return
    if request.thinking.budget_tokens >= request.max_tokens:
        raise InvalidRequest("max_tokens: must be greater than thinking.budget_tokens")
    # Manual thinking cannot coexist with forced tool use: the forced prefill would skip it.
    if isinstance(request.tool_choice, ToolChoiceAny | ToolChoiceTool):
        raise InvalidRequest("Thinking may not be enabled when tool_choice forces tool use.")


def _check_tool_pairing(request: MessagesRequest) -> None:
    """Every tool_use must be answered in the very next user turn, and only those ids."""
    messages = request.messages
    for index, message in enumerate(messages):
        blocks = message.blocks()
        if message.role == "assistant" and index + 1 < len(messages):
            asked = [block.id for block in blocks if isinstance(block, ToolUseBlock)]
            following = messages[index + 1]
            answered = {
                block.tool_use_id
                for block in following.blocks()
                if following.role == "user" and isinstance(block, ToolResultBlock)
            }
            missing = [tool_id for tool_id in asked if tool_id not in answered]
            if missing:
                raise InvalidRequest(
                    f"messages.{index + 1}: `tool_use` ids were found without `tool_result` "
                    f"blocks immediately after: {', '.join(missing)}. Each `tool_use` block "
                    "must have a corresponding `tool_result` block in the next message."
                )
        if message.role == "user":
            previous = messages[index - 1].blocks() if index > 0 else []
            known = {block.id for block in previous if isinstance(block, ToolUseBlock)}
            for position, block in enumerate(blocks):
                if isinstance(block, ToolResultBlock) and block.tool_use_id not in known:
                    raise InvalidRequest(
                        f"messages.{index}.content.{position}: unexpected `tool_use_id` found "
                        f"in `tool_result` blocks: {block.tool_use_id}. Each `tool_result` "
                        "block must have a corresponding `tool_use` block in the previous "
                        "message."
                    )


def _check_cache_breakpoints(request: MessagesRequest) -> None:
    count = sum(1 for tool in request.tools or [] if tool.cache_control is not None)
    count += sum(1 for block in request.system_blocks() if block.cache_control is not None)
    for message in request.messages:
        count += sum(1 for block in message.blocks() if block.cache_control is not None)
    if request.cache_control is not None:
        count += 1
    if count > MAX_CACHE_BREAKPOINTS:
        raise InvalidRequest(
            f"A maximum of {MAX_CACHE_BREAKPOINTS} blocks with cache_control may be provided. "
            f"Found {count}."
        )
