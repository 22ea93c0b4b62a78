"""Thinking blocks: signed on the way out, verified on the way back in.

The real API signs each thinking block and rejects a conversation whose thinking blocks were
edited, re-serialised or dropped mid tool loop. Clients that persist conversations (ledgerd
does, in Temporal history) are exactly the ones that get this wrong, so the stand-in signs
with an HMAC and enforces the same rules with the same messages.
"""

from __future__ import annotations

import base64
import hashlib
import hmac

from standin._wire import (
    InvalidRequest,
    MessagesRequest,
    RedactedThinkingBlock,
    RedactedThinkingOut,
    TextBlock,
    ThinkingBlock,
    ThinkingOut,
    ToolResultBlock,
)

# Not a secret in any security sense: it only has to make tampering detectable in tests.
_SECRET = b"ledgerd-offline-model-thinking-v1"
_REDACTED_PREFIX = "offline-redacted:"


def sign(text: str) -> str:
    digest = hmac.new(_SECRET, text.encode("utf-8"), hashlib.sha256).digest()
    return base64.b64encode(digest).decode("ascii")


def thinking_block(text: str, *, omitted: bool = False) -> ThinkingOut:
    """A signed block; with display "omitted" the text is withheld but the signature stays."""
    shown = "" if omitted else text
    return ThinkingOut(thinking=shown, signature=sign(shown))


def redacted_block(text: str) -> RedactedThinkingOut:
    """An opaque block whose `data` carries its own MAC, so it round-trips verifiably too."""
    payload = base64.b64encode(text.encode("utf-8")).decode("ascii")
    return RedactedThinkingOut(data=f"{_REDACTED_PREFIX}{payload}.{sign(payload)}")


def _redacted_data_valid(data: str) -> bool:
    if not data.startswith(_REDACTED_PREFIX):
        return False
    payload, _, mac = data.removeprefix(_REDACTED_PREFIX).rpartition(".")
    return bool(payload) and hmac.compare_digest(mac, sign(payload))


def check_thinking(request: MessagesRequest) -> None:
    """Raise `InvalidRequest` the way the real API does for mishandled thinking blocks."""
    for index, message in enumerate(request.messages):
        if message.role != "assistant":
            continue
        for position, block in enumerate(message.blocks()):
            where = f"messages.{index}.content.{position}"
            if isinstance(block, ThinkingBlock):
                if block.signature is None:
                    raise InvalidRequest(f"{where}.thinking.signature: Field required")
                if not hmac.compare_digest(block.signature, sign(block.thinking)):
                    raise InvalidRequest(f"{where}: Invalid `signature` in `thinking` block")
            elif isinstance(block, RedactedThinkingBlock) and not _redacted_data_valid(block.data):
                raise InvalidRequest(f"{where}: Invalid `data` in `redacted_thinking` block")
    if request.thinking_enabled():
        _check_tool_loop_starts_with_thinking(request)
    else:
        _check_no_thinking_in_final_assistant(request)


def _check_tool_loop_starts_with_thinking(request: MessagesRequest) -> None:
    """Mid tool loop, the assistant turn that asked for the tools must open with its thinking.

    The model's reasoning for the tool call is part of the turn being continued; a client
    that strips it hands the model a turn it cannot verify, so the real API refuses.
    """
    messages = request.messages
    last = messages[-1]
    if last.role != "user" or len(messages) < 2:
        return
    if not any(isinstance(block, ToolResultBlock) for block in last.blocks()):
        return
    index = len(messages) - 2
    blocks = messages[index].blocks()
    first = blocks[0] if blocks else TextBlock(type="text", text="")
    if isinstance(first, ThinkingBlock | RedactedThinkingBlock):
        return
    raise InvalidRequest(
        f"messages.{index}.content.0.type: Expected `thinking` or `redacted_thinking`, but "
        f"found `{first.type}`. When `thinking` is enabled, a final `assistant` message must "
        "start with a thinking block (preceeding the lastmost set of `tool_use` and "
        "`tool_result` blocks). We recommend you include thinking blocks from previous turns. "
        "To avoid this requirement, disable `thinking`."
    )


def _check_no_thinking_in_final_assistant(request: MessagesRequest) -> None:
    last = request.messages[-1]
    if last.role != "assistant":
        return
    for position, block in enumerate(last.blocks()):
        if isinstance(block, ThinkingBlock | RedactedThinkingBlock):
            raise InvalidRequest(
                f"messages.{len(request.messages) - 1}.content.{position}: When thinking is "
                "disabled, an `assistant` message in the final position cannot contain "
                "`thinking`. To use thinking blocks, enable `thinking` in your request."
            )
