"""The candidature's side effects: the audit trail and the facts, the reports to its campaign, the
emails and documents, and the durable waits. A base of `CandidatureWorkflow`.
"""

from __future__ import annotations

import contextlib
from collections.abc import Callable
from datetime import datetime, timedelta
from functools import partial
from typing import Any

from temporalio import workflow
from temporalio.exceptions import ActivityError, ApplicationError, FailureError

with workflow.unsafe.imports_passed_through():
    from ami.activities.documents import DocumentActivities
    from ami.activities.email import EmailActivities
    from ami.activities.records import RecordActivities
    from ami.activities.timeouts import (
        DEFAULT_RETRY,
        DOCUMENT_HEARTBEAT,
        DOCUMENT_TIMEOUT,
        EMAIL_HEARTBEAT,
        EMAIL_RETRY,
        EMAIL_TIMEOUT,
    )
    from ami.infra.mail.render import TEMPLATE_ERROR
    from ami.models.activity_payloads import EmailOutcome, EmailStatus, RecordTransitionInput, SendEmailInput
    from ami.models.campaign_messages import CandidatureReport
    from ami.models.candidature_messages import TransitionRecord
    from ami.models.document_requests import DocumentInput, document_request
    from ami.models.facts import RecordFactInput
    from ami.models.lifecycle import IllegalTransition, State, Trigger
    from ami.models.values import CycleSummary, DocumentRef, ScheduledSession
    from ami.models.workflow_ids import campaign_workflow_id
    from ami.workflows.campaign_inbox import CampaignInbox
    from ami.workflows.candidature_dossier import CandidatureDossier
    from ami.workflows.journal import write_journal

SYSTEM = "système"


class Ended(Exception):
    """Raised inside `run` when a handler (a withdrawal) has already closed the candidature."""


