"""(d) a model storm: about 30 % of model calls answer 429, 500 or 529 with `retry-after`,
some tool calls come back with malformed JSON input, some replies are cut at max_tokens,
some streams stall (20 s by default), and exactly one call answers 400, which must fail its
daemon at once (no retry can fix a 400) and notify someone.

The stand-in injects all of it (standin/_faults.py): the random errors by its seeded fault
rate, the rest from its fault queue, posted to `/_control/faults`.
"""

from __future__ import annotations

import asyncio
import time

import httpx

from chaos._report import ScenarioReport
from chaos._run import Options, Run, run_scenario
from chaos._stack import ChaosStack

TITLE = "model storm"
FAULT_RATE = 0.3
FAIL_FAST_SECONDS = 30.0  # from the 400 to the run's end: no retries, one notification


def _queue(options: Options, daemons: int) -> list[dict[str, object]]:
    few = max(2, daemons // 10)
    return [
        # First, so that `after` counts every request: the 400 comes once the storm is on.
        {"status": 400, "after": 3 * daemons // 2, "times": 1},
        {"kind": "malformed_tool_input", "times": few},
        {"kind": "truncate", "times": few},
        {
            "kind": "stall",
            "latency_ms": int(options.stall_seconds * 1000),
            "times": max(2, few // 2),
        },
        {"status": 529, "retry_after": 2, "times": few},
        {"status": 500, "retry_after": 1, "times": few},
    ]


async def _storm(run: Run) -> None:
    async with httpx.AsyncClient(base_url=run.parts.model_url, timeout=10) as http:
        queued = _queue(run.options, run.options.daemons)
        (await http.post("/_control/faults", json=queued)).raise_for_status()
        # The storm is on from here: its recovery is the time to the first daemon through it.
        run.mark("model storm", run.strike())
        # The 400 was served after the last poll that still saw it queued: its daemon may
        # end before the next poll notices it is gone.
        struck: float | None = None
        seen = time.monotonic()
        while run.workload.running() and time.monotonic() < run.deadline:
            pending = (await http.get("/_control/faults")).json()["pending"]
            if any(f.get("status") == 400 for f in pending):
                seen = time.monotonic()
            elif struck is None:
                struck = seen
            await asyncio.sleep(0.5)
        if struck is None and not any(
            f.get("status") == 400 for f in (await http.get("/_control/faults")).json()["pending"]
        ):
            struck = seen
        left = (await http.get("/_control/faults")).json()["pending"]
    run.report.effects["faults queued"] = sum(int(str(f["times"])) for f in queued)
    run.report.effects["queued faults never served"] = sum(int(f["remaining"]) for f in left)
    _judge_the_400(run, struck)


def _judge_the_400(run: Run, struck: float | None) -> None:
    """The daemon that met the 400 is the one not completed that ended soonest after it."""
    run.report.checks["the 400 was served"] = struck is not None
    if struck is None:
        return
    ended = [
        d
        for d in run.workload.daemons
        if d.outcome not in ("completed", "applied")
        and d.finished_at is not None
        and d.finished_at >= struck
    ]
    victim = min(ended, key=lambda d: d.finished_at or 0.0, default=None)
    run.report.checks["a daemon failed on the 400"] = victim is not None
    if victim is None or victim.finished_at is None:
        return
    run.report.expected_failures = 1
    run.report.effects["seconds from the 400 to its daemon's end"] = round(
        victim.finished_at - struck
    )
    run.report.checks["the 400 failed fast"] = victim.finished_at - struck < FAIL_FAST_SECONDS
    run.report.notes.append(
        f"the 400 ended {victim.workflow_id} ({victim.outcome or victim.failure}) "
        f"{victim.finished_at - struck:.1f} s after it was served"
    )
    run.failed_on_purpose = victim.workflow_id


async def run(stack: ChaosStack, options: Options) -> ScenarioReport:
    return await run_scenario(
        stack,
        "d",
        TITLE,
        options,
        _storm,
        standin_env={
            "LEDGERD_OFFLINE_FAULT_RATE": str(FAULT_RATE),
            "LEDGERD_OFFLINE_FAULT_SEED": str(options.seed),
        },
    )
