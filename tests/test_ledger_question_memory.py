"""Memory across runs: a fact remembered in one LedgerQuestion workflow is recalled by a
follow-up question in a new workflow of the same conversation, and never by another tenant.
Real Temporal, PostgreSQL (pgvector + full-text) and the offline stand-in."""

from __future__ import annotations

from decimal import Decimal

from temporalio.testing import WorkflowEnvironment

from accounting.principals import Principal, Role
from ledgerd.contracts import DaemonResult, Outcome
from ledgerd.runtime import Dependencies
from tests.conftest import record_history, running_worker
from workflows import LedgerQuestion, QuestionRequest

# Viewers may not write memory (docs/security.md): an accountant tells the fact.
ACME = Principal(id="acme-accountant", tenant_id="acme", role=Role.ACCOUNTANT)
GLOBEX = Principal(id="globex-viewer", tenant_id="globex", role=Role.VIEWER)
FACT = "Remember that our cloud provider is Amazon Web Services."
FOLLOW_UP = "How much did we spend with our cloud provider in Q3 2025?"
# Written here, not taken from the query tool: AWS's Q3 2025 spend, transfers excluded.
AWS_Q3 = """SELECT sum(-t.amount) AS total FROM bank_transactions t
            JOIN vendors v ON v.tenant_id = t.tenant_id AND v.id = t.vendor_id
            WHERE t.tenant_id = 'acme' AND v.canonical_name = 'Amazon Web Services'
              AND t.amount < 0 AND t.posted_date BETWEEN '2025-07-01' AND '2025-09-30'"""


async def ask(
    env: WorkflowEnvironment, principal: Principal, question: str, workflow_id: str
) -> DaemonResult:
    async with running_worker(env) as queue:
        return await env.client.execute_workflow(
            LedgerQuestion.run,
            QuestionRequest(
                tenant_id=principal.tenant_id,
                principal=principal,
                question=question,
                conversation_id="conv-cloud",
            ),
            id=workflow_id,
            task_queue=queue,
        )


async def test_a_follow_up_in_a_new_workflow_recalls_what_an_earlier_one_remembered(
    time_skipping_env: WorkflowEnvironment, seeded_deps: Dependencies
) -> None:
    remembered = await ask(time_skipping_env, ACME, FACT, "memory-remember")
    assert remembered.outcome is Outcome.COMPLETED, remembered.reason
    async with seeded_deps.pool.connection() as conn:
        cursor = await conn.execute(
            """SELECT m.text, m.conversation_id, v.canonical_name FROM memories m
               JOIN vendors v ON v.tenant_id = m.tenant_id AND v.id = m.vendor_id"""
        )
        rows = await cursor.fetchall()
    assert [(r["conversation_id"], r["canonical_name"]) for r in rows] == [
        ("conv-cloud", "Amazon Web Services")
    ]

    follow_up = await ask(time_skipping_env, ACME, FOLLOW_UP, "memory-follow-up")
    await record_history(time_skipping_env, "memory-follow-up", "ledger_question_memory")
    assert follow_up.outcome is Outcome.COMPLETED, follow_up.reason
    assert follow_up.answer is not None
    async with seeded_deps.pool.connection() as conn:
        want = (await (await conn.execute(AWS_Q3)).fetchone() or {})["total"]
        cursor = await conn.execute(
            """SELECT block->>'name' AS tool FROM transcript_entries,
                      jsonb_array_elements(content) AS block
               WHERE run_id LIKE 'memory-follow-up@%%' AND thread = 'executor'
                 AND block->>'type' = 'tool_use' ORDER BY turn, position"""
        )
        tools = [r["tool"] for r in await cursor.fetchall()]
    assert tools[0] == "recall" and "query_ledger" in tools, tools
    assert isinstance(want, Decimal) and want > 0
    assert want in {Decimal(str(f["value"])) for f in follow_up.answer["figures"]}


async def test_another_tenant_recalls_nothing_of_it(
    time_skipping_env: WorkflowEnvironment, seeded_deps: Dependencies
) -> None:
    told = await ask(time_skipping_env, ACME, FACT, "memory-acme")
    assert told.outcome is Outcome.COMPLETED, told.reason
    async with seeded_deps.pool.connection() as conn:
        cursor = await conn.execute("SELECT tenant_id FROM memories")
        assert [r["tenant_id"] for r in await cursor.fetchall()] == ["acme"]
    result = await ask(time_skipping_env, GLOBEX, FOLLOW_UP, "memory-globex")
    # Globex never said who its cloud provider is: its recall finds nothing of acme's, so
    # it cannot answer with acme's vendor or figures.
    assert result.outcome is not Outcome.COMPLETED or not (result.answer or {}).get("figures")
    async with seeded_deps.pool.connection() as conn:
        cursor = await conn.execute(
            """SELECT block->>'content' AS content FROM transcript_entries,
                      jsonb_array_elements(content) AS block
               WHERE run_id LIKE 'memory-globex@%%' AND block->>'type' = 'tool_result'"""
        )
        results = " ".join(r["content"] or "" for r in await cursor.fetchall())
    assert "Amazon Web Services" not in results
