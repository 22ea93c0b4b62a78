"""The detector and the gate over one run's stored conversation, for the `call_tool`
activity. Not imported by the package: it reads `ledgerd.transcript`, which imports the
package for `spotlight`."""

from __future__ import annotations

import json
from typing import Any

from ledgerd import transcript
from ledgerd.contracts import InjectionFlag, RunRef, ToolCall
from ledgerd.db import Pool
from ledgerd.injection import findings_in
from ledgerd.injection._gate import hold_reason
from ledgerd.injection._rules import Finding, channel_of, scan


async def run_findings(pool: Pool, ref: RunRef) -> list[Finding]:
    """Every finding in the thread so far: its tool results and its task's data blocks.
    Recomputed from the stored conversation rather than kept: nothing to keep in step, and
    the same rules give the same answer on a retry."""
    rows = await transcript.entries(pool, ref)
    exchanges = [
        (use_id, name, output, is_error)
        for use_id, name, _, output, is_error in transcript.exchanges_in(rows)
    ]
    return findings_in(exchanges, transcript.opening_text(rows))


async def held_reason(pool: Pool, ref: RunRef, call: ToolCall) -> str | None:
    """Why a mutating call must wait for a person, or None to run it."""
    return hold_reason(call.name, call.input, await run_findings(pool, ref))


def result_flags(call: ToolCall, result_json: str) -> list[InjectionFlag]:
    """Flags for one tool result, as its outcome records them in history."""
    output: Any = json.loads(result_json)
    return [
        InjectionFlag.model_validate(f.flag()) for f in scan(output, channel_of(call.name), call.id)
    ][:10]
