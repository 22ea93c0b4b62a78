"""The append-only conversation of a daemon run, kept in PostgreSQL.

Entries are keyed by (run, thread, turn, position), numbers the workflow assigns
deterministically, so a retried activity overwrites its own entry instead of appending a
second copy, and parallel tool activities never race for a sequence number.

What goes back to a model is built here, by three rules the Messages API enforces:
- only what came before the turn being asked for is sent, so a request never ends with an
  assistant turn (the 5.5 models refuse that as a prefill);
- thinking blocks go back only to the model that wrote them (`model` of the entry);
- every `tool_use` is answered by a `tool_result` in the next user message.
"""

from __future__ import annotations

import json
import logging
from dataclasses import dataclass
from typing import Any

from psycopg.types.json import Jsonb

from ledgerd.contracts import RunRef
from ledgerd.db import Conn, Pool
from ledgerd.injection import OWN_TOOLS, spotlight

log = logging.getLogger("ledgerd.transcript")

_THINKING = frozenset({"thinking", "redacted_thinking"})
UNANSWERED = (
    "This call did not complete (its step failed or was interrupted); it was not run. "
    "Call it again if it is still needed."
)


@dataclass(frozen=True)
class Entry:
    """One row to write: a user or assistant message part at (turn, position)."""

    turn: int
    position: int
    role: str
    content: list[dict[str, Any]]
    model: str | None = None


async def write(conn: Conn, ref: RunRef, *entries: Entry) -> None:
    """Write entries on `conn` (inside the caller's transaction, when it has one)."""
    for e in entries:
        await conn.execute(
            """INSERT INTO transcript_entries (run_id, thread, turn, position, role, content, model)
               VALUES (%s, %s, %s, %s, %s, %s, %s)
               ON CONFLICT (run_id, thread, turn, position) DO UPDATE SET
                   role = EXCLUDED.role, content = EXCLUDED.content, model = EXCLUDED.model""",
            (ref.run_id, ref.thread, e.turn, e.position, e.role, Jsonb(e.content), e.model),
        )


async def append(
    pool: Pool, ref: RunRef, turn: int, position: int, role: str, content: list[dict[str, Any]]
) -> None:
    async with pool.connection() as conn:
        await write(conn, ref, Entry(turn, position, role, content))


async def append_all(pool: Pool, ref: RunRef, *entries: Entry) -> None:
    """Write several entries in one transaction: all of them, or none."""
    async with pool.connection() as conn, conn.transaction():
        await write(conn, ref, *entries)


async def entries(
    pool: Pool, ref: RunRef, *, before_turn: int | None = None
) -> list[dict[str, Any]]:
    async with pool.connection() as conn:
        cursor = await conn.execute(
            """SELECT turn, position, role, content, model FROM transcript_entries
               WHERE run_id = %s AND thread = %s AND (%s::int IS NULL OR turn < %s::int)
               ORDER BY turn, position""",
            (ref.run_id, ref.thread, before_turn, before_turn),
        )
        return await cursor.fetchall()


async def reply_at(pool: Pool, ref: RunRef, turn: int) -> dict[str, Any] | None:
    """The model's stored reply for `turn`, if an earlier attempt already got it."""
    async with pool.connection() as conn:
        cursor = await conn.execute(
            """SELECT content, model FROM transcript_entries
               WHERE run_id = %s AND thread = %s AND turn = %s AND position = 0
                 AND role = 'assistant'""",
            (ref.run_id, ref.thread, turn),
        )
        return await cursor.fetchone()


async def messages(
    pool: Pool, ref: RunRef, *, before_turn: int | None = None, for_model: str | None = None
) -> list[dict[str, Any]]:
    """The thread up to `before_turn` as Messages API `messages` for `for_model`."""
    return as_messages(await entries(pool, ref, before_turn=before_turn), for_model)


