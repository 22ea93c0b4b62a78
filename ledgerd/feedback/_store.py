"""Store feedback on a daemon response, with a copy of what was rated.

Two ways in, one store underneath:

- `give_feedback(client, pool, principal, workflow_id, feedback)`: the CLI and the HTTP API.
  Temporal says whether the run exists and whose it is (its `LedgerdTenant` search
  attribute); the row is written directly, so this works for running and finished runs alike.
- the workflow's `feedback` Update → the `record_feedback` activity → `save_feedback`. An
  Update only reaches a running workflow; it exists for Temporal-native clients.

What was rated is read from PostgreSQL, not from the workflow: the last valid `respond`
answer in the run's transcript, the models and prompt versions per role from `model_calls`,
and the loop's outcome from its outcome notification. So the row is the same whichever way
the feedback came in, and the dataset export never needs Temporal (whose retention drops old
histories).
"""

from __future__ import annotations

import uuid
from typing import Any

from psycopg.types.json import Jsonb
from pydantic import ValidationError
from temporalio.client import Client, WorkflowExecutionDescription
from temporalio.service import RPCError, RPCStatusCode

from accounting.errors import InvalidRequest, NotFound
from accounting.principals import Principal
from ledgerd import search_attributes as sa
from ledgerd.contracts import Outcome
from ledgerd.daemons import RESPOND, daemon_spec
from ledgerd.db import Conn, Pool
from ledgerd.feedback._models import (
    DaemonResponse,
    Feedback,
    FeedbackReceipt,
    FieldProblem,
    InvalidFeedback,
    NotAnswered,
    RunTarget,
    StoredFeedback,
    canonical_answer,
    feedback_problems,
)

# Outcomes whose run keeps its answer (DaemonLoop._end drops it for the others).
_ANSWERED = frozenset({Outcome.COMPLETED, Outcome.ESCALATED})


async def give_feedback(
    client: Client,
    pool: Pool,
    principal: Principal,
    workflow_id: str,
    feedback: Feedback,
    *,
    idempotency_key: str | None = None,
) -> FeedbackReceipt:
    """Feedback from the CLI or the HTTP API, on a running or finished run.

    Raises NotFound (no such run), AccessDenied (another tenant's run), NotAnswered (nothing
    to rate yet) or InvalidFeedback (each bad field named); nothing is stored then."""
    try:
        described = await client.get_workflow_handle(workflow_id).describe()
    except RPCError as error:
        if error.status != RPCStatusCode.NOT_FOUND:
            raise
        raise NotFound(f"no run {workflow_id!r}") from None
    run = run_target(described)
    if run is None:
        raise NotFound(f"run {workflow_id!r} is not a ledgerd daemon run (it has no tenant)")
    return await save_feedback(
        pool, principal, run, feedback, idempotency_key=idempotency_key or f"direct/{uuid.uuid4()}"
    )


def run_target(described: WorkflowExecutionDescription) -> RunTarget | None:
    """The run a Temporal description names, or None if it is not a daemon run (no tenant)."""
    tenant = described.typed_search_attributes.get(sa.TENANT)
    if tenant is None:
        return None
    first = described.raw_description.workflow_execution_info.first_run_id
    return RunTarget(
        workflow_id=described.id,
        tenant_id=tenant,
        execution_key=f"{described.id}@{first}" if first else None,
    )


