"""Fetch what `build_trace` joins: the workflow history (following continue-as-new) from
Temporal, and the run's rows from PostgreSQL."""

from __future__ import annotations

import contextlib
from collections.abc import Sequence
from typing import Any

from temporalio.api.common.v1 import Payloads
from temporalio.api.enums.v1 import EventType
from temporalio.api.failure.v1 import Failure
from temporalio.api.history.v1 import HistoryEvent
from temporalio.client import Client
from temporalio.converter import DataConverter

from ledgerd.db import Conn
from ledgerd.trace._build import build_trace, conversations
from ledgerd.trace._model import DecisionTrace

MAX_RUNS = 100  # a guard against a loop in a (corrupt) continue-as-new chain


async def fetch_history_chain(
    client: Client, workflow_id: str, run_id: str | None = None
) -> list[HistoryEvent]:
    """The events of the run (latest when `run_id` is None) and, when it continued as new,
    of each following run, in order."""
    events: list[HistoryEvent] = []
    for _ in range(MAX_RUNS):
        history = await client.get_workflow_handle(workflow_id, run_id=run_id).fetch_history()
        events.extend(history.events)
        last = history.events[-1] if history.events else None
        if (
            last is None
            or last.event_type != EventType.EVENT_TYPE_WORKFLOW_EXECUTION_CONTINUED_AS_NEW
        ):
            break
        run_id = last.workflow_execution_continued_as_new_event_attributes.new_execution_run_id
    return events


async def decode_history(events: list[HistoryEvent], converter: DataConverter) -> None:
    """Decode, in place, what a trace reads of `events` with the client's codec (payloads are
    encrypted in history): summaries, the memo, activity inputs and results, the workflow's
    result, and every failure's message (failures keep it in encrypted attributes)."""
    codec = converter.payload_codec
    if codec is None:
        return

    async def decode(payloads: Payloads) -> None:
        if payloads.payloads:
            await codec.decode_wrapper(payloads)

    async def reveal(failure: Failure) -> None:
        await codec.decode_failure(failure)
        current: Failure | None = failure
        while current is not None:
            # As the SDK's failure converter does: the real message is in the attributes.
            if current.HasField("encoded_attributes"):
                with contextlib.suppress(Exception):
                    attributes = converter.payload_converter.from_payloads(
                        [current.encoded_attributes]
                    )[0]
                    if isinstance(attributes, dict):
                        current.message = str(attributes.get("message") or current.message)
                        current.stack_trace = str(attributes.get("stack_trace") or "")
            current = current.cause if current.HasField("cause") else None

    for event in events:
        if event.HasField("user_metadata") and event.user_metadata.HasField("summary"):
            summary = Payloads(payloads=[event.user_metadata.summary])
            await decode(summary)
            event.user_metadata.summary.CopyFrom(summary.payloads[0])
        kind = event.event_type
        if kind == EventType.EVENT_TYPE_WORKFLOW_EXECUTION_STARTED:
            memo = event.workflow_execution_started_event_attributes.memo
            for key in list(memo.fields):
                fields = Payloads(payloads=[memo.fields[key]])
                await decode(fields)
                memo.fields[key].CopyFrom(fields.payloads[0])
        elif kind == EventType.EVENT_TYPE_ACTIVITY_TASK_SCHEDULED:
            await decode(event.activity_task_scheduled_event_attributes.input)
        elif kind == EventType.EVENT_TYPE_ACTIVITY_TASK_COMPLETED:
            await decode(event.activity_task_completed_event_attributes.result)
        elif kind == EventType.EVENT_TYPE_WORKFLOW_EXECUTION_COMPLETED:
            await decode(event.workflow_execution_completed_event_attributes.result)
        for failure in _failures(event):
            await reveal(failure)


def _failures(event: HistoryEvent) -> list[Failure]:
    """The failures an event carries, as the trace reads them."""
    kind = event.event_type
    if kind == EventType.EVENT_TYPE_ACTIVITY_TASK_FAILED:
        return [event.activity_task_failed_event_attributes.failure]
    if kind == EventType.EVENT_TYPE_ACTIVITY_TASK_TIMED_OUT:
        return [event.activity_task_timed_out_event_attributes.failure]
    if kind == EventType.EVENT_TYPE_WORKFLOW_EXECUTION_FAILED:
        return [event.workflow_execution_failed_event_attributes.failure]
    if kind == EventType.EVENT_TYPE_CHILD_WORKFLOW_EXECUTION_FAILED:
        return [event.child_workflow_execution_failed_event_attributes.failure]
    if kind == EventType.EVENT_TYPE_WORKFLOW_TASK_FAILED:
        return [event.workflow_task_failed_event_attributes.failure]
    if kind == EventType.EVENT_TYPE_WORKFLOW_EXECUTION_UPDATE_COMPLETED:
        outcome = event.workflow_execution_update_completed_event_attributes.outcome
        return [outcome.failure] if outcome.HasField("failure") else []
    return []


Rows = tuple[list[dict[str, Any]], list[dict[str, Any]], list[dict[str, Any]]]


async def fetch_rows(conn: Conn, workflow_id: str, conversations: Sequence[str] = ()) -> Rows:
    """(transcript_entries, model_calls, notification_outbox) rows of one workflow: of its
    conversations (transcript run ids), or when none are given of every conversation keyed by
    the workflow id (`<workflow id>@<first run id>`, see workflows/_keys.py)."""
    run_ids = list(conversations)
    # With no conversation named, match the id's execution keys instead of the bare id.
    prefix = f"{workflow_id}@%"
    transcript = await conn.execute(
        """SELECT run_id, thread, turn, position, role, content, created_at
           FROM transcript_entries WHERE run_id = ANY(%s) OR (%s AND run_id LIKE %s)
           ORDER BY run_id, thread, turn, position""",
        (run_ids, not run_ids, prefix),
    )
    transcript_rows = await transcript.fetchall()
    calls = await conn.execute(
        """SELECT * FROM model_calls WHERE run_id = ANY(%s) OR (%s AND run_id LIKE %s)
           ORDER BY created_at, thread, turn""",
        (run_ids, not run_ids, prefix),
    )
    call_rows = await calls.fetchall()
    outbox = await conn.execute(
        "SELECT * FROM notification_outbox WHERE workflow_id = %s ORDER BY id", (workflow_id,)
    )
    return transcript_rows, call_rows, await outbox.fetchall()


async def load_trace(
    client: Client,
    conn: Conn | None,
    workflow_id: str,
    *,
    run_id: str | None = None,
    temporal_ui: str | None = None,
) -> DecisionTrace:
    """Fetch a run's history (and its continue-as-new successors) and database rows, and
    build its trace. Without a database connection the trace comes from history alone."""
    events = await fetch_history_chain(client, workflow_id, run_id)
    converter = client.data_converter
    await decode_history(events, converter)
    rows: Rows = ([], [], [])
    if conn is not None:
        found = conversations(events, converter.payload_converter)
        rows = await fetch_rows(conn, workflow_id, found)
    trace = build_trace(
        events,
        *rows,
        workflow_id=workflow_id,
        temporal_ui=temporal_ui,
        payload_converter=converter.payload_converter,
    )
    if conn is None:
        trace.notes.append(
            "no database: latency, prompt names and judge tokens are missing; tokens come "
            "from history alone"
        )
    return trace
