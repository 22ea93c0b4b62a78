"""What ledgerd sends to one model in one role, decided from the model's profile.

Two steps, so that a setting the model cannot honour fails at start-up and never on a run:
`role_problems` names what is wrong with a role's settings for its model (configuration
calls it), and `shape_for` turns valid settings into the request's model-specific fields.
Conversation content is not decided here; `request_fields` only adds these fields and the
cache breakpoints to the conversation the caller brings.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from enum import StrEnum
from typing import Any, Literal

import anthropic

from ledgerd.model_registry._profile import Effort, ModelProfile, profile_for

ThinkingSetting = Literal["on", "off", "between_tools"]
Role = Literal["planner", "executor", "judge"]

# Room for thinking plus the answer; a model's own maximum caps it. The 5.5 models count
# thinking toward max_tokens, and at high effort a small limit ends a turn before it answers.
ROLE_MAX_TOKENS: dict[Role, int] = {"planner": 32_000, "executor": 32_000, "judge": 16_000}
# The SDK's own estimate of how long an output may take (128,000 tokens an hour), which it
# uses to refuse long non-streaming calls; ledgerd streams, and bounds the whole call by it.
_SECONDS_PER_OUTPUT_TOKEN = 3600 / 128_000
_DEADLINE_SLACK_SECONDS = 60.0
MAX_CACHE_BREAKPOINTS = 4


class AnswerMode(StrEnum):
    """How a structured answer (a plan, a verdict) is asked for."""

    FORCED_TOOL = "forced_tool"  # tool_choice names the answer tool: no repair ever needed
    JSON_SCHEMA = "json_schema"  # output_config.format: the reply text is the JSON
    AUTO_TOOL = "auto_tool"  # the tool is offered with `auto`; a reply without it is repaired


@dataclass(frozen=True)
class RoleSettings:
    """One role's configuration, as the variables `LEDGERD_<ROLE>_*` give it."""

    role: Role
    model: str
    effort: Effort | None = None
    thinking: ThinkingSetting | None = None
    max_tokens: int | None = None

    @property
    def variables(self) -> str:
        return f"LEDGERD_{self.role.upper()}"


@dataclass(frozen=True)
class RequestShape:
    """The model-specific part of every request one role sends."""

    model: str
    max_tokens: int
    thinking: dict[str, Any] | None
    effort: Effort | None
    answer_mode: AnswerMode | None
    min_cache_tokens: int
    deadline_seconds: float

    def describe(self) -> str:
        """`adaptive (summarized), effort high`: what `ledgerd doctor` and the docs show."""
        thinking = "none sent" if self.thinking is None else str(self.thinking["type"])
        if self.thinking and "display" in self.thinking:
            thinking += f" ({self.thinking['display']})"
        if self.thinking and "budget_tokens" in self.thinking:
            thinking += f" ({self.thinking['budget_tokens']} tokens)"
        effort = self.effort or "model default"
        answer = f", answer by {self.answer_mode.value}" if self.answer_mode else ""
        return f"thinking {thinking}, effort {effort}, max_tokens {self.max_tokens}{answer}"


def role_problems(settings: RoleSettings) -> list[str]:
    """What the model cannot honour in these settings, each naming the variable to change."""
    profile = profile_for(settings.model)
    var = settings.variables
    problems: list[str] = []
    if profile.retired():
        problems.append(
            f"{var}_MODEL: {settings.model} was retired on {profile.retired_on}; "
            f"choose a current model (ledgerd models lists them)"
        )
    if not profile.known and (settings.effort or settings.thinking):
        problems.append(
            f"{var}_EFFORT / {var}_THINKING: {settings.model} is not in the model registry, so "
            "ledgerd cannot tell what it accepts; unset them or add the model to "
            "ledgerd/model_registry/registry.toml"
        )
        return problems
    if settings.effort is not None and settings.effort not in profile.efforts:
        allowed = (
            f"allowed: {', '.join(profile.efforts)}"
            if profile.efforts
            else "it takes no effort: unset it"
        )
        problems.append(
            f"{var}_EFFORT={settings.effort}: {settings.model} does not take that effort; {allowed}"
        )
    problems += _thinking_problems(profile, settings)
    if settings.max_tokens is not None and settings.max_tokens > profile.max_output:
        problems.append(
            f"{var}_MAX_TOKENS={settings.max_tokens}: {settings.model} writes at most "
            f"{profile.max_output} output tokens"
        )
    budget = profile.thinking.budget
    if _thinking_form(profile, settings) == "enabled" and budget is not None:
        limit = _max_tokens(profile, settings)
        if limit <= budget:
            problems.append(
                f"{var}_MAX_TOKENS={limit}: must exceed the thinking budget of {budget} tokens "
                f"that {settings.model} needs with {var}_THINKING=on"
            )
    return problems


