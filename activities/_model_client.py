"""The Anthropic client every model activity uses, and the record of each call.

`max_retries=0`: Temporal owns retries (see `_failures`). The same code talks to Claude or to
the offline stand-in; only the base URL differs.
"""

from __future__ import annotations

import time
from functools import lru_cache
from typing import Any

import anthropic
from anthropic.types import Message
from opentelemetry import trace

from activities._failures import classify
from ledgerd import metrics
from ledgerd.config import Settings
from ledgerd.contracts import RunRef, Usage
from ledgerd.db import Pool
from ledgerd.prompts import Prompt


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
        timeout=120.0,
        # The SDK's own GenAI spans (not the separate instrumentation package as well: one
        # source of model spans). Message content stays out unless explicitly switched on.
        open_telemetry={
            "traces": {
                "enabled": True,
                "content_mode": "content" if capture_content else "metadata_only",
            }
        },
    )


def with_cache_breakpoints(
    prompt: Prompt, tools: list[dict[str, Any]]
) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    """Mark the stable prefix (tools, then system prompt) cacheable: it is identical on every
    turn of every run of a daemon, so only the conversation is billed at full price."""
    system = [{"type": "text", "text": prompt.text, "cache_control": {"type": "ephemeral"}}]
    if tools:
        tools = [*tools[:-1], {**tools[-1], "cache_control": {"type": "ephemeral"}}]
    return system, tools


def usage_of(message: Message) -> Usage:
    u = message.usage
    return Usage(
        input_tokens=u.input_tokens,
        output_tokens=u.output_tokens,
        cache_read_tokens=u.cache_read_input_tokens or 0,
        cache_creation_tokens=u.cache_creation_input_tokens or 0,
    )


async def call_model(
    settings: Settings,
    *,
    role: str,
    prompt: Prompt,
    messages: list[dict[str, Any]],
    tools: list[dict[str, Any]],
    tool_choice: dict[str, Any] | None = None,
    thinking: bool = False,
) -> tuple[Message, int]:
    """One Messages API call; returns the message and its latency in milliseconds."""
    system, cached_tools = with_cache_breakpoints(prompt, tools)
    options: dict[str, Any] = {}
    if tool_choice is not None:
        options["tool_choice"] = tool_choice
    max_tokens = settings.model_max_tokens
    if thinking and settings.planner_thinking_tokens:
        options["thinking"] = {"type": "enabled", "budget_tokens": settings.planner_thinking_tokens}
        max_tokens += settings.planner_thinking_tokens
    # The prompt's version on the step's span, so a trace compares runs by the exact text.
    span = trace.get_current_span()
    span.set_attribute("ledgerd.prompt.name", prompt.name)
    span.set_attribute("ledgerd.prompt.version", prompt.version)
    started = time.monotonic()
    try:
        message = await model_client(settings).messages.create(
            model=settings.model_for(role),
            max_tokens=max_tokens,
            system=system,  # type: ignore[arg-type]
            messages=messages,  # type: ignore[arg-type]
            tools=cached_tools,  # type: ignore[arg-type]
            **options,
        )
    except anthropic.APIError as error:
        raise classify(error) from error
    return message, int((time.monotonic() - started) * 1000)


async def record_call(
    pool: Pool, ref: RunRef, turn: int, role: str, prompt: Prompt, message: Message, latency_ms: int
) -> None:
    usage = usage_of(message)
    # Metrics first: the call happened (and is billed) even if the row below fails.
    metrics.record_model_call(
        model=message.model,
        role=role,
        daemon=metrics.daemon_of_prompt(prompt.name),
        usage=usage,
        latency_ms=latency_ms,
    )
    async with pool.connection() as conn:
        await conn.execute(
            """INSERT INTO model_calls (run_id, thread, turn, role, model, prompt_name,
                   prompt_version, request_id, stop_reason, input_tokens, output_tokens,
                   cache_read_tokens, cache_creation_tokens, latency_ms)
               VALUES (%s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s)
               ON CONFLICT (run_id, thread, turn) DO UPDATE SET
                   request_id = EXCLUDED.request_id, stop_reason = EXCLUDED.stop_reason,
                   input_tokens = EXCLUDED.input_tokens, output_tokens = EXCLUDED.output_tokens,
                   latency_ms = EXCLUDED.latency_ms""",
            (
                ref.run_id,
                ref.thread,
                turn,
                role,
                message.model,
                prompt.name,
                prompt.version,
                getattr(message, "_request_id", None),
                message.stop_reason,
                usage.input_tokens,
                usage.output_tokens,
                usage.cache_read_tokens,
                usage.cache_creation_tokens,
                latency_ms,
            ),
        )


def content_blocks(message: Message) -> list[dict[str, Any]]:
    """The assistant content exactly as returned, so thinking blocks go back unchanged."""
    return [block.model_dump(mode="json", exclude_none=True) for block in message.content]
