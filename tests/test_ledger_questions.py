"""The question set through real LedgerQuestion workflows on the offline stand-in: every
answer graded against SQL written independently of the query tool, and grounded.

Also the comparison the issue asks to record: the same questions as a plain step-by-step
loop. The figures are printed (`-s`); the assertions are on counts, never on timings.
"""

from __future__ import annotations

import asyncio
import json
from pathlib import Path

from temporalio.testing import WorkflowEnvironment
from typer.testing import CliRunner

from demo_seed import demo_token
from ledgerd.cli import app
from ledgerd.evals._runner import CaseResult, report, run_cases
from ledgerd.evals.ledger_questions import load_questions
from ledgerd.runtime import Dependencies
from standin import OfflineModelServer
from tests.conftest import running_worker
from tests.test_api import serving
from workflows.ledger_question import QuestionMode

QUESTIONS = load_questions()


async def ask_all(
    env: WorkflowEnvironment, deps: Dependencies, mode: QuestionMode
) -> list[CaseResult]:
    async with running_worker(env) as queue:
        return await run_cases(
            env.client, deps.pool, QUESTIONS, mode=mode, task_queue=queue, concurrency=6
        )


async def test_every_question_is_answered_correctly_and_grounded_in_both_modes(
    dev_env: WorkflowEnvironment, seeded_deps: Dependencies
) -> None:
    planned = await ask_all(dev_env, seeded_deps, QuestionMode.PLANNED)
    stepwise = await ask_all(dev_env, seeded_deps, QuestionMode.STEPWISE)
    print("\n" + report(planned + stepwise))
    wrong = [(r.mode, r.id, r.outcome, r.reason) for r in planned + stepwise if not r.correct]
    assert not wrong, wrong
    assert all(r.grounded for r in planned + stepwise)
    # Planned runs ask the executor once and run the queries without a model turn each;
    # the plain loop spends one executor turn per tool call.
    for a, b in zip(planned, stepwise, strict=True):
        assert a.steps < b.steps or b.tool_calls <= 1, (a, b)
        assert a.steps == 1 or a.plan_rounds > 1, a
    assert sum(r.model_calls for r in planned) < sum(r.model_calls for r in stepwise)


async def test_ledgerd_ask_prints_the_answer_with_its_figures_and_citations(
    time_skipping_env: WorkflowEnvironment, seeded_deps: Dependencies
) -> None:
    env = {
        "TEMPORAL_ADDRESS": time_skipping_env.client.service_client.config.target_host,
        "DATABASE_URL": seeded_deps.settings.effective_database_url,
        "LEDGERD_OFFLINE_MODEL_PORT": str(seeded_deps.settings.offline_model_port),
        "LEDGERD_TOKEN": demo_token("acme-viewer"),  # who asks is who the token proves
    }
    runner = CliRunner()
    question = "How much did we pay Amazon Web Services in March 2025?"
    async with running_worker(time_skipping_env) as queue:
        shown = await asyncio.to_thread(
            runner.invoke,
            app,
            ["ask", question, "--tenant", "acme"],
            env={**env, "LEDGERD_TASK_QUEUE": queue},
        )
        unknown = await asyncio.to_thread(
            runner.invoke, app, ["ask", question, "--tenant", "nobody"], env=env
        )
    assert shown.exit_code == 0, shown.output
    async with seeded_deps.pool.connection() as conn:
        cursor = await conn.execute(
            """SELECT sum(-t.amount) AS total FROM bank_transactions t
               JOIN vendors v ON v.tenant_id = t.tenant_id AND v.id = t.vendor_id
               WHERE t.tenant_id = 'acme' AND v.canonical_name = 'Amazon Web Services'
                 AND t.amount < 0 AND t.posted_date BETWEEN '2025-03-01' AND '2025-03-31'"""
        )
        total = (await cursor.fetchone() or {})["total"]
    assert f"{total:,.2f}" in shown.stdout, shown.stdout
    cited = next(line for line in shown.stdout.splitlines() if line.strip().startswith("cited:"))
    assert "transaction acme-t" in cited and "vendor " in cited
    assert "✓ numbers_grounded" in shown.stdout and "outcome: completed" in shown.stdout
    assert unknown.exit_code != 0
    assert "your token is 'acme-viewer''s, of tenant 'acme', not 'nobody'" in unknown.output


async def test_a_question_over_http_is_answered_for_the_callers_tenant_only(
    time_skipping_env: WorkflowEnvironment,
    seeded_deps: Dependencies,
    model_server: OfflineModelServer,
) -> None:
    viewer = {"Authorization": "Bearer demo-token-acme-viewer"}
    async with (
        running_worker(time_skipping_env) as queue,
        serving(time_skipping_env, seeded_deps, model_server, queue) as api,
    ):
        response = await api.http.post(
            "/v1/questions",
            json={"question": "What were our top 5 vendors by spend in 2025?"},
            headers=viewer,
        )
        assert response.status_code == 202, response.text
        started = response.json()
        api.started.append(started["workflow_id"])
        result = await api.poll(started["result_url"], token=viewer)
        other = await api.http.get(
            started["result_url"], headers={"Authorization": "Bearer demo-token-globex-viewer"}
        )
        bad = await api.http.post(
            "/v1/questions", json={"question": "?", "tenant": "globex"}, headers=viewer
        )
    body = result.json()
    assert body["result"]["outcome"] == "completed", body
    assert len(body["result"]["answer"]["figures"]) >= 5
    assert other.status_code == 404
    assert bad.status_code == 422
    fields = {f["field"] for f in bad.json()["error"]["fields"]}
    assert fields == {"question", "tenant"}, bad.json()


async def test_ledgerd_eval_questions_reports_correct_and_grounded_per_question(
    time_skipping_env: WorkflowEnvironment, seeded_deps: Dependencies, tmp_path: Path
) -> None:
    env = {
        "TEMPORAL_ADDRESS": time_skipping_env.client.service_client.config.target_host,
        "DATABASE_URL": seeded_deps.settings.effective_database_url,
        "LEDGERD_OFFLINE_MODEL_PORT": str(seeded_deps.settings.offline_model_port),
    }
    ids = ["acme-aws-march", "globex-cafe-imports-q3-vs-q2"]
    out = tmp_path / "report.json"
    async with running_worker(time_skipping_env) as queue:
        ran = await asyncio.to_thread(
            CliRunner().invoke,
            app,
            ["eval", "questions", *(a for i in ids for a in ("--only", i)), "--out", str(out)],
            env={**env, "LEDGERD_TASK_QUEUE": queue},
        )
        missing = await asyncio.to_thread(
            CliRunner().invoke, app, ["eval", "questions", "--only", "no-such-question"], env=env
        )
    assert ran.exit_code == 0, ran.output
    assert "correct 2/2, grounded 2/2" in ran.stdout
    assert sorted(case["id"] for case in json.loads(out.read_text())) == sorted(ids)
    assert missing.exit_code == 2 and "no-such-question" in missing.output
