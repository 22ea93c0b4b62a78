"""Every bad input gets one line: what is wrong and what to do; exit 2 on the CLI (run as a
subprocess, as a person runs it), a 4xx (or 503 for a service that is down) on the API, and
never a traceback."""

from __future__ import annotations

import asyncio
import os
import sys
from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path

import httpx
import pytest
from psycopg_pool import AsyncConnectionPool
from temporalio.client import Client, WorkflowExecutionStatus
from temporalio.testing import WorkflowEnvironment

from ledgerd.api import create_app
from ledgerd.config import load_settings
from ledgerd.db import Pool
from ledgerd.plugin import LedgerdPlugin
from ledgerd.runtime import Dependencies, open_dependencies
from ledgerd.stack import free_port
from standin import OfflineModelServer
from tests._onboarding import initech
from tests.conftest import running_worker
from tests.test_api import INITECH, Api, auth, onboarding_body, seed, serving
from tests.test_api import idle_api as idle_api  # a fixture

BAD_CHART = "Account #,Account,Type\n1000,Checking,Bank\n6100,Coffee,Expences\n"
WHERE = "row 3, column 'Type': unknown account type 'Expences'"
_CONFIGURATION = ("TEMPORAL_ADDRESS", "TEMPORAL_NAMESPACE", "DATABASE_URL", "ANTHROPIC_")


@dataclass
class Ran:
    code: int
    out: str
    err: str

    def one_line(self) -> str:
        """The single line a refused command prints, after checking that it is that."""
        assert self.code == 2, (self.code, self.out, self.err)
        assert "Traceback" not in self.err, self.err
        lines = self.err.strip().splitlines()
        assert len(lines) == 1, self.err
        return lines[0]


async def ledgerd(folder: Path, *args: str, **env: str) -> Ran:
    """`ledgerd …` in `folder` (no `.env` there), configured only by `env`."""
    clean = {
        k: v
        for k, v in os.environ.items()
        if not k.upper().startswith(("LEDGERD_", *_CONFIGURATION))
    }
    process = await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "ledgerd.cli",
        *args,
        cwd=folder,
        env={**clean, **env},
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
    )
    try:
        # A guard, not a measure: a command that should refuse at once must not hang the suite.
        out, err = await asyncio.wait_for(process.communicate(), timeout=240)
    except TimeoutError:
        process.kill()
        raise AssertionError(f"ledgerd {' '.join(args)} did not finish") from None
    assert process.returncode is not None
    return Ran(process.returncode, out.decode(), err.decode())


def nowhere() -> str:
    return f"127.0.0.1:{free_port()}"


def temporal_of(env: WorkflowEnvironment) -> str:
    return env.client.service_client.config.target_host


# ------------------------------------------------------------------------------------ CLI


async def test_an_unknown_tenant_is_one_line(tmp_path: Path, pg_url: str) -> None:
    chart = tmp_path / "chart.csv"
    chart.write_text(BAD_CHART)
    ran = await ledgerd(
        tmp_path,
        *("onboard", "--tenant", "hooli", "--legal-name", "Hooli", "--chart", str(chart)),
        DATABASE_URL=pg_url,
        TEMPORAL_ADDRESS=nowhere(),
    )
    line = ran.one_line()
    assert "principal 'hooli-service' does not exist" in line and "--tenant" in line


async def test_temporal_unreachable_is_one_line(tmp_path: Path) -> None:
    address = nowhere()
    ran = await ledgerd(tmp_path, "status", "some-run", TEMPORAL_ADDRESS=address)
    line = ran.one_line()
    assert f"cannot reach Temporal at {address}" in line and "ledgerd dev" in line


async def test_postgresql_unreachable_is_one_line(tmp_path: Path) -> None:
    address = nowhere()
    ran = await ledgerd(
        tmp_path,
        *("ask", "How much did we spend on software?"),
        DATABASE_URL=f"postgresql://postgres:secret@{address}/ledgerd",
        TEMPORAL_ADDRESS=nowhere(),
    )
    line = ran.one_line()
    assert f"cannot reach PostgreSQL at {address}" in line and "DATABASE_URL" in line
    assert "secret" not in line


async def test_a_malformed_chart_is_one_line_naming_row_and_column(
    tmp_path: Path, dev_env: WorkflowEnvironment, pool: Pool, pg_url: str
) -> None:
    await initech(pool)
    chart = tmp_path / "chart.csv"
    chart.write_text(BAD_CHART)
    ran = await ledgerd(
        tmp_path,
        *("onboard", "--tenant", "initech", "--legal-name", "Initech", "--chart", str(chart)),
        DATABASE_URL=pg_url,
        TEMPORAL_ADDRESS=temporal_of(dev_env),
    )
    assert WHERE in ran.one_line()


async def test_an_unknown_workflow_id_is_one_line(
    tmp_path: Path, dev_env: WorkflowEnvironment
) -> None:
    for command in ("status", "result", "pending", "trace"):
        ran = await ledgerd(tmp_path, command, "no-such-run", TEMPORAL_ADDRESS=temporal_of(dev_env))
        line = ran.one_line()
        assert "no-such-run" in line and "check the" in line, (command, line)