class CandidatureEffects(CandidatureDossier):
    async def _advance(self, trigger: Trigger, actor: str = SYSTEM, justification: str | None = None) -> None:
        """Fire a trigger, push the new state everywhere, write the audit row, tell the campaign."""
        try:
            source, dest = self._lifecycle.fire(trigger)
        except IllegalTransition as error:
            if self._lifecycle.final:
                raise Ended() from None
            raise ApplicationError(error.message, type="IllegalTransition", non_retryable=True) from None
        await self._record(source, dest, trigger.value, actor, justification)
        if dest in (State.ELIGIBILITY_CHECKED, State.INELIGIBLE, State.SUBMITTED, State.NOTIFIED, State.ENROLLED, State.CLOSED):
            await self._report()

    async def _record(self, source: State | None, dest: State, trigger: str, actor: str, justification: str | None = None) -> None:
        """Append to the trace, push the state to the UI, write the audit row (and the form when it arrives)."""
        record = TransitionRecord(
            sequence=len(self._transitions) + 1,
            source=source,
            dest=dest,
            trigger=trigger,
            actor=actor,
            at=workflow.now(),
            justification=justification,
        )
        self._transitions.append(record)
        self._push_state()
        view = self._verdict.collectivite if self._verdict else None
        await write_journal(
            RecordActivities.record_transition,
            RecordTransitionInput(
                workflow_id=workflow.info().workflow_id,
                campaign_id=self._plan.id,
                receipt_number=self._receipt,
                sequence=record.sequence,
                source=record.source,
                dest=record.dest,
                trigger=trigger,
                actor=actor,
                at=record.at,
                justification=justification,
                decision=self._visible_decision(),
                official_name=view.name if view else None,
                kind=view.kind if view else None,
                departement=view.departement if view else None,
                form=self._form.model_dump(mode="json") if dest is State.SUBMITTED else None,
            ),
            f"Journal : {record.source or '∅'} → {record.dest}",
        )

    def _fact_of(self, fact_id: str) -> dict[str, Any]:
        """What every fact of this dossier says of itself; `fact_id` is unique across dossiers."""
        workflow_id = workflow.info().workflow_id
        return {
            "workflow_id": workflow_id,
            "campaign_id": self._plan.id,
            "receipt_number": self._receipt,
            "fact_id": f"{workflow_id}-{fact_id}",
            "at": workflow.now(),
        }

    async def _fact(self, fact: RecordFactInput) -> None:
        await write_journal(RecordActivities.record_fact, fact, f"Journal : {fact.kind}")

    async def _report(self, summary: CycleSummary | None = None) -> None:
        """Tell the campaign the new state, numbered so that a late or repeated report is ignored.
        A campaign that has ended (or failed) no longer listens: the candidature goes on."""
        view = self._verdict.collectivite if self._verdict else None
        report = CandidatureReport(
            receipt_number=self._receipt,
            key=self._form.collectivite.identifier,
            state=self._lifecycle.current,
            sequence=len(self._transitions) + (1 if summary is not None else 0),
            decision=self._visible_decision(),
            departement=view.departement if view else None,
            summary=summary,
        )
        with contextlib.suppress(FailureError):
            await self._campaign().signal(CampaignInbox.report, report)

    def _campaign(self) -> workflow.ExternalWorkflowHandle[CampaignInbox]:
        parent = workflow.info().parent
        return workflow.get_external_workflow_handle(parent.workflow_id if parent else campaign_workflow_id(self._plan.id))

    async def _email(
        self,
        purpose: str,
        to: list[str],
        *,
        occurrence: str = "1",
        attachments: list[DocumentRef] | None = None,
        context: dict[str, Any] | None = None,
        calendar: dict[str, Any] | None = None,
    ) -> None:
        outcome = await self._send(
            purpose,
            occurrence,
            to,
            {**self._email_context(), **(context or {}), **({"calendar": calendar} if calendar else {})},
            attachments or [],
        )
        if outcome.status is EmailStatus.BOUNCED:
            # A refused recipient (or a template that cannot render) is recorded and the coordinators
            # told; the dossier goes on.
            self._bounces.append(f"{purpose}: {outcome.detail or 'refusé'}")
            context = {**self._email_context(), "bounced_purpose": purpose, "detail": outcome.detail or ""}
            alert = await self._send("coord_bounce", f"{purpose}-{occurrence}", self._plan.coordinators, context, [])
            if alert.status is EmailStatus.BOUNCED:
                workflow.logger.error("coordinators' alert not sent", extra={"purpose": purpose})

    async def _send(
        self, purpose: str, occurrence: str, to: list[str], context: dict[str, Any], attachments: list[DocumentRef]
    ) -> EmailOutcome:
        try:
            return await workflow.execute_activity_method(
                EmailActivities.send_email,
                SendEmailInput(
                    workflow_id=workflow.info().workflow_id,
                    run_id=workflow.info().first_execution_run_id,
                    purpose=purpose,
                    occurrence=occurrence,
                    to=to,
                    context=context,
                    attachments=attachments,
                ),
                start_to_close_timeout=EMAIL_TIMEOUT,
                heartbeat_timeout=EMAIL_HEARTBEAT,
                retry_policy=EMAIL_RETRY,
                summary=f"Courriel : {purpose}",
            )
        except ActivityError as error:
            cause = error.cause
            if isinstance(cause, ApplicationError) and cause.type == TEMPLATE_ERROR:
                # Retrying cannot fix a template: treated as a bounce, so the coordinators hear of it.
                return EmailOutcome(message_id="", status=EmailStatus.BOUNCED, detail=cause.message)
            raise

    async def _document(self, data: DocumentInput) -> DocumentRef:
        request = document_request(workflow.info().workflow_id, self._receipt, data)
        ref = await workflow.execute_activity_method(
            DocumentActivities.make_document,
            request,
            start_to_close_timeout=DOCUMENT_TIMEOUT,
            heartbeat_timeout=DOCUMENT_HEARTBEAT,
            retry_policy=DEFAULT_RETRY,
            summary=f"Document : {request.kind}",
        )
        self._documents.append(ref)
        return ref

    # --- waits --------------------------------------------------------------------------------

    def _stop_if_ended(self) -> None:
        if self._lifecycle.final:
            raise Ended()

    async def _wait(self, condition: Callable[[], bool]) -> None:
        await workflow.wait_condition(lambda: condition() or self._lifecycle.final)
        if self._lifecycle.final:
            raise Ended()

    async def _wait_until(self, instant: datetime, summary: str, condition: Callable[[], bool] = lambda: False) -> bool:
        """A durable timer on an absolute instant; True if `condition` came true first."""
        remaining = instant - workflow.now()
        if condition():
            return True
        if remaining > timedelta(0):
            with contextlib.suppress(TimeoutError):  # the instant came: the condition says which
                await workflow.wait_condition(lambda: condition() or self._lifecycle.final, timeout=remaining, timeout_summary=summary)
        if self._lifecycle.final and not condition():
            raise Ended()
        return condition()

    # --- the cycle's agenda -------------------------------------------------------------------

    def _next_cycle_event(self) -> tuple[datetime, str, Callable[[], Any]] | None:
        """The earliest pending invitation, reminder or feedback request of the current schedule."""
        now = workflow.now()
        enrolled = self._enrolled_at or now
        pending: list[tuple[datetime, str, Callable[[], Any]]] = []
        for n, s in sorted(self._sessions.items()):
            if s.starts_at <= enrolled:
                continue  # held before this collectivité joined (a late promotion)
            seen = self._schedule_seen.get((n, s.sequence), now)
            if s.starts_at > now:
                pending.append((now, f"invitation-{n}-{s.sequence}", partial(self._invite, s)))
            for i, offset in enumerate(self._plan.reminder_offsets):
                at = s.starts_at - offset
                if at >= seen and s.starts_at > now:
                    pending.append((at, f"reminder-{n}-{s.sequence}-{i}", partial(self._remind, s, i)))
            pending.append((s.ends_at, f"feedback-{n}", partial(self._ask_feedback, s)))
        pending = [p for p in pending if p[1] not in self._cycle_done]
        return min(pending, key=lambda p: (p[0], p[1])) if pending else None

    async def _invite(self, s: ScheduledSession) -> None:
        purpose = "session_invitation" if s.sequence == 0 else "session_updated"
        await self._email(
            purpose,
            self._recipients(),
            occurrence=f"{s.number}-{s.sequence}",
            context={"session": self._session_context(s.number)},
            calendar=self._calendar(s),
        )

    async def _remind(self, s: ScheduledSession, index: int) -> None:
        await self._email(
            "session_reminder",
            self._recipients(),
            occurrence=f"{s.number}-{s.sequence}-{index}",
            context={"session": self._session_context(s.number)},
        )

    async def _ask_feedback(self, s: ScheduledSession) -> None:
        await self._email(
            "feedback_request", self._recipients(), occurrence=str(s.number), context={"session": self._session_context(s.number)}
        )
