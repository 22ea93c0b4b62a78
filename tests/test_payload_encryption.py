"""No payload of any workflow type holds tenant data in the clear.

Every workflow type runs for real (with children), then each history is read WITHOUT the
codec, as Temporal's database and UI hold it: every payload outside search attributes and
headers is ciphertext, and the whole history contains none of the tenants' bank descriptors,
vendor or people's names, emails or amounts. Through the codec the same history decodes.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from typing import Any

from google.protobuf.message import Message
from temporalio import workflow
from temporalio.api.common.v1 import Payload
from temporalio.api.enums.v1 import EventType
from temporalio.client import Client, WorkflowHandle
from temporalio.testing import WorkflowEnvironment

from accounting.principals import Principal, Role
from ledgerd.onboarding import Action
from ledgerd.receipts import CLEAR
from ledgerd.runtime import Dependencies
from ledgerd.security.codec import ENCODING
from starter import (
    start_batch_hydration,
    start_client_onboarding,
    start_ledger_question,
    start_vendor_hydration,
)
from tests._onboarding import ACCOUNTANT as INITECH_ACCOUNTANT
from tests._onboarding import decide, initech, onboarding_request
from tests.conftest import running_worker
from workflows import ALL_WORKFLOWS, ClientOnboarding

ACME = Principal(id="acme-accountant", tenant_id="acme", role=Role.ACCOUNTANT)
UNSCANNED = ("search_attributes", "header")
UPDATE_COMPLETED = EventType.EVENT_TYPE_WORKFLOW_EXECUTION_UPDATE_COMPLETED


def payloads(message: Message) -> Iterator[Payload]:
    """Every Payload inside `message`, except in search attributes and headers."""
    for field, value in message.ListFields():
        if field.name in UNSCANNED or field.message_type is None:
            continue
        if field.message_type.GetOptions().map_entry:
            items = list(value.values())
        elif field.is_repeated:
            items = list(value)
        else:
            items = [value]
        for item in items:
            if not isinstance(item, Message):
                continue
            if isinstance(item, Payload):
                yield item
            else:
                yield from payloads(item)


async def secrets_of_the_tenants(deps: Dependencies) -> list[str]:
    """What must never be readable: descriptors, names, emails, amounts (6+ characters, so a
    random ciphertext byte run cannot match one by chance)."""
    found: set[str] = set()
    async with deps.pool.connection() as conn:
        for sql in (
            "SELECT DISTINCT raw_descriptor AS v FROM bank_transactions",
            "SELECT DISTINCT canonical_name AS v FROM vendors",
            "SELECT display_name AS v FROM principals UNION SELECT email FROM principals",
            "SELECT legal_name AS v FROM client_profiles UNION SELECT contact_email FROM client_profiles",
            "SELECT DISTINCT abs(amount)::text AS v FROM bank_transactions",
        ):
            cursor = await conn.execute(sql)
            found |= {str(row["v"]) for row in await cursor.fetchall() if row["v"]}
    found |= {"Initech LLC", "cfo@initech.example", "How much did we spend on software"}
    return sorted(v for v in found if len(v) >= 6)


async def test_no_payload_of_any_workflow_type_is_readable_without_the_codec(
    time_skipping_env: WorkflowEnvironment, seeded_deps: Dependencies
) -> None:
    await initech(seeded_deps.pool)
    client = time_skipping_env.client
    async with running_worker(time_skipping_env) as queue:
        runs: list[WorkflowHandle[Any, Any]] = [
            await start_vendor_hydration(
                client,
                principal=ACME,
                descriptor="SQ *BLUE BOTTLE COFF OAKLAND CA",
                task_queue=queue,
            ),
            await start_ledger_question(
                client,
                principal=ACME,
                question="How much did we spend on software in Q3 2025 versus Q2 2025?",
                task_queue=queue,
            ),
            await start_batch_hydration(
                client, principal=ACME, max_concurrency=1, task_queue=queue
            ),
            await start_client_onboarding(
                client,
                onboarding_request(
                    top_vendors=1,
                    profile={
                        "legal_name": "Initech LLC",
                        "industry": "Software",
                        "country": "US",
                        "contact_email": "cfo@initech.example",
                    },
                ),
                task_queue=queue,
                workflow_id=f"client-onboarding-{uuid.uuid4()}",
            ),
        ]
        onboarding = client.get_workflow_handle_for(ClientOnboarding.run, runs[-1].id)
        from starter import wait_for_proposal

        await wait_for_proposal(onboarding)
        await decide(
            time_skipping_env, onboarding.id, approver=INITECH_ACCOUNTANT, action=Action.APPROVE
        )
        for run in runs[:2] + runs[3:]:
            await run.result()
        await runs[2].terminate("enough merchants for the scan")  # acme has hundreds

    secrets = await secrets_of_the_tenants(seeded_deps)
    plain = await Client.connect(client.service_client.config.target_host)  # no codec
    seen_types: set[str] = set()
    pending = [run.id for run in runs]
    scanned = 0
    while pending:
        workflow_id = pending.pop()
        history = await plain.get_workflow_handle(workflow_id).fetch_history()
        for event in history.events:
            if event.event_type == EventType.EVENT_TYPE_WORKFLOW_EXECUTION_STARTED:
                seen_types.add(event.workflow_execution_started_event_attributes.workflow_type.name)
            if event.event_type == EventType.EVENT_TYPE_START_CHILD_WORKFLOW_EXECUTION_INITIATED:
                pending.append(
                    event.start_child_workflow_execution_initiated_event_attributes.workflow_id
                )
            if event.event_type == EventType.EVENT_TYPE_MARKER_RECORDED:
                # The SDK's own patch markers (`workflow.patched` ids): scanned below, as bytes.
                assert event.marker_recorded_event_attributes.marker_name == "core_patch"
                continue
            for payload in payloads(event):
                scanned += 1
                if CLEAR in payload.metadata:
                    # An Update's receipt (ids, action, time), readable by the plain CLI; the
                    # scan of the raw bytes below still finds no tenant data in it.
                    assert event.event_type == UPDATE_COMPLETED, (workflow_id, event.event_type)
                    continue
                assert payload.metadata["encoding"] == ENCODING, (workflow_id, event.event_type)
        raw = b"".join(event.SerializeToString() for event in history.events)
        leaked = [s for s in secrets if s.encode() in raw]
        assert leaked == [], f"{workflow_id} holds in the clear: {leaked[:5]}"
    assert seen_types == {workflow._Definition.must_from_class(w).name for w in ALL_WORKFLOWS}
    assert scanned > 100
    # Through the codec (the ledgerd client's converter), the same input reads in the clear.
    started = (await plain.get_workflow_handle(runs[0].id).fetch_history()).events[0]
    [encrypted] = started.workflow_execution_started_event_attributes.input.payloads
    [decoded] = await client.data_converter.payload_codec.decode([encrypted])  # type: ignore[union-attr]
    assert b"SQ *BLUE BOTTLE COFF OAKLAND CA" in decoded.data