async def save_feedback(
    pool: Pool,
    principal: Principal,
    run: RunTarget,
    feedback: Feedback,
    *,
    idempotency_key: str,
) -> FeedbackReceipt:
    """Store `feedback` on the run's latest response, once per `idempotency_key`.

    The caller vouches for `run.tenant_id` (read from Temporal, or the workflow's own input);
    this checks the principal against it. A replayed key returns the first receipt."""
    principal.require_tenant(run.tenant_id)
    async with pool.connection() as conn, conn.transaction():
        stored = await _stored(conn, idempotency_key)
        if stored is not None:
            return _replayed(stored, run, idempotency_key)
        rated = await load_response(conn, run)
        if rated is None:
            raise NotAnswered(
                f"run {run.workflow_id!r} has no daemon response yet: give feedback once it "
                "has answered"
            )
        problems = feedback_problems(feedback, rated.daemon)
        correction = None
        if feedback.correction is not None and not problems:
            correction = canonical_answer(feedback.correction, rated.daemon)
            if correction == rated.response:
                problems.append(
                    FieldProblem(
                        field="correction",
                        message="is the daemon's own answer; give a thumbs up instead",
                    )
                )
        if problems:
            raise InvalidFeedback(problems)
        cursor = await conn.execute(
            """INSERT INTO run_feedback (idempotency_key, tenant_id, workflow_id, run_id, daemon,
                   given_by, given_by_role, thumbs, rating, correction, comment, response, task,
                   outcome, guardrail_reviews, models, prompt_versions)
               VALUES (%s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s)
               ON CONFLICT (idempotency_key) DO NOTHING
               RETURNING id, workflow_id, run_id, daemon, created_at""",
            (
                idempotency_key,
                run.tenant_id,
                run.workflow_id,
                rated.run_id,
                rated.daemon,
                principal.id,
                principal.role.value,
                feedback.thumbs.value if feedback.thumbs else None,
                feedback.rating,
                Jsonb(correction) if correction is not None else None,
                feedback.comment,
                Jsonb(rated.response) if rated.response is not None else None,
                rated.task,
                rated.outcome.value if rated.outcome else None,
                rated.guardrail_reviews,
                Jsonb(rated.models),
                Jsonb(rated.prompt_versions),
            ),
        )
        row = await cursor.fetchone()
        if row is None:  # a concurrent retry with the same key won the insert
            stored = await _stored(conn, idempotency_key)
            assert stored is not None
            return _replayed(stored, run, idempotency_key)
        return _receipt(row)


async def load_response(conn: Conn, run: RunTarget) -> DaemonResponse | None:
    """The response feedback on `run` rates: the last valid answer of the conversation (daemon
    loop) that spoke last and has answered or ended; an earlier loop's answer while a later one
    (an onboarding revision) is still thinking. None when no daemon of the run has answered."""
    prefix = run.execution_key or f"{run.workflow_id}@"
    cursor = await conn.execute(
        """SELECT run_id, role, thread, model, prompt_name, prompt_version,
                  row_number() OVER (ORDER BY created_at, thread, turn) AS n
           FROM model_calls WHERE starts_with(run_id, %s) ORDER BY n""",
        (prefix,),
    )
    by_loop: dict[str, list[dict[str, Any]]] = {}
    for row in await cursor.fetchall():
        # A chain's key, or the key and `/<loop>`: never the start of a longer run id.
        key = run.execution_key
        if key is None or row["run_id"] == key or row["run_id"].startswith(f"{key}/"):
            by_loop.setdefault(row["run_id"], []).append(row)
    latest_first = sorted(by_loop, key=lambda r: by_loop[r][-1]["n"], reverse=True)
    states = await loop_states(conn, latest_first)
    for run_id in latest_first:
        calls = by_loop[run_id]
        daemon = calls[0]["prompt_name"].rsplit(".", 1)[0]  # prompts are `<daemon>.<role>`
        outcome, reviews = states[run_id]
        task, response = await _task_and_answer(conn, run_id, daemon)
        if outcome is not None and outcome not in _ANSWERED:
            response = None
        if response is None and outcome is None:
            continue  # still thinking: rate the loop before it, if any
        return DaemonResponse(
            workflow_id=run.workflow_id,
            run_id=run_id,
            daemon=daemon,
            task=task,
            response=response,
            outcome=outcome,
            guardrail_reviews=reviews,
            models=_per_role(calls, "model"),
            prompt_versions=_per_role(calls, "prompt_version"),
        )
    return None


