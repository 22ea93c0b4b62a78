"""What the onboarding daemon takes, proposes, waits for and returns."""

from __future__ import annotations

from datetime import datetime, timedelta
from enum import StrEnum

from pydantic import BaseModel, Field, model_validator

from accounting.accounts import AccountType
from accounting.clients import ClientProfile
from accounting.principals import APPROVER_ROLES, Principal
from ledgerd.receipts import ClearReceipt


class ChartFormat(StrEnum):
    QUICKBOOKS = "quickbooks"
    XERO = "xero"


class ImportedAccount(BaseModel):
    code: str
    name: str
    account_type: AccountType
    source_type: str = Field(description="The account type as the export named it.")


class ImportedChart(BaseModel):
    accounts: list[ImportedAccount]
    categories: dict[str, str] = Field(description="Standard category key → account type.")


class OnboardingRequest(BaseModel):
    """Start onboarding a client company (a tenant in status `onboarding`)."""

    tenant_id: str
    principal: Principal = Field(description="Who starts it; tools act as this principal.")
    profile: ClientProfile
    chart_format: ChartFormat
    chart_csv: str = Field(min_length=1, max_length=500_000, description="The export file's text.")
    approvers: list[str] = Field(min_length=1, description="Principal ids asked first.")
    escalation_approvers: list[str] = Field(default_factory=list)
    top_vendors: int = Field(default=3, ge=0, le=20)
    reminder_after: timedelta = timedelta(hours=24)
    escalate_after: timedelta = timedelta(hours=72)
    expire_after: timedelta = timedelta(days=7)
    max_revisions: int = Field(default=2, ge=0, le=10)
    continue_as_new_after_events: int = Field(
        default=10_000, ge=20, description="Continue-as-new while waiting past this history length."
    )
    resume: OnboardingState | None = Field(
        default=None, description="Set by continue-as-new only: where the previous run stopped."
    )

    @model_validator(mode="after")
    def _coherent(self) -> OnboardingRequest:
        if self.principal.tenant_id != self.tenant_id:
            raise ValueError(
                f"principal {self.principal.id!r} belongs to tenant "
                f"{self.principal.tenant_id!r}, not {self.tenant_id!r}"
            )
        if not self.reminder_after < self.escalate_after < self.expire_after:
            raise ValueError("reminder_after < escalate_after < expire_after must hold")
        return self


class AccountMapping(BaseModel):
    code: str = Field(min_length=1, max_length=20)
    name: str
    standard_category: str = Field(description="A standard category key.")
    confidence: float = Field(ge=0.0, le=1.0)


class CategorisationRule(BaseModel):
    vendor_id: str
    vendor_name: str
    account_code: str


class OnboardingProposal(BaseModel):
    """What the accountant approves: the chart's mapping and the vendor rules."""

    mappings: list[AccountMapping] = Field(min_length=1)
    rules: list[CategorisationRule] = Field(default_factory=list)
    notes: str = Field(default="", max_length=4000)

    @model_validator(mode="after")
    def _one_mapping_per_account(self) -> OnboardingProposal:
        codes = [m.code for m in self.mappings]
        duplicates = sorted({c for c in codes if codes.count(c) > 1})
        if duplicates:
            raise ValueError(f"accounts mapped more than once: {duplicates}")
        return self


class Action(StrEnum):
    APPROVE = "approve"
    REJECT = "reject"
    EDIT = "edit"


class Decision(BaseModel):
    """An approver's answer to one approval request, by its id.

    Who decides is proved by `credential` (ledgerd.security.credentials), signed by the API or
    the CLI after authenticating the approver; `approver`, if sent, must match it. Once
    accepted, the workflow keeps the approver from the credential and drops the credential.
    """

    approval_id: str
    approver: Principal | None = None
    action: Action
    comments: str = Field(default="", max_length=4000)
    edited_proposal: OnboardingProposal | None = None
    credential: str | None = Field(
        default=None,
        max_length=4000,
        description="From the API, `ledgerd approval-token` or `starter.decide_onboarding`.",
    )

    def content(self) -> dict[str, object]:
        """What the credential's digest covers besides approval id and action."""
        return {
            "comments": self.comments,
            "edited_proposal": (
                self.edited_proposal.model_dump(mode="json") if self.edited_proposal else None
            ),
        }

    @property
    def decided_by(self) -> Principal:
        assert self.approver is not None, "an accepted decision names its approver"
        return self.approver

    @model_validator(mode="after")
    def _edit_carries_a_proposal(self) -> Decision:
        if (self.action is Action.EDIT) != (self.edited_proposal is not None):
            raise ValueError("an edit, and only an edit, carries edited_proposal")
        if self.action is Action.REJECT and not self.comments.strip():
            raise ValueError("a rejection needs comments saying what to change")
        return self


class DecisionReceipt(ClearReceipt):
    """The Update's answer: ids and a time, readable without the codec (ClearReceipt)."""

    approval_id: str
    action: Action
    accepted_at: datetime


class PendingApproval(BaseModel):
    approval_id: str
    proposal: OnboardingProposal
    asked: list[str] = Field(description="Principal ids currently asked to decide.")
    requested_at: datetime
    remind_at: datetime
    escalate_at: datetime
    expires_at: datetime
    revision: int


class Phase(StrEnum):
    PROFILE = "profile"
    IMPORT = "import"
    MAPPING = "mapping"
    VENDORS = "vendors"
    AWAITING_APPROVAL = "awaiting_approval"
    APPLYING = "applying"
    DONE = "done"


class OnboardingOutcome(StrEnum):
    APPLIED = "applied"
    EXPIRED = "expired"
    REJECTED = "rejected"
    FAILED = "failed"


class OnboardingStatus(BaseModel):
    phase: Phase
    detail: str = ""
    pending: PendingApproval | None = None
    decisions: list[Decision] = Field(default_factory=list)
    ignored_signals: list[str] = Field(default_factory=list)


class OnboardingResult(BaseModel):
    outcome: OnboardingOutcome
    applied: OnboardingProposal | None = None
    decided_by: str | None = None
    reason: str = ""


def can_approve(
    approver: Principal, tenant_id: str, asked: list[str] | None = None, started_by: str = ""
) -> str | None:
    """Why `approver` may not decide for `tenant_id`, or None if they may: an accountant or
    owner of the tenant, among those asked (after escalation, those escalated to as well),
    and never the principal who started the onboarding (four eyes)."""
    if approver.tenant_id != tenant_id:
        return f"approver {approver.id!r} is not of tenant {tenant_id!r}"
    if approver.role not in APPROVER_ROLES:
        return f"approver {approver.id!r} is a {approver.role.value}; an accountant or owner must decide"
    if approver.id == started_by:
        return (
            f"approver {approver.id!r} started this onboarding and may not approve it: "
            "a second person must decide (four eyes)"
        )
    if asked is not None and approver.id not in asked:
        return f"approver {approver.id!r} was not asked; the approvers asked are {', '.join(asked)}"
    return None


class OnboardingState(BaseModel):
    """Everything a continued run needs; small by design."""

    chart: ImportedChart | None = None
    proposal: OnboardingProposal | None = None
    pending: PendingApproval | None = None
    revision: int = 0
    reminded: bool = False
    escalated: bool = False
    status: OnboardingStatus = Field(default_factory=lambda: OnboardingStatus(phase=Phase.PROFILE))


OnboardingRequest.model_rebuild()