def _thinking_problems(profile: ModelProfile, settings: RoleSettings) -> list[str]:
    var, model, effort = settings.variables, settings.model, settings.effort
    forms = profile.thinking.forms
    # Only where the effort decides it (a model that can turn thinking off at some efforts).
    at = f" at effort {effort or 'default'}" if "disabled" in forms else ""
    if settings.thinking == "on" and not {"adaptive", "enabled"} & set(forms):
        return [f"{var}_THINKING=on: {model} cannot think; allowed: off"]
    if settings.thinking == "off" and not profile.thinking_off_allowed(effort):
        if profile.thinking.default == "off" and "disabled" not in forms:
            return []  # never thinks: nothing to turn off
        if "disabled" in forms:
            hint = (
                f"lower {var}_EFFORT to one of {', '.join(profile.thinking.disabled_efforts or ())}"
            )
        elif "between_tools" in forms:
            hint = f"use {var}_THINKING=between_tools, its lowest setting"
        else:
            hint = f"thinking is always on; lower {var}_EFFORT instead"
        return [f"{var}_THINKING=off: {model} cannot turn thinking off{at}; {hint}"]
    if settings.thinking == "between_tools" and not profile.between_tools_allowed(effort):
        if "between_tools" in forms:
            allowed = ", ".join(profile.thinking.between_tools_efforts or ())
            return [
                f"{var}_THINKING=between_tools: {model} accepts it only at effort {allowed}; "
                f"set {var}_EFFORT to one of them or use {var}_THINKING=on"
            ]
        return [f"{var}_THINKING=between_tools: {model} does not have it; allowed: on, off"]
    return []


def _thinking_form(profile: ModelProfile, settings: RoleSettings) -> str | None:
    """The `thinking.type` the settings ask for; None sends no thinking field."""
    forms = profile.thinking.forms
    if settings.thinking == "on":
        return "adaptive" if "adaptive" in forms else "enabled"
    if settings.thinking == "off":
        return "disabled" if "disabled" in forms else None
    if settings.thinking == "between_tools":
        return "between_tools"
    return "adaptive" if profile.thinking.default == "adaptive" else None


def _max_tokens(profile: ModelProfile, settings: RoleSettings) -> int:
    return settings.max_tokens or min(ROLE_MAX_TOKENS[settings.role], profile.max_output)


def answer_mode(profile: ModelProfile, settings: RoleSettings, *, free_form: bool) -> AnswerMode:
    """Forced tool choice where the model allows it and thinking is not wanted (it skips
    thinking, and is refused with a budget); otherwise structured outputs, which keep the
    thinking, if the answer's schema fits them; otherwise the tool with `auto` and one
    repair. A `free_form` schema (an object of any keys, such as a plan step's tool input)
    does not fit: structured outputs require every object to close its properties."""
    wants_thinking = settings.thinking == "on" or (
        settings.role == "planner" and settings.thinking != "off"
    )
    budget = _thinking_form(profile, settings) == "enabled"
    if profile.forced_tool_choice and not wants_thinking and not budget:
        return AnswerMode.FORCED_TOOL
    if profile.structured_outputs and not free_form:
        return AnswerMode.JSON_SCHEMA
    return AnswerMode.AUTO_TOOL


def shape_for(
    settings: RoleSettings,
    *,
    answer: AnswerTool | None = None,
    structured_answer: bool = False,
    free_form: bool = False,
) -> RequestShape:
    """The request fields for valid settings (check `role_problems` first). A role that
    answers in a structure names its `answer`; without the tool at hand, `structured_answer`
    and `free_form` (whether its schema has open objects) say the same."""
    if answer is not None:
        structured_answer, free_form = True, answer.free_form
    profile = profile_for(settings.model)
    mode = answer_mode(profile, settings, free_form=free_form) if structured_answer else None
    form = _thinking_form(profile, settings)
    if mode is AnswerMode.FORCED_TOOL and form != "disabled":
        form = None  # forcing the call skips thinking; send nothing that could conflict
    thinking: dict[str, Any] | None = None
    if form == "adaptive":
        thinking = {"type": "adaptive"}
        # Summaries, so narration between tool calls (thinking blocks on the 5.5 models)
        # reaches step summaries and the trace instead of arriving empty.
        if "summarized" in profile.thinking.display:
            thinking["display"] = "summarized"
    elif form == "enabled":
        thinking = {"type": "enabled", "budget_tokens": profile.thinking.budget}
    elif form is not None:
        thinking = {"type": form}
    max_tokens = _max_tokens(profile, settings)
    return RequestShape(
        model=settings.model,
        max_tokens=max_tokens,
        thinking=thinking,
        effort=settings.effort,
        answer_mode=mode,
        min_cache_tokens=profile.min_cache_tokens,
        deadline_seconds=_DEADLINE_SLACK_SECONDS + max_tokens * _SECONDS_PER_OUTPUT_TOKEN,
    )


