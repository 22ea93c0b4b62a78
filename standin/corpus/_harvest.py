"""What a finished run leaves for the guardrail: the executor's task, the tool calls before
its first answer with their results, and that first answer (the one a bad mode spoils; the
revisions after the guardrail's feedback are not the case)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from ledgerd import transcript
from ledgerd.contracts import RunRef
from ledgerd.daemons import RESPOND
from ledgerd.db import Pool


@dataclass(frozen=True)
class Harvest:
    task: str
    exchanges: list[dict[str, Any]]
    answer: dict[str, Any]


async def harvest(pool: Pool, workflow_id: str) -> Harvest | None:
    async with pool.connection() as conn:
        cursor = await conn.execute(
            "SELECT DISTINCT run_id FROM transcript_entries "
            "WHERE run_id LIKE %s AND thread = 'executor' ORDER BY run_id",
            (f"{workflow_id}@%",),
        )
        runs = [row["run_id"] for row in await cursor.fetchall()]
    if not runs:
        return None
    rows = await transcript.entries(pool, RunRef(run_id=runs[0], thread="executor"))
    answer_turn = next(
        (
            entry["turn"]
            for entry in rows
            if entry["role"] == "assistant"
            and any(
                b.get("type") == "tool_use" and b.get("name") == RESPOND for b in entry["content"]
            )
        ),
        None,
    )
    if answer_turn is None:
        return None
    answer = next(
        b["input"]
        for entry in rows
        if entry["turn"] == answer_turn and entry["role"] == "assistant"
        for b in entry["content"]
        if b.get("type") == "tool_use" and b.get("name") == RESPOND
    )
    before = [e for e in rows if e["turn"] < answer_turn]
    exchanges = [
        {"id": use_id, "tool": name, "input": arguments, "output": output, "is_error": is_error}
        for use_id, name, arguments, output, is_error in transcript.exchanges_in(before)
        if name != RESPOND
    ]
    return Harvest(transcript.opening_text(rows), exchanges, dict(answer))
