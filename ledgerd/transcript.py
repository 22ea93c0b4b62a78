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
from collections import OrderedDict
from dataclasses import dataclass, field
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


@dataclass
class ReadStats:
    """Transcript reads of this process (queries and rows), for the benchmarks' cost table:
    what a run reads back must grow linearly with its steps, not with their square."""

    queries: int = 0
    rows: int = 0


READS = ReadStats()


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


@dataclass
class _Thread:
    """What this worker has read of one thread: rows by (turn, position), and the highest
    `seq` among them (every row numbered at or below it has been seen: migration 0011)."""

    seq: int = -1
    rows: dict[tuple[int, int], dict[str, Any]] = field(default_factory=dict)


# Threads this worker read lately, least recently used first. A turn reads only the rows
# numbered above what it holds, so a run's reads grow with its steps, not their square. It
# is only a cache: after a restart, or for a thread another worker wrote, the query below
# simply returns more rows; a retry's overwrite gets a new number and replaces the old row.
_THREADS: OrderedDict[tuple[str, str], _Thread] = OrderedDict()
_MAX_THREADS = 256


async def _thread_rows(pool: Pool, ref: RunRef) -> dict[tuple[int, int], dict[str, Any]]:
    key = (ref.run_id, ref.thread)
    cached = _THREADS.get(key) or _Thread()
    async with pool.connection() as conn:
        cursor = await conn.execute(
            """SELECT turn, position, role, content, model, seq FROM transcript_entries
               WHERE run_id = %s AND thread = %s AND seq > %s ORDER BY seq""",
            (ref.run_id, ref.thread, cached.seq),
        )
        fresh = await cursor.fetchall()
    READS.queries += 1
    READS.rows += len(fresh)
    for row in fresh:
        place = (row["turn"], row["position"])
        held = cached.rows.get(place)
        # Two reads of one thread may finish out of order: the higher number wins.
        if held is None or row["seq"] > held["seq"]:
            cached.rows[place] = row
        cached.seq = max(cached.seq, row["seq"])
    _THREADS[key] = cached
    _THREADS.move_to_end(key)
    while len(_THREADS) > _MAX_THREADS:
        _THREADS.popitem(last=False)
    return cached.rows


async def entries(
    pool: Pool, ref: RunRef, *, before_turn: int | None = None
) -> list[dict[str, Any]]:
    """The thread's entries in (turn, position) order, those before `before_turn` only if
    given. Rows are shared with the cache: read them, never change them."""
    rows = await _thread_rows(pool, ref)
    return [rows[place] for place in sorted(rows) if before_turn is None or place[0] < before_turn]


async def reply_at(pool: Pool, ref: RunRef, turn: int) -> dict[str, Any] | None:
    """The model's stored reply for `turn`, if an earlier attempt already got it."""
    row = (await _thread_rows(pool, ref)).get((turn, 0))
    return row if row is not None and row["role"] == "assistant" else None


async def read_turn(
    pool: Pool, ref: RunRef, turn: int, *, for_model: str | None = None
) -> tuple[dict[str, Any] | None, list[dict[str, Any]]]:
    """In one read: the stored reply of `turn` (an earlier attempt got it), and the thread up
    to that turn as Messages API `messages` for `for_model`."""
    rows = await _thread_rows(pool, ref)
    stored = rows.get((turn, 0))
    before = [rows[place] for place in sorted(rows) if place[0] < turn]
    reply = stored if stored is not None and stored["role"] == "assistant" else None
    return reply, as_messages(before, for_model)


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
