"""The Anthropic client every model activity uses, and one idempotent model turn.

`max_retries=0`: Temporal owns retries (see `_failures`). The same code talks to Claude or to
the offline stand-in; only the base URL differs. What a request carries for its model comes
from the model registry (`ledgerd.model_registry`), never from checks scattered here.

A model turn is idempotent per (thread, turn): an attempt that finds the turn's reply already
stored (the previous attempt died after the call) uses it instead of calling again, so a
retried activity sends exactly the conversation a first attempt would have. Every call that
was made keeps its own cost row (keyed by attempt), written before the reply, so a billed
call is never lost or overwritten.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import time
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from functools import lru_cache
from typing import Any

import anthropic
from anthropic.types import Message
from opentelemetry import trace
from psycopg.types.json import Jsonb
from temporalio import activity
from temporalio.exceptions import ApplicationError

from activities._failures import classify
from ledgerd import metrics, transcript
from ledgerd.config import Settings
from ledgerd.contracts import RunRef, Usage
from ledgerd.db import Conn, Pool
from ledgerd.model_registry import AnswerTool, RequestShape, request_fields, shape_for
from ledgerd.prompts import Prompt

# Between two bytes of a stream: the API sends pings while a model thinks, so a silent
# connection this long is a stall, retried by Temporal rather than waited on.
_READ_TIMEOUT_SECONDS = 90.0
_HEARTBEAT_SECONDS = 10.0


def model_client(settings: Settings) -> anthropic.AsyncAnthropic:
    return _client(
        settings.model_base_url, settings.model_api_key, settings.capture_message_content
    )


@lru_cache(maxsize=4)
def _client(base_url: str, api_key: str, capture_content: bool) -> anthropic.AsyncAnthropic:
    # One client (and connection pool) per endpoint, shared by every activity of the worker.
    return anthropic.AsyncAnthropic(
        base_url=base_url,
        api_key=api_key,
        max_retries=0,
        timeout=anthropic.Timeout(_READ_TIMEOUT_SECONDS, connect=10.0),
        # The SDK's own GenAI spans (not the separate instrumentation package as well: one
        # source of model spans). Message content stays out unless explicitly switched on.
        open_telemetry={
            "traces": {
                "enabled": True,
                "content_mode": "content" if capture_content else "metadata_only",
            }
        },
    )


def usage_of(message: Message) -> Usage:
    u = message.usage
    creation = getattr(u, "cache_creation", None)
    return Usage(
        input_tokens=u.input_tokens,
        output_tokens=u.output_tokens,
        cache_read_tokens=u.cache_read_input_tokens or 0,
        cache_creation_tokens=u.cache_creation_input_tokens or 0,
        cache_creation_1h_tokens=(getattr(creation, "ephemeral_1h_input_tokens", 0) or 0),
    )


def content_blocks(message: Message) -> list[dict[str, Any]]:
    """The assistant content exactly as returned, so thinking blocks go back unchanged."""
    blocks = []
    for block in message.content:
        dumped = block.model_dump(mode="json", exclude_none=True)
        dumped.pop("parsed_output", None)  # the SDK's own convenience, not wire content
        blocks.append(dumped)
    return blocks


def summary_text(content: list[dict[str, Any]], limit: int = 300) -> str:
    """What the model said: its text, and the narration that the 5.5 models return inside
    (summarised) thinking blocks between tool calls."""
    parts = [
        block.get("text") or block.get("thinking") or ""
        for block in content
        if block.get("type") in {"text", "thinking"}
    ]
    return " ".join(" ".join(p.split()) for p in parts if p.strip())[:limit]


@dataclass(frozen=True)
class ModelReply:
    """One turn's reply, freshly from the model or as an earlier attempt stored it."""

    content: list[dict[str, Any]]
    stop_reason: str
    model: str
    usage: Usage = field(default_factory=Usage)
    stop_details: dict[str, Any] | None = None
    reused: bool = False

    def tool_uses(self) -> list[dict[str, Any]]:
        return [b for b in self.content if b.get("type") == "tool_use"]

    @property
    def text(self) -> str:
        return "".join(b.get("text", "") for b in self.content if b.get("type") == "text")

    @property
    def complete(self) -> bool:
        """False when the reply was cut off: its last tool call may hold partial input."""
        return self.stop_reason not in {"max_tokens", "model_context_window_exceeded"}


@contextlib.asynccontextmanager
async def _heartbeats() -> AsyncIterator[None]:
    """Tell Temporal the worker is alive while a long generation streams."""
    if not activity.in_activity():
        yield
        return

    async def beat() -> None:
        while True:
            activity.heartbeat()
            await asyncio.sleep(_HEARTBEAT_SECONDS)

    task = asyncio.create_task(beat())
    try:
        yield
    finally:
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await task


async def call_model(
    settings: Settings, fields: dict[str, Any], deadline_seconds: float
) -> tuple[Message, int]:
    """One streamed Messages API call; returns the message and its latency in milliseconds.

    Always streamed: the SDK refuses long non-streaming requests, and a stream shows a stall
    (read timeout) long before a whole generation could be waited for."""
    started = time.monotonic()
    client = model_client(settings)
    try:
        async with (
            _heartbeats(),
            asyncio.timeout(deadline_seconds),
            client.messages.stream(**fields) as stream,
        ):
            message = await stream.get_final_message()
    except anthropic.APIError as error:
        raise classify(error) from error
    except TimeoutError:
        raise ApplicationError(
            f"model call took longer than {deadline_seconds:.0f}s (its max_tokens allows)",
            type="ModelDeadlineExceeded",
        ) from None
    return message, int((time.monotonic() - started) * 1000)