def as_messages(rows: list[dict[str, Any]], for_model: str | None = None) -> list[dict[str, Any]]:
    """Consecutive same-role entries merged, tool results first in a user turn, thinking
    blocks of other models left out, and any `tool_use` left unanswered (a step that never
    completed) answered with an error result, as the API requires. Tool results are
    spotlighted: marked as data from their tool (`ledgerd.injection`)."""
    merged: list[dict[str, Any]] = []
    names = {
        block["id"]: block.get("name", "")
        for entry in rows
        if entry["role"] == "assistant"
        for block in entry["content"]
        if block.get("type") == "tool_use"
    }
    for entry in rows:
        content = [_marked(block, names) for block in entry["content"]]
        if entry["role"] == "assistant" and entry.get("model") != for_model:
            # Bound to the model (and, on the 5.5 models, the account) that wrote them.
            content = [b for b in content if b.get("type") not in _THINKING]
        if not content:
            continue
        if merged and merged[-1]["role"] == entry["role"]:
            merged[-1]["content"].extend(content)
        else:
            merged.append({"role": entry["role"], "content": content})
    for index, message in enumerate(merged):
        if message["role"] != "assistant":
            continue
        asked = [b["id"] for b in message["content"] if b.get("type") == "tool_use"]
        if not asked:
            continue
        if index + 1 == len(merged):
            merged.append({"role": "user", "content": []})
        following = merged[index + 1]
        answered = {b.get("tool_use_id") for b in following["content"]}
        missing = [use_id for use_id in asked if use_id not in answered]
        for use_id in missing:
            log.warning("tool_use %s has no tool_result; answering it as not run", use_id)
            following["content"].append(
                {
                    "type": "tool_result",
                    "tool_use_id": use_id,
                    "is_error": True,
                    "content": UNANSWERED,
                }
            )
    for message in merged:
        if message["role"] == "user":
            message["content"].sort(key=lambda block: block.get("type") != "tool_result")
    return merged


def _marked(block: dict[str, Any], names: dict[str, str]) -> dict[str, Any]:
    """A tool result as the model reads it: its content inside a data block. Only when
    sent: the stored row keeps the bare result, which the guardrail and the trace parse."""
    if block.get("type") != "tool_result":
        return block
    name = names.get(block.get("tool_use_id", ""), "")
    if not name or name in OWN_TOOLS:
        return block
    text = block.get("content")
    if isinstance(text, list):
        text = "".join(part.get("text", "") for part in text if isinstance(part, dict))
    if not isinstance(text, str):
        return block
    return {**block, "content": spotlight(f"tool_result:{name}", text)}


async def tool_results_by_id(pool: Pool, ref: RunRef) -> dict[str, tuple[str, Any, bool]]:
    """(tool name, parsed output, is_error) of each tool_use id of the thread."""
    return {
        use_id: (name, output, is_error)
        for use_id, name, _, output, is_error in exchanges_in(await entries(pool, ref))
    }


def opening_text(rows: list[dict[str, Any]]) -> str:
    """The text of the thread's first user entry: the task (and plan) it was given."""
    for entry in rows:
        if entry["role"] == "user":
            return " ".join(b.get("text", "") for b in entry["content"] if b.get("type") == "text")
    return ""


def exchanges_in(
    rows: list[dict[str, Any]],
) -> list[tuple[str, str, dict[str, Any], Any, bool]]:
    """Every (tool_use id, tool name, input, parsed output, is_error) of a thread's entries."""
    calls: dict[str, tuple[str, dict[str, Any]]] = {}
    found: list[tuple[str, str, dict[str, Any], Any, bool]] = []
    for entry in rows:
        for block in entry["content"]:
            if block.get("type") == "tool_use":
                calls[block["id"]] = (block["name"], block.get("input") or {})
            elif block.get("type") == "tool_result" and block["tool_use_id"] in calls:
                name, arguments = calls[block["tool_use_id"]]
                text = block.get("content")
                if isinstance(text, list):
                    text = "".join(part.get("text", "") for part in text)
                try:
                    output = json.loads(text) if isinstance(text, str) else text
                except json.JSONDecodeError:
                    output = text
                found.append(
                    (block["tool_use_id"], name, arguments, output, bool(block.get("is_error")))
                )
    return found
