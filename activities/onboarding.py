"""Onboarding's own steps: save the profile, import (stage) the chart, record the approval
state, apply an approved proposal, and discard what was staged when nothing was approved. Every write goes through the platform's handlers with an
idempotency key derived from the workflow, so a retried step never applies twice."""

from __future__ import annotations

from psycopg.types.json import Jsonb
from pydantic import BaseModel, Field
from temporalio import activity
from temporalio.exceptions import ApplicationError

from accounting import accounts, clients, rules, tenants
from accounting.errors import AccessDenied, PlatformError
from accounting.principals import Principal, confirm_principal
from ledgerd.onboarding import ChartFormat, ImportedAccount, ImportedChart, OnboardingProposal
from ledgerd.onboarding._chart_import import ChartImportError, parse_chart
from ledgerd.runtime import dependencies
from ledgerd.security.policy import require


class ProfileStep(BaseModel):
    principal: Principal
    profile: clients.ClientProfile
    idempotency_key: str


class ImportStep(BaseModel):
    principal: Principal
    chart_format: ChartFormat
    chart_csv: str
    idempotency_key: str
    stage_key: str | None = Field(
        default=None,
        description="Stage the chart under this key until approval (runs before staging "
        "existed wrote it to the chart at once).",
    )


class RecordStep(BaseModel):
    workflow_id: str
    tenant_id: str
    status: str
    proposal: OnboardingProposal | None = None
    decided_by: str | None = None


class ApplyStep(BaseModel):
    approver: Principal
    proposal: OnboardingProposal
    idempotency_key: str
    profile: clients.ClientProfile | None = Field(
        default=None, description="The profile, staged in the request until approval."
    )
    chart: list[ImportedAccount] | None = Field(
        default=None, description="The imported chart, staged until approval."
    )
    stage_key: str | None = None


class AppliedOnboarding(BaseModel):
    accounts_mapped: int
    rules_set: int


@activity.defn(name="save_client_profile")
async def save_client_profile(step: ProfileStep) -> clients.ClientProfile:
    return await clients.update_client_profile(
        dependencies().pool, step.principal, step.profile, idempotency_key=step.idempotency_key
    )


@activity.defn(name="import_chart")
async def import_chart(step: ImportStep) -> ImportedChart:
    """Parse the export and add its accounts to the tenant's chart (not yet mapped)."""
    pool = dependencies().pool
    try:
        imported = parse_chart(step.chart_csv, step.chart_format)
    except ChartImportError as error:
        # The file will not improve by retrying: fail the step with the row and column.
        raise ApplicationError(str(error), type="ChartImportError", non_retryable=True) from None
    if step.stage_key is not None:
        await _stage(step.principal, step.stage_key, imported)
    for account in [] if step.stage_key is not None else imported:
        await accounts.upsert_account(
            pool,
            step.principal,
            accounts.Account(
                code=account.code, name=account.name, account_type=account.account_type
            ),
            idempotency_key=f"{step.idempotency_key}/{account.code}",
        )
    taxonomy = await accounts.list_standard_categories(pool, step.principal, accounts.NoInput())
    return ImportedChart(
        accounts=imported,
        categories={c.key: c.account_type.value for c in taxonomy.categories},
    )


async def _stage(principal: Principal, stage_key: str, imported: list[ImportedAccount]) -> None:
    """Keep the imported chart beside the tenant's, not in it, until someone approves."""
    principal.require_write("import a chart of accounts")
    async with dependencies().pool.connection() as conn, conn.transaction():
        await conn.execute(
            "DELETE FROM onboarding_staged_accounts WHERE stage_key = %s", (stage_key,)
        )
        for account in imported:
            await conn.execute(
                """INSERT INTO onboarding_staged_accounts
                       (stage_key, tenant_id, code, name, account_type)
                   VALUES (%s, %s, %s, %s, %s)""",
                (
                    stage_key,
                    principal.tenant_id,
                    account.code,
                    account.name,
                    account.account_type.value,
                ),
            )


class DiscardStep(BaseModel):
    principal: Principal
    stage_key: str


@activity.defn(name="discard_staged")
async def discard_staged(step: DiscardStep) -> int:
    """Drop the chart an onboarding staged once it ends without being applied (rejected,
    expired, failed): nothing of the client's export is kept that nobody approved."""
    async with dependencies().pool.connection() as conn:
        cursor = await conn.execute(
            "DELETE FROM onboarding_staged_accounts WHERE stage_key = %s AND tenant_id = %s",
            (step.stage_key, step.principal.tenant_id),
        )
    return cursor.rowcount