async def converse(
    settings: Settings,
    pool: Pool,
    *,
    ref: RunRef,
    turn: int,
    role: str,
    prompt: Prompt,
    tools: list[dict[str, Any]],
    answer: AnswerTool | None = None,
) -> ModelReply:
    """The model's reply for `turn` of the thread `ref`, asked at most once per turn."""
    role_settings = settings.role_settings(role)
    shape = shape_for(role_settings, answer=answer)
    stored, messages = await transcript.read_turn(pool, ref, turn, for_model=shape.model)
    if stored is not None:
        return await _reused(pool, ref, turn, stored)
    if not messages or messages[-1]["role"] != "user":
        raise ApplicationError(
            f"thread {ref.thread} turn {turn}: the conversation must end with a user message",
            type="ConversationOutOfOrder",
            non_retryable=True,
        )
    fields = request_fields(
        shape, system=prompt.text, messages=messages, tools=tools, answer=answer
    )
    # The prompt's version on the step's span, so a trace compares runs by the exact text.
    span = trace.get_current_span()
    span.set_attribute("ledgerd.prompt.name", prompt.name)
    span.set_attribute("ledgerd.prompt.version", prompt.version)
    message, latency = await call_model(settings, fields, shape.deadline_seconds)
    reply = ModelReply(
        content=content_blocks(message),
        stop_reason=message.stop_reason or "end_turn",
        model=message.model,
        usage=usage_of(message),
        stop_details=_details(message),
    )
    # Metrics first: the call happened (and is billed) even if the rows below fail.
    metrics.record_model_call(
        model=reply.model,
        role=role,
        daemon=metrics.daemon_of_prompt(prompt.name),
        usage=reply.usage,
        latency_ms=latency,
    )
    # The cost row is committed on its own, first: if the reply below is never stored, the
    # retry calls again and bills again, and both calls stay on record.
    async with pool.connection() as conn:
        await _record_call(conn, ref, turn, role, prompt, shape, message, reply, latency)
    await transcript.append_all(
        pool, ref, transcript.Entry(turn, 0, "assistant", reply.content, model=shape.model)
    )
    return reply


def _details(message: Message) -> dict[str, Any] | None:
    details = getattr(message, "stop_details", None)
    if details is None:
        return None
    dumped = details.model_dump(mode="json") if hasattr(details, "model_dump") else details
    return dict(dumped) if isinstance(dumped, dict) else {"value": dumped}


def _attempt() -> int:
    return activity.info().attempt if activity.in_activity() else 1


async def _record_call(
    conn: Conn,
    ref: RunRef,
    turn: int,
    role: str,
    prompt: Prompt,
    shape: RequestShape,
    message: Message,
    reply: ModelReply,
    latency_ms: int,
) -> None:
    usage = reply.usage
    await conn.execute(
        """INSERT INTO model_calls (run_id, thread, turn, attempt, role, model, prompt_name,
               prompt_version, request_id, stop_reason, stop_details, input_tokens,
               output_tokens, cache_read_tokens, cache_creation_tokens,
               cache_creation_1h_tokens, latency_ms, request_shape)
           VALUES (%s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s)
           ON CONFLICT (run_id, thread, turn, attempt) DO NOTHING""",
        (
            ref.run_id,
            ref.thread,
            turn,
            _attempt(),
            role,
            reply.model,
            prompt.name,
            prompt.version,
            getattr(message, "_request_id", None),
            reply.stop_reason,
            Jsonb(reply.stop_details) if reply.stop_details else None,
            usage.input_tokens,
            usage.output_tokens,
            usage.cache_read_tokens,
            usage.cache_creation_tokens,
            usage.cache_creation_1h_tokens,
            latency_ms,
            shape.describe(),
        ),
    )


async def _reused(pool: Pool, ref: RunRef, turn: int, stored: dict[str, Any]) -> ModelReply:
    """An earlier attempt's reply, with the record of the call that produced it."""
    async with pool.connection() as conn:
        cursor = await conn.execute(
            """SELECT model, stop_reason, stop_details, input_tokens, output_tokens,
                      cache_read_tokens, cache_creation_tokens, cache_creation_1h_tokens
               FROM model_calls WHERE run_id = %s AND thread = %s AND turn = %s
               ORDER BY attempt DESC LIMIT 1""",
            (ref.run_id, ref.thread, turn),
        )
        row = await cursor.fetchone()
    content = list(stored["content"])
    if row is None:  # written by hand (a test) or before calls were recorded
        return ModelReply(
            content=content, stop_reason="end_turn", model=stored["model"] or "?", reused=True
        )
    return ModelReply(
        content=content,
        stop_reason=row["stop_reason"] or "end_turn",
        model=row["model"],
        # The attempt that was billed never reported to the workflow (it failed after the
        # call), so its usage is reported now, once, for the run's budget.
        usage=Usage(
            input_tokens=row["input_tokens"],
            output_tokens=row["output_tokens"],
            cache_read_tokens=row["cache_read_tokens"],
            cache_creation_tokens=row["cache_creation_tokens"],
            cache_creation_1h_tokens=row["cache_creation_1h_tokens"],
        ),
        stop_details=row["stop_details"],
        reused=True,
    )


def parse_json_answer(reply: ModelReply) -> Any:
    """The JSON object a structured-output reply holds in its text."""
    return json.loads(reply.text)