async def loop_states(conn: Conn, run_ids: list[str]) -> dict[str, tuple[Outcome | None, int]]:
    """(outcome, guardrail reviews) of each daemon loop: the outcome from the loop's outcome
    notification (dedupe key `<run id>/<outcome>`, see DaemonLoop._notify), None while it
    runs; the reviews from the judge's calls (one `judge-<turn>` thread per review)."""
    keys = {
        f"{run_id}/{outcome.value}": (run_id, outcome) for run_id in run_ids for outcome in Outcome
    }
    cursor = await conn.execute(
        "SELECT dedupe_key FROM notification_outbox WHERE dedupe_key = ANY(%s)", (list(keys),)
    )
    ended = dict(keys[row["dedupe_key"]] for row in await cursor.fetchall())
    cursor = await conn.execute(
        """SELECT run_id, count(DISTINCT thread) AS reviews FROM model_calls
           WHERE run_id = ANY(%s) AND role = 'judge' GROUP BY run_id""",
        (run_ids,),
    )
    reviews = {row["run_id"]: int(row["reviews"]) for row in await cursor.fetchall()}
    return {run_id: (ended.get(run_id), reviews.get(run_id, 0)) for run_id in run_ids}


async def load_feedback(pool: Pool, *, tenant_id: str | None = None) -> list[StoredFeedback]:
    """Every feedback row (of one tenant, or all), oldest first, with each loop's outcome and
    review count brought up to date: feedback given while a run went on has none stored."""
    async with pool.connection() as conn:
        cursor = await conn.execute(
            """SELECT * FROM run_feedback WHERE %(tenant)s::text IS NULL OR tenant_id = %(tenant)s
               ORDER BY id""",
            {"tenant": tenant_id},
        )
        rows = await cursor.fetchall()
        states = await loop_states(conn, sorted({row["run_id"] for row in rows}))
    found = []
    for row in rows:
        outcome, reviews = states[row["run_id"]]
        found.append(
            StoredFeedback.model_validate(
                {
                    **row,
                    "outcome": row["outcome"] or outcome,
                    "guardrail_reviews": max(row["guardrail_reviews"], reviews),
                }
            )
        )
    return found


async def _task_and_answer(
    conn: Conn, run_id: str, daemon: str
) -> tuple[str, dict[str, Any] | None]:
    """The executor's opening text, and its last `respond` call that validates (an invalid
    one was sent back for repair and never became the answer)."""
    cursor = await conn.execute(
        """SELECT role, content FROM transcript_entries
           WHERE run_id = %s AND thread = 'executor' ORDER BY turn, position""",
        (run_id,),
    )
    entries = await cursor.fetchall()
    task = next(
        (
            "\n".join(b["text"] for b in entry["content"] if b.get("type") == "text")
            for entry in entries
            if entry["role"] == "user"
        ),
        "",
    )
    output_model = daemon_spec(daemon).output_model
    answer = None
    for entry in entries:
        for block in entry["content"] if entry["role"] == "assistant" else []:
            if block.get("type") != "tool_use" or block.get("name") != RESPOND:
                continue
            try:
                answer = output_model.model_validate(block.get("input") or {}).model_dump(
                    mode="json"
                )
            except ValidationError:
                continue
    return task, answer


def _per_role(calls: list[dict[str, Any]], column: str) -> dict[str, list[str]]:
    found: dict[str, list[str]] = {}
    for row in calls:
        values = found.setdefault(row["role"], [])
        if row[column] not in values:
            values.append(row[column])
    return found


async def _stored(conn: Conn, idempotency_key: str) -> dict[str, Any] | None:
    cursor = await conn.execute(
        """SELECT id, tenant_id, workflow_id, run_id, daemon, created_at FROM run_feedback
           WHERE idempotency_key = %s""",
        (idempotency_key,),
    )
    return await cursor.fetchone()


def _replayed(stored: dict[str, Any], run: RunTarget, idempotency_key: str) -> FeedbackReceipt:
    if stored["tenant_id"] != run.tenant_id or stored["workflow_id"] != run.workflow_id:
        raise InvalidRequest(
            f"idempotency key {idempotency_key!r} was already used for feedback on another run"
        )
    return _receipt(stored)


def _receipt(row: dict[str, Any]) -> FeedbackReceipt:
    return FeedbackReceipt(
        feedback_id=row["id"],
        workflow_id=row["workflow_id"],
        run_id=row["run_id"],
        daemon=row["daemon"],
        recorded_at=row["created_at"],
    )
