"""The HTTP API end to end: the real app over ASGI, Temporal's time-skipping server with a real
worker, real PostgreSQL and the offline model behind the anthropic SDK.

Every start goes through a client interceptor that records it, so "a malformed request never
starts a workflow" is checked against what actually reached Temporal.
"""

from __future__ import annotations

import asyncio
import hashlib
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from typing import Any

import httpx
import pytest
from temporalio.client import (
    Client,
    Interceptor,
    OutboundInterceptor,
    StartWorkflowInput,
    WorkflowExecutionStatus,
    WorkflowHandle,
)
from temporalio.testing import WorkflowEnvironment

from demo_seed import demo_token
from ledgerd.api import create_app
from ledgerd.config import load_settings
from ledgerd.runtime import Dependencies
from standin import OfflineModelServer
from tests._ledger import BLUE_BOTTLE, UBER, small_ledger
from tests._onboarding import QUICKBOOKS_CHART, initech
from tests.conftest import running_worker

PRINCIPALS = [
    ("acme-owner", "acme", "owner"),
    ("acme-accountant", "acme", "accountant"),
    ("acme-viewer", "acme", "viewer"),
    ("acme-service", "acme", "service"),
    ("globex-accountant", "globex", "accountant"),
]


def auth(principal_id: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {demo_token(principal_id)}"}


ACCOUNTANT = auth("acme-accountant")


async def seed(deps: Dependencies) -> None:
    await small_ledger(deps.pool)
    async with deps.pool.connection() as conn, conn.transaction():
        await conn.execute("INSERT INTO tenants (id, name) VALUES ('globex', 'Globex Coffee')")
        for principal_id, tenant, role in PRINCIPALS:
            await conn.execute(
                "INSERT INTO principals (id, tenant_id, display_name, role, token_sha256) "
                "VALUES (%s, %s, %s, %s, %s) ON CONFLICT (id) DO UPDATE "
                "SET token_sha256 = EXCLUDED.token_sha256",
                (
                    principal_id,
                    tenant,
                    principal_id,
                    role,
                    hashlib.sha256(demo_token(principal_id).encode()).hexdigest(),
                ),
            )


class RecordStarts(Interceptor):
    """Records the id of every workflow start that reaches the Temporal client."""

    def __init__(self) -> None:
        self.ids: list[str] = []

    def intercept_client(self, next: OutboundInterceptor) -> OutboundInterceptor:
        recorder = self

        class Recording(OutboundInterceptor):
            async def start_workflow(self, input: StartWorkflowInput) -> WorkflowHandle[Any, Any]:
                recorder.ids.append(input.id)
                return await super().start_workflow(input)

        return Recording(next)


@dataclass
class Api:
    http: httpx.AsyncClient
    client: Client
    starts: RecordStarts
    started: list[str] = field(default_factory=list)

    async def start(self, body: dict[str, Any], token: dict[str, str] = ACCOUNTANT) -> str:
        response = await self.http.post("/v1/vendor-hydrations", json=body, headers=token)
        assert response.status_code == 202, response.text
        workflow_id: str = response.json()["workflow_id"]
        self.started.append(workflow_id)
        return workflow_id

    async def poll(
        self,
        path: str,
        token: dict[str, str] = ACCOUNTANT,
        until: Callable[[httpx.Response], bool] = lambda r: r.status_code != 409,
        seconds: float = 60,
    ) -> httpx.Response:
        deadline = asyncio.get_running_loop().time() + seconds
        while True:
            response = await self.http.get(path, headers=token)
            if until(response):
                return response
            if asyncio.get_running_loop().time() > deadline:
                raise AssertionError(f"timed out polling {path}: {response.text}")
            await asyncio.sleep(0.2)


@asynccontextmanager
async def serving(
    env: WorkflowEnvironment,
    deps: Dependencies,
    model: OfflineModelServer,
    queue: str,
    **overrides: object,
) -> AsyncIterator[Api]:
    """The API on `queue`; `overrides` change its settings (limits, ceilings)."""
    starts = RecordStarts()
    config = env.client.config()
    config["interceptors"] = [*config["interceptors"], starts]
    client = Client(**config)
    settings = load_settings(
        database_url=deps.settings.effective_database_url,
        task_queue=queue,
        offline_model_port=model.port,
        **overrides,
    )
    app = create_app(settings, temporal_client=client, pool=deps.pool)
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://api") as http:
        api = Api(http=http, client=client, starts=starts)
        try:
            yield api
        finally:
            # Runs left going would hold their ids (and a worker-less queue) for later tests.
            for workflow_id in api.started:
                handle = client.get_workflow_handle(workflow_id)
                if (await handle.describe()).status == WorkflowExecutionStatus.RUNNING:
                    await handle.terminate("test finished")


@pytest.fixture
async def api(
    time_skipping_env: WorkflowEnvironment, deps: Dependencies, model_server: OfflineModelServer
) -> AsyncIterator[Api]:
    """The API with a worker polling its task queue."""
    await seed(deps)
    async with (
        running_worker(time_skipping_env) as queue,
        serving(time_skipping_env, deps, model_server, queue) as served,
    ):
        yield served


@pytest.fixture
async def idle_api(
    time_skipping_env: WorkflowEnvironment, deps: Dependencies, model_server: OfflineModelServer
) -> AsyncIterator[Api]:
    """The API on a task queue nobody polls: whatever it starts stays running."""
    await seed(deps)
    async with serving(time_skipping_env, deps, model_server, "test-api-nobody-polls") as served:
        yield served


def error_of(response: httpx.Response) -> dict[str, Any]:
    body = response.json()
    assert set(body) == {"error"}, body
    error: dict[str, Any] = body["error"]
    assert error["type"] and error["message"], error
    return error


# ---------------------------------------------------------------------------- vendor hydration


async def test_hydration_starts_with_202_and_its_result_can_be_polled(api: Api) -> None:
    response = await api.http.post(
        "/v1/vendor-hydrations", json={"descriptor": BLUE_BOTTLE}, headers=ACCOUNTANT
    )
    assert response.status_code == 202, response.text
    started = response.json()
    workflow_id = started["workflow_id"]
    api.started.append(workflow_id)
    assert workflow_id.startswith("vendor-hydration-acme-")
    assert started["run_id"]
    assert started["status_url"] == response.headers["location"] == f"/v1/runs/{workflow_id}"

    status = await api.http.get(started["status_url"], headers=ACCOUNTANT)
    assert status.status_code == 200, status.text
    assert status.json()["workflow_type"] == "VendorHydration"
    assert status.json()["status"] in {"running", "completed"}
    assert status.json()["search_attributes"]["LedgerdTenant"] == "acme"
    assert status.json()["search_attributes"]["LedgerdDaemon"] == "vendor_hydration"

    result = await api.poll(started["result_url"])
    assert result.status_code == 200, result.text
    body = result.json()
    assert body["status"] == "completed"
    assert body["result"]["outcome"] == "completed", body
    assert body["result"]["answer"]["canonical_name"] == "Blue Bottle Coffee"
    assert body["result"]["answer"]["linked_transactions"] == 3

    final = (await api.http.get(started["status_url"], headers=ACCOUNTANT)).json()
    assert final["status"] == "completed"
    assert final["search_attributes"]["LedgerdOutcome"] == "completed"
    assert final["closed_at"] is not None


async def test_hydration_by_transaction_ids_as_a_service(api: Api) -> None:
    workflow_id = await api.start(
        {"transaction_ids": ["acme-t4", "acme-t5"], "budget": {"max_steps": 20}},
        token=auth("acme-service"),
    )
    result = await api.poll(f"/v1/runs/{workflow_id}/result", token=auth("acme-service"))
    assert result.json()["result"]["answer"]["canonical_name"] == "Uber", result.text


async def test_starting_the_same_hydration_while_it_runs_is_409(idle_api: Api) -> None:
    workflow_id = await idle_api.start({"descriptor": UBER})
    again = await idle_api.http.post(
        "/v1/vendor-hydrations", json={"descriptor": UBER}, headers=auth("acme-owner")
    )
    assert again.status_code == 409, again.text
    error = error_of(again)
    assert error["type"] == "already_running"
    assert error["workflow_id"] == workflow_id
    assert "already running" in error["message"] and f"/v1/runs/{workflow_id}" in error["message"]

    still = await idle_api.http.get(f"/v1/runs/{workflow_id}/result", headers=ACCOUNTANT)
    assert still.status_code == 409
    assert error_of(still)["type"] == "still_running"


async def test_a_start_repeated_with_its_idempotency_key_gets_the_same_run(api: Api) -> None:
    # The client lost the answer (the API restarted mid-request) and sends it again, after
    # the run has finished: the same run, not a second hydration.
    keyed = {**auth("acme-owner"), "Idempotency-Key": "order-7f3a"}
    first = await api.http.post("/v1/vendor-hydrations", json={"descriptor": UBER}, headers=keyed)
    assert first.status_code == 202, first.text
    api.started.append(first.json()["workflow_id"])
    assert (await api.poll(first.json()["result_url"])).json()["status"] == "completed"
    again = await api.http.post("/v1/vendor-hydrations", json={"descriptor": UBER}, headers=keyed)
    assert again.status_code == 202, again.text
    assert again.json() == first.json()
    # Another key is another request: hydrating the same vendor again is allowed once done.
    other = {**auth("acme-owner"), "Idempotency-Key": "order-7f3b"}
    fresh = await api.http.post("/v1/vendor-hydrations", json={"descriptor": UBER}, headers=other)
    assert fresh.status_code == 202, fresh.text
    assert fresh.json()["workflow_id"] == first.json()["workflow_id"]
    assert fresh.json()["run_id"] != first.json()["run_id"]
    await api.poll(fresh.json()["result_url"])

    # A question is one run per key; the same key from another principal is not found.
    body = {"question": "How much did we spend on software?"}
    asked = await api.http.post("/v1/questions", json=body, headers=keyed)
    assert asked.status_code == 202, asked.text
    api.started.append(asked.json()["workflow_id"])
    repeat = await api.http.post("/v1/questions", json=body, headers=keyed)
    assert repeat.json() == asked.json()
    stranger = {**auth("acme-viewer"), "Idempotency-Key": "order-7f3a"}
    theirs = await api.http.post("/v1/questions", json=body, headers=stranger)
    assert theirs.status_code == 202 and theirs.json()["workflow_id"] != asked.json()["workflow_id"]
    api.started.append(theirs.json()["workflow_id"])


async def test_batch_hydration_starts_and_completes(api: Api) -> None:
    response = await api.http.post(
        "/v1/vendor-hydrations/batch", json={"max_concurrency": 2}, headers=ACCOUNTANT
    )
    assert response.status_code == 202, response.text
    workflow_id = response.json()["workflow_id"]
    api.started.append(workflow_id)
    assert workflow_id == "hydrate-unlinked-acme"
    result = await api.poll(response.json()["result_url"], seconds=120)
    progress = result.json()["result"]["progress"]
    assert (progress["merchants"], progress["outcomes"]) == (2, {"completed": 2}), result.text


# ---------------------------------------------------------------------------- auth and tenancy


@pytest.mark.parametrize(
    "headers",
    [
        {},
        {"Authorization": "Bearer not-a-known-token"},
        {"Authorization": "Basic YWNtZTphY21l"},
        {"Authorization": "Bearer "},
    ],
    ids=["missing", "unknown", "not-bearer", "empty"],
)
async def test_requests_without_a_known_token_are_401(
    idle_api: Api, headers: dict[str, str]
) -> None:
    for method, path, body in [
        ("POST", "/v1/vendor-hydrations", {"descriptor": BLUE_BOTTLE}),
        ("POST", "/v1/onboardings", {}),
        ("GET", "/v1/runs/anything", None),
        ("GET", "/v1/approvals", None),
        ("POST", "/v1/approvals/anything/decision", {"approval_id": "a", "action": "approve"}),
    ]:
        response = await idle_api.http.request(method, path, json=body, headers=headers)
        assert response.status_code == 401, (path, response.text)
        assert response.headers["www-authenticate"] == "Bearer"
        error = error_of(response)
        assert error["type"] == "unauthorized"
        assert "not-a-known-token" not in response.text  # never echoed
    assert idle_api.starts.ids == []


async def test_another_tenants_run_is_404_like_a_missing_one(idle_api: Api) -> None:
    workflow_id = await idle_api.start({"descriptor": BLUE_BOTTLE})
    globex = auth("globex-accountant")
    for path in (f"/v1/runs/{workflow_id}", f"/v1/runs/{workflow_id}/result"):
        theirs = await idle_api.http.get(path, headers=globex)
        missing = await idle_api.http.get(path.replace(workflow_id, "no-such-run"), headers=globex)
        assert theirs.status_code == missing.status_code == 404
        assert error_of(theirs)["type"] == "not_found"
        # Word for word the answer about a run that does not exist: nothing is revealed.
        assert theirs.text.replace(workflow_id, "no-such-run") == missing.text
    decide = await idle_api.http.post(
        f"/v1/approvals/{workflow_id}/decision",
        json={"approval_id": "x", "action": "approve"},
        headers=globex,
    )
    assert decide.status_code == 404
    # ...while its own tenant sees it, whoever of the tenant asks.
    mine = await idle_api.http.get(f"/v1/runs/{workflow_id}", headers=auth("acme-viewer"))
    assert mine.status_code == 200 and mine.json()["status"] == "running"


async def test_a_viewer_or_service_cannot_decide_and_a_viewer_cannot_start(idle_api: Api) -> None:
    for principal_id in ("acme-viewer", "acme-service"):
        response = await idle_api.http.post(
            "/v1/approvals/client-onboarding-acme/decision",
            json={"approval_id": "x", "action": "approve"},
            headers=auth(principal_id),
        )
        assert response.status_code == 403, response.text
        assert error_of(response)["type"] == "forbidden"
        assert (
            "api 'POST /v1/approvals/{workflow_id}/decision' is for accountant, owner only"
            in error_of(response)["message"]
        )
    response = await idle_api.http.post(
        "/v1/vendor-hydrations", json={"descriptor": BLUE_BOTTLE}, headers=auth("acme-viewer")
    )
    assert response.status_code == 403
    assert idle_api.starts.ids == []


# ---------------------------------------------------------------------------- malformed requests


@pytest.mark.parametrize(
    ("body", "field", "words"),
    [
        (
            {"descriptor": BLUE_BOTTLE, "transaction_ids": ["acme-t1"]},
            "transaction_ids",
            "not both",
        ),
        ({}, "transaction_ids", "descriptor or transaction_ids"),
        ({"descriptor": 123}, "descriptor", "valid string"),
        ({"descriptor": "x"}, "descriptor", "at least 2 characters"),
        ({"transaction_ids": "acme-t1"}, "transaction_ids", "valid list"),
        ({"transaction_ids": []}, "transaction_ids", "at least 1 item"),
        ({"descriptor": BLUE_BOTTLE, "tenant_id": "globex"}, "tenant_id", "bearer token"),
        (
            {"descriptor": BLUE_BOTTLE, "budget": {"max_steps": 0}},
            "budget.max_steps",
            "greater than or equal to 1",
        ),
        ({"descriptor": BLUE_BOTTLE, "budget": {"max_stepz": 5}}, "budget.max_stepz", "unknown"),
        ({"descriptor": BLUE_BOTTLE, "colour": "blue"}, "colour", "unknown field"),
    ],
    ids=[
        "both-subjects",
        "no-subject",
        "descriptor-type",
        "descriptor-short",
        "ids-type",
        "ids-empty",
        "tenant-in-body",
        "budget-range",
        "budget-unknown",
        "unknown-field",
    ],
)
async def test_a_malformed_hydration_is_422_naming_the_field_and_starts_nothing(
    idle_api: Api, body: dict[str, Any], field: str, words: str
) -> None:
    response = await idle_api.http.post("/v1/vendor-hydrations", json=body, headers=ACCOUNTANT)
    assert response.status_code == 422, response.text
    error = error_of(response)
    assert error["type"] == "invalid_request"
    named = {f["field"]: f for f in error["fields"]}
    assert field in named, error
    assert named[field]["location"] == "body"
    assert words in named[field]["message"], named[field]
    assert field in error["message"]
    assert idle_api.starts.ids == []


async def test_other_malformed_requests_are_uniform_422s(idle_api: Api) -> None:
    not_json = await idle_api.http.post(
        "/v1/vendor-hydrations",
        content=b"{descriptor: nope",
        headers={**ACCOUNTANT, "Content-Type": "application/json"},
    )
    assert not_json.status_code == 422
    assert "not valid JSON" in error_of(not_json)["message"]
    assert [(f["field"], f["type"]) for f in error_of(not_json)["fields"]] == [("", "json_invalid")]
    batch = await idle_api.http.post(
        "/v1/vendor-hydrations/batch", json={"max_concurrency": 0}, headers=ACCOUNTANT
    )
    assert batch.status_code == 422
    assert [f["field"] for f in error_of(batch)["fields"]] == ["max_concurrency"]
    decision = await idle_api.http.post(
        "/v1/approvals/client-onboarding-acme/decision",
        json={"approval_id": "x", "action": "shrug", "approver": "acme-owner"},
        headers=ACCOUNTANT,
    )
    assert decision.status_code == 422
    fields = {f["field"]: f["message"] for f in error_of(decision)["fields"]}
    assert set(fields) == {"action", "approver"}
    assert "bearer token" in fields["approver"]
    assert idle_api.starts.ids == []


# ---------------------------------------------------------------------------- the app itself


async def test_unknown_routes_and_methods_answer_json_errors(idle_api: Api) -> None:
    missing = await idle_api.http.get("/v1/nothing-here", headers=ACCOUNTANT)
    assert missing.status_code == 404 and error_of(missing)["type"] == "not_found"
    wrong = await idle_api.http.delete("/v1/vendor-hydrations", headers=ACCOUNTANT)
    assert wrong.status_code == 405 and error_of(wrong)["type"] == "method_not_allowed"


async def test_an_unexpected_failure_is_a_json_500_without_details(
    idle_api: Api, deps: Dependencies
) -> None:
    app = create_app(load_settings(), temporal_client=idle_api.client, pool=deps.pool)

    async def boom() -> None:
        raise RuntimeError("internal detail that must not leak")

    app.add_api_route("/boom", boom)
    transport = httpx.ASGITransport(app=app, raise_app_exceptions=False)
    async with httpx.AsyncClient(transport=transport, base_url="http://api") as http:
        response = await http.get("/boom")
    assert response.status_code == 500
    assert error_of(response) == {
        "type": "internal",
        "message": "internal error; the API's log has the details",
    }


async def test_health_and_openapi(idle_api: Api) -> None:
    health = await idle_api.http.get("/health")
    assert health.json() == {"status": "ok", "temporal": True, "database": True}
    schema = (await idle_api.http.get("/openapi.json")).json()
    assert {
        "/v1/vendor-hydrations",
        "/v1/vendor-hydrations/batch",
        "/v1/onboardings",
        "/v1/runs/{workflow_id}",
        "/v1/runs/{workflow_id}/result",
        "/v1/approvals",
        "/v1/approvals/{workflow_id}/decision",
    } <= set(schema["paths"])
    assert schema["components"]["securitySchemes"]["token"]["scheme"] == "bearer"
    onboarding = schema["components"]["schemas"]["OnboardingBody"]["properties"]
    assert "tenant_id" not in onboarding and "principal" not in onboarding
    docs = await idle_api.http.get("/docs")
    assert docs.status_code == 200 and "swagger" in docs.text.lower()


async def test_created_app_opens_its_own_connections_in_its_lifespan(
    time_skipping_env: WorkflowEnvironment, deps: Dependencies
) -> None:
    # Without a client or pool given, the lifespan connects (as `python -m ledgerd.api` does).
    await seed(deps)
    settings = load_settings(
        database_url=deps.settings.effective_database_url,
        temporal_address=time_skipping_env.client.service_client.config.target_host,
    )
    app = create_app(settings)
    transport = httpx.ASGITransport(app=app)
    async with (
        app.router.lifespan_context(app),
        httpx.AsyncClient(transport=transport, base_url="http://api") as http,
    ):
        health = await http.get("/health")
        assert health.json() == {"status": "ok", "temporal": True, "database": True}
        missing = await http.get("/v1/runs/no-such-run", headers=ACCOUNTANT)
        assert missing.status_code == 404, missing.text


# ---------------------------------------------------------------------------- onboarding


def onboarding_body(**changes: object) -> dict[str, Any]:
    body: dict[str, Any] = {
        "profile": {"legal_name": "Initech LLC", "industry": "Software", "country": "US"},
        "chart_format": "quickbooks",
        "chart_csv": QUICKBOOKS_CHART,
        "approvers": ["initech-accountant"],
        "escalation_approvers": ["initech-owner"],
        "top_vendors": 2,
    }
    return body | changes


INITECH = {
    role: {"Authorization": f"Bearer token-{role}"}
    for role in ("service", "accountant", "owner", "viewer")
}


async def test_onboarding_is_started_listed_decided_and_applied(
    api: Api, deps: Dependencies
) -> None:
    await initech(deps.pool)
    response = await api.http.post(
        "/v1/onboardings", json=onboarding_body(), headers=INITECH["service"]
    )
    assert response.status_code == 202, response.text
    workflow_id = response.json()["workflow_id"]
    api.started.append(workflow_id)
    assert workflow_id == "client-onboarding-initech"

    again = await api.http.post("/v1/onboardings", json=onboarding_body(), headers=INITECH["owner"])
    assert again.status_code == 409 and error_of(again)["type"] == "already_running"

    listed = await api.poll(
        "/v1/approvals",
        token=INITECH["accountant"],
        until=lambda r: (
            bool(r.json()["approvals"]) and bool(r.json()["approvals"][0]["pending_approval"])
        ),
        seconds=120,
    )
    [item] = listed.json()["approvals"]
    pending = item["pending_approval"]
    assert (item["workflow_id"], item["kind"], item["status"]) == (
        workflow_id,
        "client_onboarding",
        "awaiting_approval",
    )
    assert item["decision_url"] == f"/v1/approvals/{workflow_id}/decision"
    assert pending["asked"] == ["initech-accountant"]
    assert {m["code"]: m["standard_category"] for m in pending["proposal"]["mappings"]}["6000"] == (
        "software"
    )
    # Other tenants see nothing of it.
    theirs = await api.http.get("/v1/approvals", headers=ACCOUNTANT)
    assert theirs.json() == {"approvals": []}

    status = (await api.http.get(f"/v1/runs/{workflow_id}", headers=INITECH["viewer"])).json()
    assert status["status"] == "running" and status["workflow_type"] == "ClientOnboarding"
    assert status["now"]["phase"] == "awaiting_approval"
    assert status["now"]["pending"]["approval_id"] == pending["approval_id"]

    url = item["decision_url"]
    viewer = await api.http.post(
        url,
        json={"approval_id": pending["approval_id"], "action": "approve"},
        headers=INITECH["viewer"],
    )
    assert viewer.status_code == 403, viewer.text

    stale = await api.http.post(
        url, json={"approval_id": "not-the-one", "action": "approve"}, headers=INITECH["accountant"]
    )
    assert stale.status_code == 409, stale.text
    assert error_of(stale)["type"] == "decision_refused"
    assert "'not-the-one' is not the pending request" in error_of(stale)["message"]

    no_comments = await api.http.post(
        url,
        json={"approval_id": pending["approval_id"], "action": "reject"},
        headers=INITECH["owner"],
    )
    assert no_comments.status_code == 422, no_comments.text
    assert "comments" in error_of(no_comments)["message"]

    decided = await api.http.post(
        url,
        json={"approval_id": pending["approval_id"], "action": "approve", "comments": "lgtm"},
        headers=INITECH["accountant"],
    )
    assert decided.status_code == 200, decided.text
    assert decided.json()["approval_id"] == pending["approval_id"]
    assert decided.json()["action"] == "approve"

    result = await api.poll(f"/v1/runs/{workflow_id}/result", token=INITECH["owner"], seconds=120)
    assert result.json()["status"] == "completed", result.text
    outcome = result.json()["result"]
    assert (outcome["outcome"], outcome["decided_by"]) == ("applied", "initech-accountant")
    assert (await api.http.get("/v1/approvals", headers=INITECH["owner"])).json() == {
        "approvals": []
    }
    late = await api.http.post(
        url,
        json={"approval_id": pending["approval_id"], "action": "approve"},
        headers=INITECH["owner"],
    )
    assert late.status_code == 409 and error_of(late)["type"] == "not_awaiting_decision", late.text


@pytest.mark.parametrize(
    ("changes", "field", "words"),
    [
        ({"tenant_id": "globex"}, "tenant_id", "bearer token"),
        (
            {"principal": {"id": "x", "tenant_id": "globex", "role": "owner"}},
            "principal",
            "bearer token",
        ),
        ({"approvers": ["initech-viewer"]}, "approvers", "not an accountant or owner"),
        (
            {"escalation_approvers": ["acme-owner"]},
            "escalation_approvers",
            "not an accountant or owner",
        ),
        ({"approvers": []}, "approvers", "at least 1 item"),
        ({"chart_format": "sage"}, "chart_format", "'quickbooks' or 'xero'"),
        ({"chart_csv": ""}, "chart_csv", "at least 1 character"),
        (
            {"profile": {"legal_name": "Initech", "industry": "Software", "country": "usa"}},
            "profile.country",
            "pattern",
        ),
        ({"reminder_after": "P5D"}, "", "reminder_after < escalate_after < expire_after"),
    ],
    ids=[
        "tenant-in-body",
        "principal-in-body",
        "viewer-approver",
        "other-tenant-approver",
        "no-approvers",
        "chart-format",
        "empty-chart",
        "country",
        "timers-out-of-order",
    ],
)
async def test_a_malformed_onboarding_is_422_and_starts_nothing(
    idle_api: Api, deps: Dependencies, changes: dict[str, Any], field: str, words: str
) -> None:
    await initech(deps.pool)
    response = await idle_api.http.post(
        "/v1/onboardings", json=onboarding_body(**changes), headers=INITECH["accountant"]
    )
    assert response.status_code == 422, response.text
    error = error_of(response)
    named = {f["field"]: f["message"] for f in error["fields"]}
    assert field in named, error
    assert words in named[field], named
    assert idle_api.starts.ids == []


async def test_only_onboarding_runs_take_decisions(idle_api: Api) -> None:
    workflow_id = await idle_api.start({"descriptor": BLUE_BOTTLE})
    response = await idle_api.http.post(
        f"/v1/approvals/{workflow_id}/decision",
        json={"approval_id": "x", "action": "approve"},
        headers=ACCOUNTANT,
    )
    assert response.status_code == 409, response.text
    assert error_of(response)["type"] == "not_awaiting_decision"
    assert "VendorHydration" in error_of(response)["message"]
