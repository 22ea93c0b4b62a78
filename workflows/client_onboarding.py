"""ClientOnboarding: a multi-day daemon that never applies a change nobody approved.

profile → import the chart → map accounts (a daemon loop) → propose vendor rules (vendor
hydration children) → ask an accountant → wait (remind, escalate, expire) → apply → welcome.

Waiting is durable and costs nothing: the workflow sleeps on timers until a decision arrives
by Update (`decide`, validated: a wrong approval id or an unauthorised approver is refused
before anything reaches history) or by Signal (`submit_decision`, for clients that can only
signal: an invalid one is recorded and ignored, never fatal). Long waits continue-as-new with
their state, so the history stays small however long the accountant takes.
"""

from __future__ import annotations

import asyncio
import contextlib
from datetime import timedelta
from typing import Any

from pydantic import ValidationError
from temporalio import workflow
from temporalio.exceptions import (
    ActivityError,
    ApplicationError,
    ChildWorkflowError,
    FailureError,
)

from workflows._keys import execution_key
from workflows._metrics import record_approval_wait, record_outcome

with workflow.unsafe.imports_passed_through():
    from accounting.principals import Principal
    from activities.onboarding import (
        ApplyStep,
        DiscardStep,
        ImportStep,
        ProfileStep,
        RecordStep,
        apply_onboarding,
        discard_staged,
        import_chart,
        record_onboarding,
        save_client_profile,
    )
    from activities.security import DecisionProof, PrincipalCheck, verify_decision, verify_principal
    from activities.unlinked import UnlinkedRequest, find_unlinked_merchants
    from ledgerd import search_attributes as sa
    from ledgerd.contracts import Notification, Outcome, Severity
    from ledgerd.daemons import daemon_spec
    from ledgerd.feedback import FeedbackReceipt, RunFeedback
    from ledgerd.injection import spotlight
    from ledgerd.onboarding import (
        AccountMapping,
        Action,
        CategorisationRule,
        Decision,
        DecisionReceipt,
        OnboardingOutcome,
        OnboardingProposal,
        OnboardingRequest,
        OnboardingResult,
        OnboardingState,
        OnboardingStatus,
        PendingApproval,
        Phase,
        can_approve,
    )
    from ledgerd.security import policy
    from ledgerd.security.actions import decision_action, verify_action
    from ledgerd.security.credentials import CredentialError, unverified_claims
    from ledgerd.security.refused import UpdateRefused
    from workflows._daemon_loop import STEP_RETRY, STEP_TIMEOUT, DaemonLoop, send_notification
    from workflows._feedback import check_feedback, record_run_feedback
    from workflows._principal import prove_principal
    from workflows.vendor_hydration import MAX_TRANSACTIONS, HydrationRequest, VendorHydration

_MAX_IGNORED = 50
# Runs recorded before these changes replay without them (tests/histories).
STAGE_PATCH = "stage-until-approval"
PROOF_PATCH = "decision-proof"
DISCARD_PATCH = "discard-staged"


class StepFailed(Exception):
    """A step ended without what onboarding needs from it; the run ends as failed."""