@activity.defn(name="record_onboarding")
async def record_onboarding(step: RecordStep) -> None:
    """Keep `onboarding_records` in step with the workflow, so services can list pending
    approvals of a tenant without scanning Temporal."""
    proposal = Jsonb(step.proposal.model_dump(mode="json")) if step.proposal else None
    async with dependencies().pool.connection() as conn:
        await conn.execute(
            """INSERT INTO onboarding_records (id, tenant_id, workflow_id, status, proposal,
                   decided_by, decided_at, applied_at)
               VALUES (%(id)s, %(tenant)s, %(id)s, %(status)s, %(proposal)s, %(by)s,
                       CASE WHEN %(by)s::text IS NULL THEN NULL ELSE now() END,
                       CASE WHEN %(status)s = 'applied' THEN now() END)
               ON CONFLICT (id) DO UPDATE SET status = EXCLUDED.status,
                   proposal = COALESCE(EXCLUDED.proposal, onboarding_records.proposal),
                   decided_by = COALESCE(EXCLUDED.decided_by, onboarding_records.decided_by),
                   decided_at = COALESCE(EXCLUDED.decided_at, onboarding_records.decided_at),
                   applied_at = COALESCE(EXCLUDED.applied_at, onboarding_records.applied_at)""",
            {
                "id": step.workflow_id,
                "tenant": step.tenant_id,
                "status": step.status,
                "proposal": proposal,
                "by": step.decided_by,
            },
        )


@activity.defn(name="apply_onboarding")
async def apply_onboarding(step: ApplyStep) -> AppliedOnboarding:
    """Apply the approved proposal as the approver: map accounts, set vendor rules, activate."""
    try:
        return await _apply(step)
    except PlatformError as error:
        # A refused write will be refused again: stop and say why instead of retrying.
        raise ApplicationError(str(error), type=type(error).__name__, non_retryable=True) from None


async def _apply(step: ApplyStep) -> AppliedOnboarding:
    pool = dependencies().pool
    # The approver decided minutes or days ago: they must still exist and still approve.
    try:
        await confirm_principal(pool, step.approver, step.approver.tenant_id)
        require(step.approver, "update", "decide")
    except AccessDenied as error:
        raise ApplicationError(
            f"refused: {error}", type="PrincipalRefused", non_retryable=True
        ) from None
    if step.profile is not None:
        await clients.update_client_profile(
            pool, step.approver, step.profile, idempotency_key=f"{step.idempotency_key}/profile"
        )
    chart = {
        a.code: a
        for a in (await accounts.list_accounts(pool, step.approver, accounts.NoInput())).accounts
    }
    for staged in step.chart or []:
        existing = chart.get(staged.code)
        chart[staged.code] = accounts.Account(
            code=staged.code,
            name=staged.name,
            account_type=staged.account_type,
            standard_category=existing.standard_category if existing else None,
        )
    for mapping in step.proposal.mappings:
        account = chart.get(mapping.code)
        if account is None:
            raise ApplicationError(
                f"account {mapping.code} is not in the chart",
                type="InvalidProposal",
                non_retryable=True,
            )
        await accounts.upsert_account(
            pool,
            step.approver,
            account.model_copy(update={"standard_category": mapping.standard_category}),
            idempotency_key=f"{step.idempotency_key}/account/{mapping.code}",
        )
    for rule in step.proposal.rules:
        await rules.set_categorisation_rule(
            pool,
            step.approver,
            rules.CategorisationRuleRequest(
                vendor_id=rule.vendor_id, account_code=rule.account_code
            ),
            idempotency_key=f"{step.idempotency_key}/rule/{rule.vendor_id}",
        )
    await tenants.activate_tenant(
        pool, step.approver, accounts.NoInput(), idempotency_key=f"{step.idempotency_key}/activate"
    )
    if step.stage_key is not None:
        async with pool.connection() as conn:
            await conn.execute(
                "DELETE FROM onboarding_staged_accounts WHERE stage_key = %s", (step.stage_key,)
            )
    return AppliedOnboarding(
        accounts_mapped=len(step.proposal.mappings), rules_set=len(step.proposal.rules)
    )