async def test_an_oversized_question_is_one_line(
    tmp_path: Path, dev_env: WorkflowEnvironment, seeded_pg_url: str
) -> None:
    ran = await ledgerd(
        tmp_path,
        *("ask", "How much " * 300),
        DATABASE_URL=seeded_pg_url,
        TEMPORAL_ADDRESS=temporal_of(dev_env),
    )
    assert "question: String should have at most 2000 characters" in ran.one_line()


@pytest.fixture
async def model_down(seeded_pg_url: str) -> AsyncIterator[Dependencies]:
    """Activity dependencies whose model endpoint is a port nobody listens on."""
    opened = await open_dependencies(
        load_settings(database_url=seeded_pg_url, offline_model_port=free_port())
    )
    try:
        yield opened
    finally:
        await opened.close()


async def test_a_model_the_worker_cannot_reach_is_one_line_and_an_api_problem(
    tmp_path: Path,
    dev_env: WorkflowEnvironment,
    model_down: Dependencies,
    model_server: OfflineModelServer,
) -> None:
    async with (
        running_worker(dev_env) as queue,
        serving(dev_env, model_down, model_server, queue) as api,
    ):
        ran = await ledgerd(
            tmp_path,
            *("ask", "How much did we spend on software in Q3 2025?"),
            DATABASE_URL=model_down.settings.effective_database_url,
            TEMPORAL_ADDRESS=temporal_of(dev_env),
            LEDGERD_TASK_QUEUE=queue,
        )
        line = ran.one_line()
        asked = next(x for x in ran.out.splitlines() if x.startswith("asking as"))
        run_id = asked.rsplit(" ", 1)[-1]
        assert "cannot reach the model" in line and "model provider unreachable" in line
        assert f"keeps retrying (`ledgerd status {run_id}`)" in line

        started = await api.http.post(
            "/v1/questions",
            json={"question": "How much did we spend on software in Q2 2025?"},
            headers={"Authorization": "Bearer demo-token-acme-viewer"},
        )
        assert started.status_code == 202, started.text
        workflow_id = started.json()["workflow_id"]
        status = await api.poll(
            f"/v1/runs/{workflow_id}",
            token={"Authorization": "Bearer demo-token-acme-viewer"},
            until=lambda r: r.json().get("problem") is not None,
        )
        assert "cannot reach the model" in status.json()["problem"]
        for run in (workflow_id, run_id):
            handle = dev_env.client.get_workflow_handle(run)
            if (await handle.describe()).status == WorkflowExecutionStatus.RUNNING:
                await handle.terminate("test finished")


# ------------------------------------------------------------------------------------ API


async def test_api_bad_inputs_are_4xx_with_one_message(idle_api: Api, pool: Pool) -> None:
    await initech(pool)  # same database as the API's: `deps` is built on `pg_url`
    checks = [
        (await idle_api.http.get("/v1/approvals", headers=auth("nobody")), 401, "token"),
        (
            await idle_api.http.get("/v1/runs/no-such-run", headers=auth("acme-accountant")),
            404,
            "no run 'no-such-run'",
        ),
        (
            await idle_api.http.post(
                "/v1/questions",
                json={"question": "How much " * 300},
                headers=auth("acme-viewer"),
            ),
            422,
            "question: String should have at most 2000 characters",
        ),
        (
            await idle_api.http.post(
                "/v1/onboardings",
                json=onboarding_body(chart_csv=BAD_CHART),
                headers=INITECH["accountant"],
            ),
            422,
            WHERE,
        ),
    ]
    for response, status, words in checks:
        assert response.status_code == status, response.text
        message = response.json()["error"]["message"]
        assert words in message and "\n" not in message, message
    assert idle_api.starts.ids == []


async def test_api_with_temporal_or_postgresql_down_answers_503(deps: Dependencies) -> None:
    await seed(deps)
    settings = load_settings(database_url=deps.settings.effective_database_url)
    unreachable_temporal = await Client.connect(nowhere(), plugins=[LedgerdPlugin()], lazy=True)
    unreachable_db: Pool = AsyncConnectionPool(
        f"postgresql://postgres@{nowhere()}/ledgerd", open=False, timeout=1
    )
    await unreachable_db.open(wait=False)
    try:
        for client, pool, path, words in (
            (unreachable_temporal, deps.pool, "/v1/runs/some-run", "Temporal is unreachable"),
            (unreachable_temporal, unreachable_db, "/v1/approvals", "database is unreachable"),
        ):
            app = create_app(settings, temporal_client=client, pool=pool)
            transport = httpx.ASGITransport(app=app)
            async with httpx.AsyncClient(transport=transport, base_url="http://api") as http:
                response = await http.get(path, headers=auth("acme-accountant"))
            assert response.status_code == 503, response.text
            assert words in response.json()["error"]["message"]
    finally:
        await unreachable_db.close()