@workflow.defn(name="ClientOnboarding", failure_exception_types=[ValidationError])
class ClientOnboarding:
    def __init__(self) -> None:
        self.request: OnboardingRequest | None = None
        self.state = OnboardingState()
        self.decision: Decision | None = None
        self.mapping_warning = ""
        self.staged = True

    # ------------------------------------------------------------------ the process
    @workflow.run
    async def run(self, request: OnboardingRequest) -> OnboardingResult:
        # `resume` is continue-as-new's own state: a run that was not continued ignores it,
        # so a starter cannot skip the import, mapping and guardrail or fabricate a trail.
        resumed = request.resume is not None and workflow.info().continued_run_id is not None
        self.request = request.model_copy(update={"resume": None})
        self.state = request.resume if resumed and request.resume else OnboardingState()
        workflow.upsert_search_attributes(
            [sa.TENANT.value_set(request.tenant_id), sa.DAEMON.value_set("client_onboarding")]
        )
        if not resumed:
            await prove_principal(
                request.principal, request.tenant_id, "workflow", "ClientOnboarding"
            )
        try:
            if self.state.proposal is None:
                await self._prepare(request)
            result = await self._approve_and_apply(request)
        except (ActivityError, StepFailed) as error:
            reason = (
                f"{error.activity_type}: {error.cause}"
                if isinstance(error, ActivityError)
                else str(error)
            )
            result = OnboardingResult(outcome=OnboardingOutcome.FAILED, reason=reason)
            await self._tell(
                "failed",
                Severity.FAILURE,
                f"Onboarding of {request.tenant_id} failed: {result.reason}",
            )
        if result.outcome is not OnboardingOutcome.APPLIED:
            await self._record(result.outcome.value)
            await self._discard_staged(request)
        workflow.upsert_search_attributes([sa.OUTCOME.value_set(result.outcome.value)])
        record_outcome("client_onboarding", result.outcome.value)
        self._phase(Phase.DONE, result.outcome.value)
        await workflow.wait_condition(workflow.all_handlers_finished)
        return result

    async def _prepare(self, request: OnboardingRequest) -> None:
        key = execution_key()
        # Nothing is applied before approval: the profile waits in the request and the chart
        # in the staging table until `_apply`. Older runs saved the profile here.
        self.staged = workflow.patched(STAGE_PATCH)
        if not self.staged:
            self._phase(Phase.PROFILE, "saving the company profile")
            await workflow.execute_activity(
                save_client_profile,
                ProfileStep(
                    principal=request.principal,
                    profile=request.profile,
                    idempotency_key=f"{key}/profile",
                ),
                summary=f"profile: {request.profile.legal_name}",
                start_to_close_timeout=STEP_TIMEOUT,
                retry_policy=STEP_RETRY,
            )
        self._phase(Phase.IMPORT, f"importing the {request.chart_format.value} chart")
        self.state.chart = await workflow.execute_activity(
            import_chart,
            ImportStep(
                principal=request.principal,
                chart_format=request.chart_format,
                chart_csv=request.chart_csv,
                idempotency_key=f"{key}/chart",
                stage_key=key if self.staged else None,
            ),
            summary=f"import chart: {request.chart_format.value}",
            start_to_close_timeout=STEP_TIMEOUT,
            retry_policy=STEP_RETRY,
        )
        mappings = await self._map_accounts("")
        # Rules need the mapping: a vendor's rule books it to the account proposed for its
        # category, so the vendors are hydrated after the chart is mapped.
        rules = await self._propose_rules(request, mappings)
        self.state.proposal = OnboardingProposal(
            mappings=mappings, rules=rules, notes=self.mapping_warning
        )

    async def _discard_staged(self, request: OnboardingRequest) -> None:
        """Rejected, expired or failed: drop the staged chart (runs recorded before this
        replay without it)."""
        if not (self.staged and self.state.chart is not None):
            return
        if not workflow.patched(DISCARD_PATCH):
            return
        await workflow.execute_activity(
            discard_staged,
            DiscardStep(principal=request.principal, stage_key=execution_key()),
            summary="discard staged chart",
            start_to_close_timeout=STEP_TIMEOUT,
            retry_policy=STEP_RETRY,
        )

    async def _map_accounts(self, comments: str) -> list[AccountMapping]:
        assert self.request is not None
        self._phase(Phase.MAPPING, "mapping accounts to the standard taxonomy")
        task = f"Map every account of tenant {self.request.tenant_id!r}'s chart to the standard taxonomy."
        if comments:
            # Quoted, as data: corrections to follow, but no instructions beyond them.
            task += f"\n\nAccountant's comments: {spotlight('accountant comments', comments)}"
        loop = DaemonLoop(
            daemon_spec("account_mapping"),
            self.request.principal,
            run_id=f"{execution_key()}/mapping-{self.state.revision}",
        )
        result = await loop.run(task)
        if result.outcome not in (Outcome.COMPLETED, Outcome.ESCALATED) or result.answer is None:
            raise StepFailed(f"account mapping ended {result.outcome.value}: {result.reason}")
        # Applying a mapping needs an approval anyway; the approver must see that the data
        # the mapping read carried instructions (an account name, a comment) before approving.
        self.mapping_warning = "; ".join(
            f"{f.channel} {f.where}: {f.excerpt}" for f in result.injection_flags[:5]
        )
        if self.mapping_warning:
            self.mapping_warning = (
                "WARNING: the data this mapping read contains instructions (possible prompt "
                f"injection); check the mappings before approving. {self.mapping_warning}"
            )[:2000]
        return [AccountMapping.model_validate(m) for m in result.answer["mappings"]]

    async def _propose_rules(
        self, request: OnboardingRequest, mappings: list[AccountMapping]
    ) -> list[CategorisationRule]:
        if request.top_vendors == 0:
            return []
        self._phase(Phase.VENDORS, f"hydrating the top {request.top_vendors} vendors")
        groups = await workflow.execute_activity(
            find_unlinked_merchants,
            UnlinkedRequest(principal=request.principal, max_groups=request.top_vendors),
            summary=f"find top {request.top_vendors} unlinked merchants",
            start_to_close_timeout=STEP_TIMEOUT,
            retry_policy=STEP_RETRY,
        )

        async def hydrate(transaction_ids: list[str]) -> CategorisationRule | None:
            try:
                result = await workflow.execute_child_workflow(
                    VendorHydration.run,
                    HydrationRequest(
                        tenant_id=request.tenant_id,
                        principal=request.principal,
                        # The rule proposed is per vendor: a sample names the merchant.
                        transaction_ids=transaction_ids[:MAX_TRANSACTIONS],
                    ),
                    id=f"{workflow.info().workflow_id}/vendor-{transaction_ids[0]}",
                )
            except ChildWorkflowError:
                return None
            answer = result.answer or {}
            account = next(
                (m.code for m in mappings if m.standard_category == answer.get("category")), None
            )
            if (
                result.outcome is not Outcome.COMPLETED
                or not answer.get("vendor_id")
                or not account
            ):
                return None
            return CategorisationRule(
                vendor_id=str(answer["vendor_id"]),
                vendor_name=answer["canonical_name"],
                account_code=account,
            )

        found = await asyncio.gather(*(hydrate(g.transaction_ids) for g in groups))
        return [rule for rule in found if rule is not None]

    async def _approve_and_apply(self, request: OnboardingRequest) -> OnboardingResult:
        while True:
            if self.state.pending is None:
                await self._ask(request)
            decision = await self._await_decision(request)
            record_approval_wait(
                (workflow.now() - self._pending().requested_at).total_seconds(),
                decision.action.value if decision else "expired",
            )
            if decision is None:
                await self._tell(
                    f"expired/{self._pending().approval_id}",
                    Severity.ATTENTION,
                    f"Onboarding of {request.tenant_id} expired: nobody decided in time",
                )
                return OnboardingResult(
                    outcome=OnboardingOutcome.EXPIRED, reason="approval expired"
                )
            self.decision = None
            self.state.status.decisions.append(decision)
            if decision.action is Action.REJECT:
                if self.state.revision >= request.max_revisions:
                    return OnboardingResult(
                        outcome=OnboardingOutcome.REJECTED,
                        decided_by=decision.decided_by.id,
                        reason=f"rejected after {self.state.revision} revisions: {decision.comments}",
                    )
                self.state.revision += 1
                assert self.state.proposal is not None
                mappings = await self._map_accounts(decision.comments)
                self.state.proposal = self.state.proposal.model_copy(
                    update={
                        "mappings": mappings,
                        "notes": f"Revised after: {decision.comments}\n{self.mapping_warning}"[
                            :4000
                        ].strip(),
                    }
                )
                self.state.pending = None
                self.state.reminded = self.state.escalated = False
                continue
            chosen = (
                decision.edited_proposal if decision.action is Action.EDIT else self.state.proposal
            )
            assert chosen is not None
            return await self._apply(request, decision, chosen)

    async def _ask(self, request: OnboardingRequest) -> None:
        assert self.state.proposal is not None
        now = workflow.now()
        self.state.pending = PendingApproval(
            approval_id=str(workflow.uuid4()),
            proposal=self.state.proposal,
            asked=list(request.approvers),
            requested_at=now,
            remind_at=now + request.reminder_after,
            escalate_at=now + request.escalate_after,
            expires_at=now + request.expire_after,
            revision=self.state.revision,
        )
        self._phase(Phase.AWAITING_APPROVAL, f"waiting for {', '.join(request.approvers)}")
        await self._record("awaiting_approval", self.state.proposal)
        await self._tell(
            f"approval/{self.state.pending.approval_id}",
            Severity.ATTENTION,
            f"Onboarding of {request.tenant_id} needs approval (revision {self.state.revision})",
            {"approval_id": self.state.pending.approval_id, "asked": request.approvers},
        )

    async def _await_decision(self, request: OnboardingRequest) -> Decision | None:
        """Sleep until a decision, waking only to remind, escalate, expire or continue-as-new."""
        pending = self._pending()
        stages = [
            (pending.remind_at, "reminded", self._remind),
            (pending.escalate_at, "escalated", self._escalate),
            (pending.expires_at, "expired", None),
        ]
        for deadline, flag, action in stages:
            if flag != "expired" and getattr(self.state, flag):
                continue
            remaining = (deadline - workflow.now()).total_seconds()
            if remaining > 0:
                with contextlib.suppress(TimeoutError):
                    await workflow.wait_condition(
                        lambda: self.decision is not None or self._should_continue_as_new(),
                        timeout=timedelta(seconds=remaining),
                        timeout_summary=f"until {flag}",
                    )
            if self.decision is not None:
                return self.decision
            if self._should_continue_as_new():
                await workflow.wait_condition(workflow.all_handlers_finished)
                workflow.continue_as_new(request.model_copy(update={"resume": self.state}))
            if action is not None:
                await action(request)
        return None

    def _should_continue_as_new(self) -> bool:
        assert self.request is not None
        info = workflow.info()
        return info.is_continue_as_new_suggested() or (
            info.get_current_history_length() >= self.request.continue_as_new_after_events
        )

    async def _remind(self, request: OnboardingRequest) -> None:
        self.state.reminded = True
        await self._tell(
            f"reminder/{self._pending().approval_id}",
            Severity.ATTENTION,
            f"Reminder: onboarding of {request.tenant_id} still waits for approval",
            {"asked": self._pending().asked},
        )

    async def _escalate(self, request: OnboardingRequest) -> None:
        self.state.escalated = True
        pending = self._pending()
        pending.asked = sorted(set(pending.asked) | set(request.escalation_approvers))
        await self._tell(
            f"escalation/{pending.approval_id}",
            Severity.ATTENTION,
            f"Escalated: onboarding of {request.tenant_id} waits for approval",
            {"asked": pending.asked},
        )

    async def _apply(
        self, request: OnboardingRequest, decision: Decision, proposal: OnboardingProposal
    ) -> OnboardingResult:
        approver = decision.decided_by
        self._phase(Phase.APPLYING, f"applying the proposal approved by {approver.id}")
        staged = self.staged and self.state.chart is not None
        applied = await workflow.execute_activity(
            apply_onboarding,
            ApplyStep(
                approver=approver,
                proposal=proposal,
                idempotency_key=f"{execution_key()}/apply/{decision.approval_id}",
                profile=request.profile if staged else None,
                chart=self.state.chart.accounts if staged and self.state.chart else None,
                stage_key=execution_key() if staged else None,
            ),
            summary=f"apply: {len(proposal.mappings)} accounts, {len(proposal.rules)} rules",
            start_to_close_timeout=STEP_TIMEOUT,
            retry_policy=STEP_RETRY,
        )
        await self._record("applied", proposal, decided_by=approver.id)
        await self._tell(
            "welcome",
            Severity.INFO,
            f"Welcome aboard, {request.profile.legal_name}: {applied.accounts_mapped} accounts "
            f"mapped and {applied.rules_set} vendor rules set",
        )
        return OnboardingResult(
            outcome=OnboardingOutcome.APPLIED,
            applied=proposal,
            decided_by=approver.id,
            reason=f"{decision.action.value}d by {approver.id}",
        )

    # ------------------------------------------------------------------ the approvers' side
    def _state_problem(self, decision: Decision) -> str | None:
        """What the run's own state says against `decision` (no credential involved)."""
        assert self.request is not None
        pending = self.state.pending
        if pending is None or self.state.status.phase is not Phase.AWAITING_APPROVAL:
            return "no approval is pending"
        if decision.approval_id != pending.approval_id:
            return (
                f"approval id {decision.approval_id!r} is not the pending request "
                f"{pending.approval_id!r}; it may have been revised or already decided"
            )
        if self.decision is not None:
            return f"approval {pending.approval_id!r} is already decided"
        if decision.edited_proposal is not None:
            return self._edit_problem(decision.edited_proposal)
        return None

    def _problem(self, decision: Decision) -> tuple[str | None, Principal | None]:
        """Why the Update must refuse `decision`, or the approver its credential proves.

        Deterministic: HMAC with the keys loaded at worker start, expiry by workflow time.
        """
        assert self.request is not None
        problem = self._state_problem(decision)
        if problem:
            return problem, None
        pending = self._pending()
        try:
            claims = verify_action(
                decision.credential,
                principal=decision.approver,
                workflow_id=workflow.info().workflow_id,
                action=decision_action(decision.action.value),
                subject=decision.approval_id,
                content=decision.content(),
                now=workflow.now(),
            )
        except CredentialError as error:
            return f"refused: {error}", None
        who = claims.who
        refused = policy.refusal(who, "update", "decide") or can_approve(
            who, self.request.tenant_id, pending.asked, self.request.principal.id
        )
        return refused, who

    def _edit_problem(self, proposal: OnboardingProposal) -> str | None:
        chart = self.state.chart
        if chart is None:
            return None
        types = {a.code: a.account_type.value for a in chart.accounts}
        for mapping in proposal.mappings:
            if mapping.code not in types:
                return f"edited mapping names account {mapping.code!r}, which is not in the chart"
            kind = chart.categories.get(mapping.standard_category)
            if kind is None:
                return f"edited mapping of {mapping.code}: {mapping.standard_category!r} is not a standard category"
            if kind != types[mapping.code]:
                return (
                    f"edited mapping of {mapping.code}: a {types[mapping.code]} account cannot map "
                    f"to {mapping.standard_category!r} ({kind})"
                )
        return None

    @workflow.update
    async def decide(self, decision: Decision) -> DecisionReceipt:
        if decision.credential is not None:  # decided before credentials: kept as it was
            # The validator verified the credential; keep who it proves, never the credential.
            who = unverified_claims(decision.credential).who
            decision = decision.model_copy(update={"approver": who, "credential": None})
            if workflow.patched(PROOF_PATCH):
                # Before anything is written: the approver still exists and still approves.
                try:
                    await workflow.execute_activity(
                        verify_principal,
                        PrincipalCheck(
                            principal=who,
                            tenant_id=self._tenant(),
                            kind="update",
                            subject="decide",
                        ),
                        start_to_close_timeout=STEP_TIMEOUT,
                        retry_policy=STEP_RETRY,
                        summary=f"verify approver: {who.id}",
                    )
                except ActivityError as error:
                    cause = error.cause
                    raise ApplicationError(
                        cause.message if isinstance(cause, FailureError) else str(error),
                        type="DecisionRefused",
                        non_retryable=True,
                    ) from None
                problem = self._state_problem(decision)
                if problem:
                    raise ValueError(problem)
        self.decision = decision
        return DecisionReceipt(
            approval_id=decision.approval_id, action=decision.action, accepted_at=workflow.now()
        )

    @decide.validator
    def _validate_decision(self, decision: Decision) -> None:
        problem, _ = self._problem(decision)
        if problem:
            raise UpdateRefused(problem)

    @workflow.signal
    async def submit_decision(self, payload: dict[str, Any]) -> None:
        """The same decision as a Signal. A signal cannot be refused, so an invalid one is
        recorded in the status and ignored. Its credential is verified by an activity (see
        `verify_decision`), which also confirms the approver against the platform."""
        try:
            decision = Decision.model_validate(payload)
        except ValidationError as error:
            problem: str | None = "invalid decision: " + "; ".join(
                f"{'.'.join(map(str, e['loc'])) or 'payload'}: {e['msg']}" for e in error.errors()
            )
        else:
            problem = self._state_problem(decision)
            if problem is None:
                problem = await self._verify_signalled(decision)
        if problem is None:
            return
        workflow.logger.warning("ignored a decision signal: %s", problem)
        # Kept for the status query; bounded so a misbehaving sender cannot grow the state.
        self.state.status.ignored_signals = [*self.state.status.ignored_signals, problem][
            -_MAX_IGNORED:
        ]

    async def _verify_signalled(self, decision: Decision) -> str | None:
        """None once `decision` is accepted; else why it was not."""
        assert self.request is not None
        try:
            who = await workflow.execute_activity(
                verify_decision,
                DecisionProof(
                    workflow_id=workflow.info().workflow_id,
                    tenant_id=self.request.tenant_id,
                    approval_id=decision.approval_id,
                    action=decision.action.value,
                    content=decision.content(),
                    credential=decision.credential,
                    approver=decision.approver,
                    asked=self._pending().asked,
                    started_by=self.request.principal.id,
                ),
                start_to_close_timeout=STEP_TIMEOUT,
                retry_policy=STEP_RETRY,
                summary="verify decision signal",
            )
        except ActivityError as error:
            cause = error.cause
            return cause.message if isinstance(cause, FailureError) else str(error)
        # The state may have moved while the activity ran (another decision, a revision).
        problem = self._state_problem(decision)
        if problem is None:
            self.decision = decision.model_copy(update={"approver": who, "credential": None})
        return problem

    def _tenant(self) -> str:
        assert self.request is not None
        return self.request.tenant_id

    @workflow.update
    async def feedback(self, feedback: RunFeedback) -> FeedbackReceipt:
        """Feedback on the account-mapping daemon's latest answer (the proposal's mappings)."""
        assert self.request is not None
        return await record_run_feedback(feedback, tenant_id=self.request.tenant_id)

    @feedback.validator
    def _validate_feedback(self, feedback: RunFeedback) -> None:
        if self.request is None:
            raise UpdateRefused("the run has not started yet")
        check_feedback(
            feedback,
            tenant_id=self.request.tenant_id,
            daemon="account_mapping",
            answered=self.state.proposal is not None,
        )

    @workflow.query
    def status(self) -> OnboardingStatus:
        return self.state.status.model_copy(update={"pending": self.state.pending})

    @workflow.query
    def pending_approval(self) -> PendingApproval | None:
        return self.state.pending if self.state.status.phase is Phase.AWAITING_APPROVAL else None

    # ------------------------------------------------------------------ small helpers
    def _pending(self) -> PendingApproval:
        assert self.state.pending is not None
        return self.state.pending

    def _phase(self, phase: Phase, detail: str) -> None:
        self.state.status.phase = phase
        self.state.status.detail = detail
        workflow.set_current_details(f"client onboarding: {phase.value} — {detail}")

    async def _record(
        self, status: str, proposal: OnboardingProposal | None = None, decided_by: str | None = None
    ) -> None:
        assert self.request is not None
        await workflow.execute_activity(
            record_onboarding,
            RecordStep(
                workflow_id=workflow.info().workflow_id,
                tenant_id=self.request.tenant_id,
                status=status,
                proposal=proposal,
                decided_by=decided_by,
            ),
            summary=f"record: {status}",
            start_to_close_timeout=STEP_TIMEOUT,
            retry_policy=STEP_RETRY,
        )

    async def _tell(
        self, event: str, severity: Severity, subject: str, body: dict[str, Any] | None = None
    ) -> None:
        assert self.request is not None
        await send_notification(
            Notification(
                dedupe_key=f"{execution_key()}/{event}",
                tenant_id=self.request.tenant_id,
                workflow_id=workflow.info().workflow_id,
                kind=f"client_onboarding.{event.split('/')[0]}",
                severity=severity,
                subject=subject,
                body=body or {},
            ),
            summary=f"notify: {event.split('/')[0]}",
        )
