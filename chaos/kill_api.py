"""(e) kill -9 the HTTP API while requests are in flight.

The vendor hydrations are started through `POST /v1/vendor-hydrations`, all at once, by
clients that retry what got no answer (a refused or cut connection, a 5xx), as any service
calling ledgerd would. The API is killed a few times while those requests are in flight, and
started again at once. Each request carries an `Idempotency-Key`, kept across its retries:
a retried start finds the run it started (even one that has finished already), and one still
running under the subject's workflow id answers 409; each subject must have exactly one run. The onboardings and questions start directly, so all three kinds still run.
"""

from __future__ import annotations

import asyncio
import random
import time
import uuid
from collections import Counter

import httpx

from accounting.principals import Principal
from chaos._report import ScenarioReport
from chaos._run import Options, Run, run_scenario
from chaos._stack import ChaosStack
from chaos._workload import HYDRATION, Daemon, persist, start_all

TITLE = "kill -9 the API"
API_KILLS = 3


async def _start_one(
    http: httpx.AsyncClient,
    principal: Principal,
    ids: list[str],
    answers: Counter[str],
    deadline: float,
) -> str:
    """Start one hydration over HTTP, retrying until the API answers with its run."""
    from demo_seed import demo_token  # a tool: imported only when a run needs it

    # One key per request, sent again with every retry: a start whose answer was lost finds
    # its run instead of starting a second one once the first has finished.
    headers = {
        "Authorization": f"Bearer {demo_token(principal.id)}",
        "Idempotency-Key": f"chaos-{uuid.uuid4()}",
    }
    while True:
        try:
            response = await http.post(
                "/v1/vendor-hydrations", json={"transaction_ids": ids}, headers=headers
            )
        except httpx.TransportError:
            answers["no answer (retried)"] += 1
            if time.monotonic() > deadline:
                raise
            await asyncio.sleep(0.5)
            continue
        answers[str(response.status_code)] += 1
        if response.status_code in (202, 409):
            return str(response.json()["workflow_id"])
        if response.status_code < 500 or time.monotonic() > deadline:
            raise RuntimeError(f"start refused: {response.status_code} {response.text[:300]}")
        await asyncio.sleep(0.5)


async def _start_through_api(run: Run) -> None:
    await run.parts.start_api()
    answers: Counter[str] = Counter()
    groups: list[tuple[Principal, list[str]]] = run.work[HYDRATION]
    rest = {k: v for k, v in run.work.items() if k != HYDRATION}
    limits = httpx.Limits(max_connections=32)
    async with httpx.AsyncClient(base_url=run.parts.api_url, timeout=60, limits=limits) as http:
        requests = asyncio.gather(
            *(_start_one(http, p, ids, answers, run.deadline) for p, ids in groups)
        )
        killer = asyncio.create_task(_kill_while_in_flight(run, requests, answers))
        ids = await requests
        await killer
    for (principal, transactions), workflow_id in zip(groups, ids, strict=True):
        run.workload.daemons.append(
            Daemon(HYDRATION, workflow_id, principal.tenant_id, transactions)
        )
    run.report.effects.update({f"HTTP answers: {k}": v for k, v in sorted(answers.items())})
    await start_all(run.workload, {**rest, HYDRATION: []}, f"e-{run.parts.task_queue[-6:]}")


async def _kill_while_in_flight(
    run: Run, requests: asyncio.Future[list[str]], answers: Counter[str]
) -> None:
    rng = random.Random(run.options.seed)
    for n in range(API_KILLS):
        await asyncio.sleep(rng.uniform(0.02, 0.3))  # starts answer in ~0.1 s
        if requests.done():
            run.report.notes.append(f"every start was answered after {n} of {API_KILLS} kills")
            return
        struck = run.strike(len(run.work[HYDRATION]) - answers["202"] - answers["409"])
        run.parts.kill_api()
        await run.parts.start_api()
        run.mark(f"API kill {n + 1}", struck)


async def _runs_per_subject(run: Run) -> None:
    """Every hydration's workflow id must have had exactly one run (closed ones included)."""
    client = run.workload.client_ref()
    runs: Counter[str] = Counter()

    async def count() -> None:
        runs.clear()
        async for execution in client.list_workflows(
            f"TaskQueue = '{run.parts.task_queue}' AND WorkflowType = 'VendorHydration'"
        ):
            runs[execution.id] += 1

    await persist(count, time.monotonic() + 60)
    run.report.duplicates["hydration runs started twice"] = sum(n - 1 for n in runs.values())


async def _wait(run: Run) -> None:
    await run.workload.done.wait()  # follow_all ends by the deadline
    await _runs_per_subject(run)


async def run(stack: ChaosStack, options: Options) -> ScenarioReport:
    return await run_scenario(stack, "e", TITLE, options, _wait, start_daemons=_start_through_api)
