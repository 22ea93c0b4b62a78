"""A structured answer (a plan, a verdict) from a model, however that model can give one.

The 5.5 Opus and Sonnet models refuse forced tool choice, so "force the `submit_plan` tool"
no longer works everywhere. The registry decides per model and role (`AnswerMode`): forced
tool choice where allowed and thinking is not wanted, else structured outputs, else the tool
offered with `auto`. Whatever the mode, the answer is validated here, and an invalid or
missing one is repaired once, in the same thread, with what was wrong: appended, never
rewritten, so thinking blocks stay valid. Every `tool_use` of a reply gets its
`tool_result`, the used one and any extra ones alike.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Generic, TypeVar

from pydantic import BaseModel, ValidationError

from activities._model_client import ModelReply, converse
from ledgerd import transcript
from ledgerd.config import Settings
from ledgerd.contracts import RunRef, Usage
from ledgerd.db import Pool
from ledgerd.model_registry import AnswerMode, AnswerTool, shape_for
from ledgerd.prompts import Prompt

T = TypeVar("T", bound=BaseModel)
# One try and two repairs: a reply whose tool input is mangled is rare and seldom repeats,
# and a daemon that gives up its plan or its verdict costs far more than one more call.
ATTEMPTS = 3


@dataclass
class Structured(Generic[T]):
    value: T | None
    problems: list[str] = field(default_factory=list)
    usage: Usage = field(default_factory=Usage)
    model: str = "?"
    calls: int = 0
    refusal: dict[str, object] | None = None


def _problems_of(
    model_type: type[T], data: object, check: Callable[[T], list[str]]
) -> tuple[T | None, list[str]]:
    try:
        value = model_type.model_validate(data)
    except ValidationError as error:
        return None, [
            f"{'.'.join(str(p) for p in item['loc']) or 'answer'}: {item['msg']}"
            for item in error.errors()
        ]
    problems = check(value)
    return (None, problems) if problems else (value, [])


async def structured_answer(
    settings: Settings,
    pool: Pool,
    *,
    ref: RunRef,
    first_turn: int,
    role: str,
    prompt: Prompt,
    answer: AnswerTool,
    model_type: type[T],
    check: Callable[[T], list[str]] = lambda _: [],
    accepted: str = "Accepted.",
) -> Structured[T]:
    """Ask at `first_turn` (the thread's user message must be before it); repair at
    `first_turn + 2` and `+ 4`, each after the feedback written at the turn before it."""
    mode = shape_for(settings.role_settings(role), answer=answer).answer_mode
    result: Structured[T] = Structured(value=None)
    for turn in range(first_turn, first_turn + 2 * ATTEMPTS, 2):
        reply = await converse(
            settings, pool, ref=ref, turn=turn, role=role, prompt=prompt, tools=[], answer=answer
        )
        result.usage += reply.usage
        result.model = reply.model
        result.calls += 1
        if reply.stop_reason == "refusal":
            # A classifier declined: asking again gets the same answer, so never loop on it.
            result.refusal = reply.stop_details or {"category": None}
            result.problems = [f"the model declined to answer ({_category(reply)})"]
            await _answer_tool_uses(pool, ref, turn, reply, None, "Declined.")
            return result
        value, problems, used = _read(reply, mode, answer.name, model_type, check)
        if value is not None:
            result.value, result.problems = value, []
            await _answer_tool_uses(pool, ref, turn, reply, used, accepted)
            return result
        result.problems = problems
        feedback = "Your answer was not usable: " + "; ".join(problems)
        if mode is AnswerMode.JSON_SCHEMA or used is None:
            await _answer_tool_uses(pool, ref, turn, reply, None, "Ignored.")
            text = f"{feedback}. Answer again" + (
                " with the JSON object only."
                if mode is AnswerMode.JSON_SCHEMA
                else f" by calling {answer.name}."
            )
            await transcript.append(
                pool, ref, turn + 1, 999, "user", [{"type": "text", "text": text}]
            )
        else:
            await _answer_tool_uses(pool, ref, turn, reply, used, feedback, error=True)
    return result


def _category(reply: ModelReply) -> str:
    details = reply.stop_details or {}
    return f"category {details.get('category') or 'unknown'}"


def _read(
    reply: ModelReply,
    mode: AnswerMode | None,
    name: str,
    model_type: type[T],
    check: Callable[[T], list[str]],
) -> tuple[T | None, list[str], str | None]:
    """(the valid answer, or None and what is wrong, and the tool_use id that was read)."""
    if not reply.complete:
        return None, ["the reply was cut off at max_tokens; be brief"], None
    if mode is AnswerMode.JSON_SCHEMA:
        try:
            data = json.loads(reply.text)
        except json.JSONDecodeError as error:
            return None, [f"the reply is not one JSON object ({error.msg})"], None
        value, problems = _problems_of(model_type, data, check)
        return value, problems, None
    calls = [b for b in reply.tool_uses() if b.get("name") == name]
    if not calls:
        return None, [f"the reply did not call {name}"], None
    value, problems = _problems_of(model_type, calls[0].get("input"), check)
    return value, problems, str(calls[0]["id"])


async def _answer_tool_uses(
    pool: Pool,
    ref: RunRef,
    turn: int,
    reply: ModelReply,
    used: str | None,
    text: str,
    *,
    error: bool = False,
) -> None:
    """A tool_result for every tool_use of the reply: `text` for the one read, and a note
    for any other, which the API would otherwise refuse on the next request."""
    entries = []
    for position, block in enumerate(reply.tool_uses(), start=1):
        is_used = block["id"] == used
        result: dict[str, object] = {
            "type": "tool_result",
            "tool_use_id": block["id"],
            "content": text if is_used else "Ignored: only one answer is read per reply.",
        }
        if error or not is_used:
            result["is_error"] = True
        entries.append(transcript.Entry(turn + 1, position, "user", [result]))
    if entries:
        await transcript.append_all(pool, ref, *entries)
