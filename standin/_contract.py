"""What the real Messages API refuses, per model, with its status and wording.

A client that breaks one of these rules works against a lenient stand-in and fails against
production, so the stand-in refuses exactly what the real API refuses. The per-model facts
come from ledgerd's model registry (`ledgerd/model_registry/registry.toml`, each entry
citing its doc page); the wording of each refusal is the documented one where the docs give
it (marked "documented"), otherwise a plausible one (marked "not documented") that tests
must not match on.

Thinking blocks are signed on the way out (`sign`) and verified on the way back in
(`check_request`): bound to the model that wrote them, to the account for models whose
blocks are account-bound, and, on the models that bind them, to the conversation prefix that
produced them.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
from dataclasses import dataclass, field
from typing import Any

from ledgerd.model_registry import ModelProfile, registry
from standin._tokens import canonical_json
from standin._wire import (
    InvalidRequest,
    Message,
    MessagesRequest,
    RedactedThinkingBlock,
    TextBlock,
    ThinkingBlock,
    ToolChoiceTool,
    ToolResultBlock,
    ToolUseBlock,
)

MAX_CACHE_BREAKPOINTS = 4
BINDING_BETA = "thinking-binding-controls-2026-08-01"
# Not a secret in any security sense: it only has to make tampering detectable in tests.
_SECRET = b"ledgerd-offline-model-thinking-v2"
_REDACTED_PREFIX = "offline-redacted:"

# Documented (Opus 5.5 what's new, thinking troubleshooting, errors page).
BUDGET_REFUSED = (
    '"thinking.type.enabled" is not supported for this model. Use "thinking.type.adaptive" '
    'and "output_config.effort" to control thinking behavior.'
)
DISABLED_REFUSED = (
    '"thinking.type.disabled" is not supported for this model. Use "thinking.type.adaptive" '
    'and "output_config.effort" to control thinking behavior.'
)
# Documented (Sonnet 5.5 migration guide).
DISABLED_REFUSED_BETWEEN_TOOLS = (
    'To turn thinking off on this model, send "thinking": {"type": "between_tools"} instead '
    'of {"type": "disabled"}. The model does not think before responding. The short updates '
    "it writes between tool calls come back as thinking blocks."
)
# Documented (errors page).
ADAPTIVE_REFUSED = "adaptive thinking is not supported on this model"
FORCED_TOOL_REFUSED = 'tool_choice: type "tool" and "any" are not supported for this model.'
PREFILL_REFUSED = (
    "This model does not support assistant message prefill. The conversation must end with "
    "a user message."
)
BOUND_ELSEWHERE = (
    "Invalid `signature` in `thinking` block. The block is bound to a different "
    "conversation. Remove the block, or set `thinking.block_binding.prefix_mismatch_behavior` "
    'to "drop_block".'
)
BINDING_NEEDS_BETA = (
    f"That setting requires the `{BINDING_BETA}` value in the `anthropic-beta` header."
)
LATEST_MODIFIED = (
    "`thinking` or `redacted_thinking` blocks in the latest assistant message cannot be "
    "modified. These blocks must remain as they were in the original response."
)
# Older models: documented rule; the wording is the one clients have long logged.
THINKING_WITH_FORCED_TOOL = "Thinking may not be enabled when tool_choice forces tool use."


@dataclass
class Checked:
    """A request that passed: the thinking form in effect and what was dropped on the way."""

    profile: ModelProfile
    thinking: str  # adaptive, enabled, disabled, between_tools, off
    dropped: list[tuple[int, int, str]] = field(default_factory=list)

    @property
    def thinks(self) -> bool:
        return self.thinking in {"adaptive", "enabled"}


def model_profile(model: str) -> ModelProfile:
    """The profile the stand-in serves `model` with; unknown and retired ids are a 404."""
    profile = registry().get(model)
    if profile is None or profile.retired():
        # The real API's answer to a model it does not serve.
        raise InvalidRequest(f"model: {model}", status=404)
    return profile


def check_request(request: MessagesRequest, *, account: str, betas: frozenset[str]) -> Checked:
    """Raise `InvalidRequest` for the first rule the request breaks; else say what applies."""
    profile = model_profile(request.model)
    if not request.messages:
        raise InvalidRequest("messages: at least one message is required")
    if request.max_tokens > profile.max_output:
        raise InvalidRequest(
            f"max_tokens: {request.max_tokens} > {profile.max_output}, which is the maximum "
            f"allowed number of output tokens for {request.model}"
        )
    thinking = _check_thinking_form(request, profile)
    _check_effort(request, profile, thinking)
    _check_tool_choice(request, profile, thinking)
    _check_sampling(request, profile)
    if request.messages[-1].role == "assistant" and not profile.prefill:
        raise InvalidRequest(PREFILL_REFUSED)
    _check_output_format(request, profile)
    _check_tools(request)
    _check_tool_pairing(request)
    _check_cache_breakpoints(request)
    checked = Checked(profile=profile, thinking=thinking)
    _check_thinking_blocks(request, checked, account=account, betas=betas)
    return checked


def _check_thinking_form(request: MessagesRequest, profile: ModelProfile) -> str:
    forms = profile.thinking.forms
    sent = request.thinking.type if request.thinking is not None else None
    effort = request.effort()
    if sent is None:
        return "adaptive" if profile.thinking.default == "adaptive" else "off"
    if sent == "enabled" and "enabled" not in forms:
        raise InvalidRequest(BUDGET_REFUSED)
    if sent == "adaptive" and "adaptive" not in forms:
        raise InvalidRequest(ADAPTIVE_REFUSED)
    if sent == "disabled":
        if "disabled" not in forms:
            if "between_tools" in forms:
                raise InvalidRequest(DISABLED_REFUSED_BETWEEN_TOOLS)
            if profile.thinking.default == "adaptive":
                raise InvalidRequest(DISABLED_REFUSED)
        elif not profile.thinking_off_allowed(effort):  # type: ignore[arg-type]
            # Not documented wording.
            raise InvalidRequest(
                f'"thinking.type.disabled" is not supported at effort "{effort}" on this model. '
                'Use effort "low", "medium" or "high" to turn thinking off.'
            )
    if sent == "between_tools":
        if "between_tools" not in forms:
            # Not documented wording (reported from the live API).
            raise InvalidRequest('"thinking.type.between_tools" is not supported for this model.')
        if not profile.between_tools_allowed(effort):  # type: ignore[arg-type]
            # Not documented wording.
            raise InvalidRequest(
                f'"thinking.type.between_tools" is not supported at effort "{effort}". Use '
                '"thinking.type.adaptive" to run at effort "xhigh" or "max".'
            )
    budget = getattr(request.thinking, "budget_tokens", None)
    if budget is not None and budget >= request.max_tokens:
        raise InvalidRequest("max_tokens: must be greater than thinking.budget_tokens")
    display = request.thinking_display()
    # (Budget thinking's display is the older one, accepted wherever budgets are.)
    if sent == "adaptive" and display not in (None, "updates", *profile.thinking.display):
        raise InvalidRequest(f"thinking.display: {display!r} is not supported for this model.")
    return sent


def _check_effort(request: MessagesRequest, profile: ModelProfile, thinking: str) -> None:
    effort = request.effort()
    if effort is None:
        return
    if not profile.efforts:
        # Not documented wording: effort is absent from these models' supported list.
        raise InvalidRequest("output_config.effort: effort is not supported for this model.")
    if effort not in profile.efforts:
        raise InvalidRequest(
            "output_config.effort: Input should be " + ", ".join(repr(e) for e in profile.efforts)
        )


def _check_tool_choice(request: MessagesRequest, profile: ModelProfile, thinking: str) -> None:
    if not request.forces_tool():
        return
    if not profile.forced_tool_choice:
        raise InvalidRequest(FORCED_TOOL_REFUSED)
    if thinking == "enabled":
        raise InvalidRequest(THINKING_WITH_FORCED_TOOL)


def _check_sampling(request: MessagesRequest, profile: ModelProfile) -> None:
    # Wording not documented for these models; reported from the live API for their
    # predecessors ("`temperature` is deprecated for this model.").
    if profile.sampling == "one_of":
        if request.temperature is not None and request.top_p is not None:
            raise InvalidRequest(
                "`temperature` and `top_p` cannot both be specified for this model. "
                "Please use only one."
            )
        return
    defaults = {"temperature": 1.0, "top_p": 0.99} if profile.family == "haiku" else {}
    sent = {
        name: value
        for name, value in (
            ("temperature", request.temperature),
            ("top_p", request.top_p),
            ("top_k", request.top_k),
        )
        if value is not None
    }
    if len(sent) > 1:
        raise InvalidRequest(f"`{next(iter(sent))}` is deprecated for this model.")
    for name, value in sent.items():
        if defaults.get(name) != value:
            raise InvalidRequest(f"`{name}` is deprecated for this model.")


# What structured outputs accept, as the SDK's own schema rewriter keeps it; other keywords
# (lengths, bounds, patterns) must move into descriptions.
_SCHEMA_KEYS = frozenset(
    {
        "type", "properties", "required", "additionalProperties", "items", "enum", "const",
        "anyOf", "allOf", "$ref", "$defs", "definitions", "description", "title", "default",
        "format", "minItems",
    }
)  # fmt: skip
_FORMATS = frozenset(
    {"date-time", "time", "date", "duration", "email", "hostname", "uri", "ipv4", "ipv6", "uuid"}
)


def _check_output_format(request: MessagesRequest, profile: ModelProfile) -> None:
    schema = request.answer_schema()
    if schema is None:
        return
    if not profile.structured_outputs:
        raise InvalidRequest(
            "output_config.format: structured outputs are not supported for this model."
        )
    problem = _schema_problem(schema, "output_config.format.schema")
    if problem:
        raise InvalidRequest(problem)


def _schema_problem(schema: Any, where: str) -> str | None:
    if isinstance(schema, list):
        for index, item in enumerate(schema):
            found = _schema_problem(item, f"{where}.{index}")
            if found:
                return found
        return None
    if not isinstance(schema, dict):
        return None
    for key, value in schema.items():
        if key in {"properties", "$defs", "definitions"} and isinstance(value, dict):
            for name, sub in value.items():
                found = _schema_problem(sub, f"{where}.{key}.{name}")
                if found:
                    return found
            continue
        if key not in _SCHEMA_KEYS:
            return f"{where}: '{key}' is not supported in structured output schemas"
        if key == "format" and value not in _FORMATS:
            return f"{where}: format '{value}' is not supported"
        if key == "minItems" and value not in (0, 1):
            return f"{where}: minItems values other than 0 or 1 are not supported"
        if key in {"items", "anyOf", "allOf"}:
            found = _schema_problem(value, f"{where}.{key}")
            if found:
                return found
    if schema.get("type") == "object" and schema.get("additionalProperties") is not False:
        return f"{where}: For 'object' type, 'additionalProperties' must be explicitly set to false"
    return None


def _check_tools(request: MessagesRequest) -> None:
    names = [tool.name for tool in request.tools or []]
    if len(names) != len(set(names)):
        raise InvalidRequest("tools: Tool names must be unique.")
    if isinstance(request.tool_choice, ToolChoiceTool) and request.tool_choice.name not in names:
        raise InvalidRequest(
            f"tool_choice.name: tool {request.tool_choice.name!r} is not one of the offered tools"
        )


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


# --- thinking blocks ------------------------------------------------------------------------


def _plain(value: Any) -> Any:
    """A value as it is bound: no cache markers (moving them keeps blocks valid), no nulls."""
    if isinstance(value, dict):
        return {k: _plain(v) for k, v in value.items() if k != "cache_control" and v is not None}
    if isinstance(value, list):
        return [_plain(v) for v in value]
    return value


def _unthought(blocks: list[Any]) -> list[Any]:
    # Thinking blocks are left out of the bound prefix: dropping a leading run of old ones
    # is allowed and keeps later blocks valid.
    return [
        _plain(b.model_dump(mode="json", by_alias=True))
        for b in blocks
        if not isinstance(b, ThinkingBlock | RedactedThinkingBlock)
    ]


def prefix_digest(request: MessagesRequest, messages: list[Message], preceding: list[Any]) -> str:
    """The conversation a block is bound to: system, tools, earlier turns and the blocks of
    its own turn before it."""
    bound = {
        "system": [b.text for b in request.system_blocks()],
        "tools": [_plain(t.model_dump(mode="json", by_alias=True)) for t in request.tools or []],
        "messages": [
            {"role": m.role, "content": _unthought(m.blocks())}
            for m in messages
            if _unthought(m.blocks())
        ],
        "turn": _unthought(preceding),
    }
    return hashlib.sha256(canonical_json(bound).encode()).hexdigest()[:32]


def _mac(*parts: str) -> str:
    digest = hmac.new(_SECRET, "\x1f".join(parts).encode("utf-8"), hashlib.sha256).digest()
    return base64.b64encode(digest).decode("ascii")


def sign(text: str, *, model: str, account: str, prefix: str) -> str:
    """A signature binding `text` to the model, account and conversation prefix."""
    envelope = {"m": model, "a": account, "p": prefix, "h": _mac(model, account, prefix, text)}
    return base64.b64encode(canonical_json(envelope).encode()).decode("ascii")


def redacted(text: str, *, model: str, account: str, prefix: str) -> str:
    payload = base64.b64encode(text.encode("utf-8")).decode("ascii")
    return (
        f"{_REDACTED_PREFIX}{payload}.{sign(payload, model=model, account=account, prefix=prefix)}"
    )


def _envelope(signature: str) -> dict[str, str] | None:
    try:
        found = json.loads(base64.b64decode(signature, validate=True))
    except ValueError:
        return None
    if not isinstance(found, dict) or not all(isinstance(found.get(k), str) for k in "maph"):
        return None
    return found


def _check_thinking_blocks(
    request: MessagesRequest, checked: Checked, *, account: str, betas: frozenset[str]
) -> None:
    binding = None
    if (
        request.thinking is not None
        and request.thinking.type == "adaptive"
        and request.thinking.block_binding
    ):
        if BINDING_BETA not in betas:
            raise InvalidRequest("thinking.block_binding: Extra inputs are not permitted")
        binding = request.thinking.block_binding.prefix_mismatch_behavior
    latest = max((i for i, m in enumerate(request.messages) if m.role == "assistant"), default=-1)
    for index, message in enumerate(request.messages):
        if message.role != "assistant":
            continue
        blocks = message.blocks()
        for position, block in enumerate(blocks):
            if not isinstance(block, ThinkingBlock | RedactedThinkingBlock):
                continue
            where = f"messages.{index}.content.{position}"
            text, signature = _signed_parts(block, where)
            envelope = _envelope(signature)
            if envelope is None or not hmac.compare_digest(
                envelope["h"], _mac(envelope["m"], envelope["a"], envelope["p"], text)
            ):
                if index == latest:
                    raise InvalidRequest(f"{where}: {LATEST_MODIFIED}")
                if isinstance(block, RedactedThinkingBlock):
                    raise InvalidRequest(f"{where}: Invalid `data` in `redacted_thinking` block")
                raise InvalidRequest(f"{where}: Invalid `signature` in `thinking` block")
            reason = _unreadable(envelope, checked.profile, request.model, account)
            bound = reason is None and _prefix_bound(envelope["m"])
            if bound and envelope["p"] != prefix_digest(
                request, request.messages[:index], blocks[:position]
            ):
                if binding != "drop_block":
                    suffix = "" if BINDING_BETA in betas else f" {BINDING_NEEDS_BETA}"
                    raise InvalidRequest(f"{where}: {BOUND_ELSEWHERE}{suffix}")
                reason = "prefix_binding_mismatch"
            if reason is not None:
                checked.dropped.append((index, position, reason))
    if checked.thinking == "enabled":
        _check_tool_loop_starts_with_thinking(request)
    elif not checked.thinks:
        _check_no_thinking_in_final_assistant(request)


def _signed_parts(block: ThinkingBlock | RedactedThinkingBlock, where: str) -> tuple[str, str]:
    if isinstance(block, ThinkingBlock):
        if block.signature is None:
            raise InvalidRequest(f"{where}.thinking.signature: Field required")
        return block.thinking, block.signature
    payload, _, signature = block.data.removeprefix(_REDACTED_PREFIX).rpartition(".")
    if not block.data.startswith(_REDACTED_PREFIX) or not payload:
        raise InvalidRequest(f"{where}: Invalid `data` in `redacted_thinking` block")
    return payload, signature


def _prefix_bound(model: str) -> bool:
    writer = registry().get(model)
    return writer is not None and writer.thinking.prefix_bound


def _unreadable(
    envelope: dict[str, str], reader: ModelProfile, model: str, account: str
) -> str | None:
    """Why the model reading this request drops the block, or None if it reads it. Dropping
    is silent, as the real API does it: the request succeeds without that reasoning."""
    writer = registry().get(envelope["m"])
    if envelope["m"] != model and (writer is None or writer.id not in reader.thinking.reads_from):
        return "model_binding_mismatch"
    if writer is not None and writer.thinking.account_bound and envelope["a"] != account:
        return "organization_binding_mismatch"
    return None


def _check_tool_loop_starts_with_thinking(request: MessagesRequest) -> None:
    """With budget thinking, the assistant turn continued by tool results must open with its
    thinking: the model's reasoning for the call is part of the turn being continued."""
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


def drop_blocks(request: MessagesRequest, dropped: list[tuple[int, int, str]]) -> MessagesRequest:
    """The request as the model sees it: the dropped thinking blocks removed."""
    if not dropped:
        return request
    gone = {(i, j) for i, j, _ in dropped}
    messages = [
        m.model_copy(
            update={"content": [b for j, b in enumerate(m.blocks()) if (i, j) not in gone]}
        )
        for i, m in enumerate(request.messages)
    ]
    return request.model_copy(update={"messages": messages})
