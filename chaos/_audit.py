"""After a scenario: every mutating effect counted in PostgreSQL (and at the webhook
receiver), and every open workflow checked for something it waits on."""

from __future__ import annotations

import psycopg
from temporalio.api.enums.v1 import EventType
from temporalio.client import Client

from chaos._report import ScenarioReport
from chaos._webhook import WebhookReceiver
from chaos._workload import CHART_ROWS, HYDRATION, ONBOARDING, Workload


async def count_effects(
    database_url: str, workload: Workload, receiver: WebhookReceiver, report: ScenarioReport
) -> None:
    completed = [d for d in workload.daemons if d.kind == HYDRATION and d.outcome == "completed"]
    hydrated = [d for d in completed if d.vendor_id is not None]
    onboarded = [d.tenant_id for d in workload.daemons if d.kind == ONBOARDING]
    workflow_ids = [d.workflow_id for d in workload.daemons]
    transaction_ids = [t for d in hydrated for t in d.transaction_ids]
    async with await psycopg.AsyncConnection.connect(database_url) as conn:

        async def one(query: str, *params: object) -> int:
            row = await (await conn.execute(query, params)).fetchone()
            return int(row[0]) if row and row[0] is not None else 0

        report.effects["hydrations that found no vendor"] = len(completed) - len(hydrated)
        report.effects["vendors written"] = await one(
            "SELECT count(*) FROM vendors WHERE updated_at > now() - interval '1 day'"
        )
        report.duplicates["vendors (same tenant and name)"] = await one(
            """SELECT coalesce(sum(n - 1), 0) FROM (SELECT count(*) n FROM vendors
               GROUP BY tenant_id, lower(canonical_name) HAVING count(*) > 1) d"""
        )
        report.duplicates["descriptors listed twice on a vendor"] = await one(
            """SELECT count(*) FROM vendors v WHERE cardinality(v.descriptors)
               <> (SELECT count(DISTINCT x) FROM unnest(v.descriptors) x)"""
        )
        report.effects["transactions linked"] = await one(
            "SELECT count(*) FROM bank_transactions WHERE id = ANY(%s) AND vendor_id IS NOT NULL",
            transaction_ids,
        )
        report.missing["links of completed hydrations"] = (
            len(transaction_ids) - report.effects["transactions linked"]
        )
        report.effects["accounts applied"] = await one(
            "SELECT count(*) FROM accounts WHERE tenant_id = ANY(%s)", onboarded
        )
        applied = await one(
            "SELECT count(*) FROM onboarding_records WHERE tenant_id = ANY(%s) AND status = 'applied'",
            onboarded,
        )
        applied_tenants = await one(
            """SELECT count(DISTINCT tenant_id) FROM onboarding_records
               WHERE tenant_id = ANY(%s) AND status = 'applied'""",
            onboarded,
        )
        report.effects["onboardings applied"] = applied
        report.duplicates["onboardings applied twice"] = applied - applied_tenants
        report.missing["accounts of applied onboardings"] = (
            applied_tenants * CHART_ROWS - report.effects["accounts applied"]
        )
        report.effects["notifications queued"] = await one(
            "SELECT count(*) FROM notification_outbox WHERE workflow_id = ANY(%s)", workflow_ids
        )
        report.duplicates["notifications queued twice"] = await one(
            """SELECT coalesce(sum(n - 1), 0) FROM (SELECT count(*) n FROM notification_outbox
               WHERE workflow_id = ANY(%s) GROUP BY workflow_id, kind, subject
               HAVING count(*) > 1) d""",
            workflow_ids,
        )
        report.missing["notifications not delivered"] = await one(
            """SELECT count(*) FROM notification_outbox
               WHERE workflow_id = ANY(%s) AND delivered_at IS NULL""",
            workflow_ids,
        )
    ours = set(workflow_ids)
    received = {k: n for k, n in receiver.keys.items() if receiver.workflows.get(k) in ours}
    report.effects["notifications received"] = len(received)
    # A sender killed between a webhook's answer and recording it sends again after its
    # retry, with the same Idempotency-Key: at-least-once delivery, which no sender can
    # avoid alone, made exactly-once by the receiver's dedupe on the key. Counted, shown,
    # and not a duplicate; a second key for one notification would be (queued twice, above).
    report.effects["notifications redelivered under the same key"] = sum(
        n - 1 for n in received.values()
    )


async def stuck_workflows(client: Client, task_queue: str) -> list[str]:
    """Open workflows of the run waiting on nothing: no workflow task, activity, child,
    timer or approval pending. Such a run would never move again by itself."""
    stuck = []
    async for execution in client.list_workflows(
        f"TaskQueue = '{task_queue}' AND ExecutionStatus = 'Running'"
    ):
        handle = client.get_workflow_handle(execution.id)
        raw = (await handle.describe()).raw_description
        if raw.pending_activities or raw.pending_children or raw.HasField("pending_workflow_task"):
            continue
        timers: set[int] = set()
        async for event in handle.fetch_history_events():
            if event.event_type == EventType.EVENT_TYPE_TIMER_STARTED:
                timers.add(event.event_id)
            elif event.event_type == EventType.EVENT_TYPE_TIMER_FIRED:
                timers.discard(event.timer_fired_event_attributes.started_event_id)
            elif event.event_type == EventType.EVENT_TYPE_TIMER_CANCELED:
                timers.discard(event.timer_canceled_event_attributes.started_event_id)
        if timers:
            continue  # a wait with a timeout (an approval's reminder, a backoff) ends by itself
        stuck.append(execution.id)
    return stuck