@dataclass(frozen=True)
class AnswerTool:
    """A structured answer: the tool (or schema) the reply must fill."""

    name: str
    description: str
    schema: dict[str, Any]

    def tool(self) -> dict[str, Any]:
        return {"name": self.name, "description": self.description, "input_schema": self.schema}

    @property
    def free_form(self) -> bool:
        """Whether the schema has an object open to any keys, which structured outputs
        cannot express (they would force it empty)."""
        return _has_open_object(self.schema)


def _has_open_object(node: Any) -> bool:
    if isinstance(node, list):
        return any(_has_open_object(item) for item in node)
    if not isinstance(node, dict):
        return False
    if node.get("type") == "object" and (
        "properties" not in node or node.get("additionalProperties") not in (None, False)
    ):
        return True
    return any(_has_open_object(value) for value in node.values())


def request_fields(
    shape: RequestShape,
    *,
    system: str,
    messages: list[dict[str, Any]],
    tools: list[dict[str, Any]],
    answer: AnswerTool | None = None,
    cache_conversation: bool = True,
) -> dict[str, Any]:
    """The keyword arguments of one `messages.create`/`messages.stream` call."""
    tools = list(tools)
    output_config: dict[str, Any] = {}
    fields: dict[str, Any] = {"model": shape.model, "max_tokens": shape.max_tokens}
    if answer is not None:
        mode = shape.answer_mode or AnswerMode.AUTO_TOOL
        if mode is AnswerMode.JSON_SCHEMA:
            output_config["format"] = {
                "type": "json_schema",
                "schema": anthropic.transform_schema(answer.schema),
            }
        else:
            tools.append(answer.tool())
            if mode is AnswerMode.FORCED_TOOL:
                fields["tool_choice"] = {"type": "tool", "name": answer.name}
    if shape.effort is not None:
        output_config["effort"] = shape.effort
    if output_config:
        fields["output_config"] = output_config
    if shape.thinking is not None:
        fields["thinking"] = shape.thinking
    system_blocks, tools, messages = _with_cache_breakpoints(
        shape.min_cache_tokens, system, tools, messages, cache_conversation
    )
    fields["system"] = system_blocks
    if tools:
        fields["tools"] = tools
    fields["messages"] = messages
    return fields


def _estimated_tokens(value: Any) -> int:
    # About four characters a token; only used to decide whether a prefix reaches the
    # model's cacheable minimum, where a miss costs nothing but the saving.
    return len(json.dumps(value, separators=(",", ":"), default=str)) // 4


def _with_cache_breakpoints(
    min_tokens: int,
    system: str,
    tools: list[dict[str, Any]],
    messages: list[dict[str, Any]],
    cache_conversation: bool,
) -> tuple[list[dict[str, Any]], list[dict[str, Any]], list[dict[str, Any]]]:
    """Mark the prefixes that reach the model's minimum: tools, then system (the same on
    every turn of every run of a daemon), then the conversation so far (so each turn reads
    the previous turn's prefix). A prefix below the minimum is never cached, so marking it
    would only spend a breakpoint."""
    marked = 0
    size = _estimated_tokens(tools)
    if tools and size >= min_tokens:
        tools = [*tools[:-1], {**tools[-1], "cache_control": {"type": "ephemeral"}}]
        marked += 1
    size += _estimated_tokens(system)
    system_block: dict[str, Any] = {"type": "text", "text": system}
    if size >= min_tokens:
        system_block["cache_control"] = {"type": "ephemeral"}
        marked += 1
    if size < min_tokens:
        # Only the comparison matters: once the prefix reaches the minimum, sizing the
        # whole conversation again (every turn, so quadratic over a run) decides nothing.
        size += _estimated_tokens(messages)
    if (
        cache_conversation
        and messages
        and size >= min_tokens
        and marked < MAX_CACHE_BREAKPOINTS
        and isinstance(messages[-1].get("content"), list)
        and messages[-1]["content"]
    ):
        last = messages[-1]
        content = [
            *last["content"][:-1],
            {**last["content"][-1], "cache_control": {"type": "ephemeral"}},
        ]
        messages = [*messages[:-1], {**last, "content": content}]
    return [system_block], tools, messages
