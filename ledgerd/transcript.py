"""The append-only conversation of a daemon run, kept in PostgreSQL.

Entries are keyed by (run, thread, turn, position), numbers the workflow assigns
deterministically, so a retried activity overwrites its own entry instead of appending a
second copy, and parallel tool activities never race for a sequence number.
"""

from __future__ import annotations

import json
from typing import Any

from psycopg.types.json import Jsonb

from ledgerd.contracts import RunRef
from ledgerd.db import Pool


async def append(
    pool: Pool, ref: RunRef, turn: int, position: int, role: str, content: list[dict[str, Any]]
) -> None:
    async with pool.connection() as conn:
        await conn.execute(
            """INSERT INTO transcript_entries (run_id, thread, turn, position, role, content)
               VALUES (%s, %s, %s, %s, %s, %s)
               ON CONFLICT (run_id, thread, turn, position)
               DO UPDATE SET role = EXCLUDED.role, content = EXCLUDED.content""",
            (ref.run_id, ref.thread, turn, position, role, Jsonb(content)),
        )


async def entries(pool: Pool, ref: RunRef) -> list[dict[str, Any]]:
    async with pool.connection() as conn:
        cursor = await conn.execute(
            """SELECT turn, position, role, content FROM transcript_entries
               WHERE run_id = %s AND thread = %s ORDER BY turn, position""",
            (ref.run_id, ref.thread),
        )
        return await cursor.fetchall()


async def messages(pool: Pool, ref: RunRef) -> list[dict[str, Any]]:
    """The thread as Messages API `messages`: consecutive same-role entries merged, tool
    results first in a user turn, as the API requires."""
    merged: list[dict[str, Any]] = []
    for entry in await entries(pool, ref):
        if merged and merged[-1]["role"] == entry["role"]:
            merged[-1]["content"].extend(entry["content"])
        else:
            merged.append({"role": entry["role"], "content": list(entry["content"])})
    for message in merged:
        if message["role"] == "user":
            message["content"].sort(key=lambda block: block.get("type") != "tool_result")
    return merged


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
