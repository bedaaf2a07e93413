"""One candidature, from the form received to the certificate (SPEC §2).

The story in `run` reads top-down: intake and eligibility, the held decision, the outcome of the
decision, the confirmation of the binôme, the cycle of sessions, the capitalisation. Coordinator
actions arrive as updates (validated by the state machine, so an illegal one is refused and never
fails the workflow); the campaign talks to its candidatures by signals.
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
    from activities.documents import DocumentActivities
    from activities.eligibility import check_eligibility
    from activities.email import EmailActivities
    from activities.records import RecordActivities
    from ami.mail.render import TEMPLATE_ERROR
    from models import search_attributes as sa
    from models.activity_payloads import (
        CheckEligibilityInput,
        EligibilityRules,
        EmailOutcome,
        EmailStatus,
        RecordTransitionInput,
        SendEmailInput,
    )
    from models.campaign_messages import CandidatureReport, CorrectionAnswer
    from models.candidature import CandidatureFile, Person
    from models.candidature_messages import (
        CandidatureInput,
        CandidatureStatus,
        ConfirmBinomeInput,
        CorrectionInput,
        DecisionInput,
        ForgetContactInput,
        ForgetContactResult,
        RecordAttendanceInput,
        RecordExperimentInput,
        RecordFeedbackInput,
        ScheduleInput,
        TransitionRecord,
        WithdrawInput,
    )
    from models.document_requests import DocumentInput, document_request
    from models.documents import CertificateInput, CollectiviteReportInput, DecisionLetterInput, SummaryDocInput
    from models.facts import AttendanceFact, ExperimentFact, FeedbackFact, RecordFactInput
    from models.lifecycle import STATE_LABELS, IllegalTransition, Lifecycle, State, Trigger
    from models.values import DECISION_LABELS, Attendance, CycleSummary, Decision, DocumentRef, Feedback, ScheduledSession, Verdict
    from workflows.campaign_inbox import CampaignInbox
    from workflows.timeouts import (
        DEFAULT_RETRY,
        DOCUMENT_HEARTBEAT,
        DOCUMENT_TIMEOUT,
        ELIGIBILITY_TIMEOUT,
        EMAIL_HEARTBEAT,
        EMAIL_RETRY,
        EMAIL_TIMEOUT,
        RECORD_TIMEOUT,
    )

SYSTEM = "système"
APPLICANT = "collectivité"


class _Ended(Exception):
    """Raised inside `run` when a handler (a withdrawal) has already closed the candidature."""


def candidature_workflow_id(campaign_id: str, identifier: str) -> str:
    """Derived from public identifiers only: the campaign and the SIREN or INSEE code."""
    return f"candidature-{campaign_id}-{identifier}"


@workflow.defn
class CandidatureWorkflow:
    @workflow.init
    def __init__(self, input: CandidatureInput) -> None:
        self._plan = input.plan
        self._form: CandidatureFile = input.form
        self._received_at = input.received_at
        self._receipt = input.receipt_number
        self._lifecycle = Lifecycle()
        self._verdict: Verdict | None = None
        self._correction: CorrectionInput | None = None
        self._corrections = 0
        self._decision: DecisionInput | None = None
        self._promoted = False
        self._promoted_when_notified = False
        self._forgotten = 0  # people erased from this dossier (the right to erasure)
        self._answered: dict[str, bool] = {}  # correction requests already answered (signals may come twice)
        # Fixed once, when the collectivité is told it has a seat (see `_confirmation_deadline`).
        self._confirm_by: datetime | None = None
        self._waitlist_closed = False
        self._confirmation: ConfirmBinomeInput | None = None
        self._sessions: dict[int, ScheduledSession] = {}
        self._schedule_seen: dict[tuple[int, int], datetime] = {}
        self._schedule_version = 0
        self._cycle_done: set[str] = set()
        self._enrolled_at: datetime | None = None
        self._attendance: dict[int, Attendance] = {}
        self._feedback: dict[int, Feedback] = {}
        self._experiment: str | None = None
        self._capitalise = False
        self._transitions: list[TransitionRecord] = []
        self._bounces: list[str] = []
        self._documents: list[DocumentRef] = []
        self._next_deadline: tuple[datetime, str] | None = None
        self._official_name: str | None = None
        self._publish = input.search_attributes

    @workflow.run
    async def run(self, input: CandidatureInput) -> CandidatureStatus:
        try:
            await self._record(None, State.SUBMITTED, "submit", APPLICANT)
            await self._intake()
            await self._await_decision()
            if await self._outcome():
                await self._cycle()
                await self._capitalise_cycle()
        except _Ended:
            pass
        await workflow.wait_condition(workflow.all_handlers_finished)
        return self.status()

    # --- the story --------------------------------------------------------------------------

    async def _intake(self) -> None:
        """Receipt, eligibility; an ineligible form may be corrected until the deadline."""
        summary = await self._document(self._summary_data())
        await self._email("receipt", self._recipients(), attachments=[summary], occurrence=str(self._corrections + 1))
        await self._email("coord_new_candidature", self._plan.coordinators, occurrence=str(self._corrections + 1))
        while True:
            self._verdict = await workflow.execute_activity(
                check_eligibility,
                CheckEligibilityInput(form=self._form, received_at=self._received_at, rules=self._rules()),
                start_to_close_timeout=ELIGIBILITY_TIMEOUT,
                retry_policy=DEFAULT_RETRY,
                summary="Vérification d'éligibilité",
            )
            self._push_register_attributes()
            if self._verdict.eligible:
                await self._advance(Trigger.DECLARE_ELIGIBLE)
                return
            await self._advance(Trigger.DECLARE_INELIGIBLE)
            # Past the deadline there is nothing to correct: the closing email alone, with its reasons.
            in_time = workflow.now() < self._plan.deadline_at
            if in_time:
                await self._email("ineligible", self._recipients(), occurrence=str(self._corrections + 1))
                self._set_deadline(self._plan.deadline_at, "date limite pour corriger")
            corrected = in_time and await self._wait_until(
                self._plan.deadline_at, "Date limite de dépôt", lambda: self._correction is not None
            )
            if not corrected:
                self._stop_if_ended()
                await self._email("closed_ineligible", self._recipients())
                await self._advance(Trigger.EXPIRE)  # published once the collectivité is told
                return
            assert self._correction is not None
            self._form, self._received_at = self._correction.form, self._correction.received_at
            self._correction = None
            self._corrections += 1
            await self._advance(Trigger.CORRECT, actor=APPLICANT)
            summary = await self._document(self._summary_data())
            await self._email("receipt", self._recipients(), attachments=[summary], occurrence=str(self._corrections + 1))

    async def _await_decision(self) -> None:
        """The jury deliberates in the campaign; the decision is held until the response date."""
        if self._lifecycle.final:
            return
        self._set_deadline(self._plan.response_at, "date de réponse")
        await self._wait(lambda: self._decision is not None)
        await self._advance(Trigger.DELIBERATE)
        await self._wait_until(self._plan.response_at, "Date de réponse aux candidats")
        decision = self._visible_decision()
        assert decision is not None
        # Promoted before the response date (a selected one withdrew): one letter, the right one.
        self._promoted_when_notified = self._promoted
        if decision is Decision.SELECTED:
            # Told now, so the letter and the email give the real deadline (not the response date).
            self._set_deadline(self._confirmation_deadline(), "confirmation du binôme")
        letter = await self._document(self._letter_data())
        self._stop_if_ended()  # withdrawn while the letter was being made: no decision email
        await self._email(f"decision_{decision.value}", self._recipients(), attachments=[letter])
        # Published once true: `notified` means the letter and the email exist.
        await self._advance(Trigger.NOTIFY)

    async def _outcome(self) -> bool:
        """Waitlist, confirmation of the binôme. True when the collectivité is enrolled."""
        if self._lifecycle.final:
            return False
        assert self._decision is not None
        if self._decision.decision is Decision.NOT_SELECTED:
            await self._advance(Trigger.CLOSE)
            return False
        if self._decision.decision is Decision.WAITLISTED and not self._promoted_when_notified:
            self._set_deadline(None, None)
            await self._wait(lambda: self._promoted or self._waitlist_closed)
            if not self._promoted:
                await self._email("waitlist_closed", self._recipients())
                await self._advance(Trigger.CLOSE)  # published once the collectivité is told
                return False
            await self._advance(Trigger.PROMOTE)
            self._set_deadline(self._confirmation_deadline(), "confirmation du binôme")  # the email states it
            await self._email("promoted", self._recipients())
        return await self._await_confirmation()

    async def _await_confirmation(self) -> bool:
        deadline = self._confirmation_deadline()
        self._set_deadline(deadline, "confirmation du binôme")
        confirmed = self._confirmed
        if not await self._wait_until(deadline - self._plan.confirmation_window / 2, "Relance de confirmation du binôme", confirmed):
            await self._email("binome_reminder", self._recipients())
            await self._wait_until(deadline, "Date limite de confirmation du binôme", confirmed)
        if self._lifecycle.current is State.NOTIFIED:
            await self._advance(Trigger.WITHDRAW, justification="binôme non confirmé dans le délai")
            await self._email("withdrawn_unconfirmed", self._recipients())
            return False
        return self._confirmed()

    def _confirmed(self) -> bool:
        """Enrolled, or already further: attendance may be recorded before this waiter resumes."""
        return self._lifecycle.current in (State.ENROLLED, State.SESSION_TRACKED)

    def _confirmation_deadline(self) -> datetime:
        """The whole confirmation window from the moment the collectivité is told it has a seat: the
        response date, or later after a late deliberation or a promotion. Computed once, so the letter,
        the emails, the status and the timers all give the same instant."""
        if self._confirm_by is None:
            self._confirm_by = max(workflow.now(), self._plan.response_at) + self._plan.confirmation_window
        return self._confirm_by

    async def _cycle(self) -> None:
        """Invitations, reminders and feedback requests follow the session dates as they move."""
        self._set_deadline(None, None)
        while not self._capitalise:
            due = self._next_cycle_event()
            changed = partial(self._schedule_changed, self._schedule_version)
            if due is None:
                await self._wait(changed)
                continue
            at, key, action = due
            if await self._wait_until(at, key, changed):
                continue  # the schedule moved: recompute, a stale reminder never fires
            self._cycle_done.add(key)
            await action()

    def _schedule_changed(self, version: int) -> bool:
        return self._schedule_version != version or self._capitalise

    async def _capitalise_cycle(self) -> None:
        await self._advance(Trigger.CAPITALISE)
        certificate = await self._document(self._certificate_data())
        report = await self._document(self._report_data())
        await self._email("certificate", self._recipients(), attachments=[certificate, report])
        await self._report(
            summary=CycleSummary(
                attendance=list(self._attendance.values()), feedback=list(self._feedback.values()), experiment=self._experiment
            )
        )

    # --- signals from the campaign ----------------------------------------------------------

    @workflow.signal
    async def correct(self, correction: CorrectionInput) -> None:
        """The candidature alone decides whether a correction is in time: it is while the dossier
        is ineligible and its deadline has not closed it. The answer goes back to the campaign."""
        accepted = self._answered.get(correction.request_id) if correction.request_id else None
        if accepted is None:
            accepted = self._lifecycle.current is State.INELIGIBLE and correction.received_at < self._plan.deadline_at
            if accepted:
                self._correction = correction
            if correction.request_id:
                self._answered[correction.request_id] = accepted
        if correction.request_id:
            answer = CorrectionAnswer(key=self._form.collectivite.identifier, request_id=correction.request_id, accepted=accepted)
            with contextlib.suppress(FailureError):  # the campaign has ended: nobody is waiting
                await self._campaign().signal(CampaignInbox.answer_correction, answer)

    @workflow.signal
    def ping(self) -> None:
        """The campaign checks that this candidature still runs (a closed one makes the signal fail)."""

    @workflow.signal
    def decide(self, decision: DecisionInput) -> None:
        if self._decision is None:
            self._decision = decision

    @workflow.signal
    def promote(self) -> None:
        if self._decision is not None and self._decision.decision is Decision.WAITLISTED:
            self._promoted = True

    @workflow.signal
    def close_waitlist(self) -> None:
        self._waitlist_closed = True

    @workflow.signal
    def schedule(self, schedule: ScheduleInput) -> None:
        now = workflow.now()
        for session in schedule.sessions:
            current = self._sessions.get(session.number)
            if current is not None and current.sequence > session.sequence:
                continue  # signals may cross: an older version never replaces a newer one
            self._schedule_seen.setdefault((session.number, session.sequence), now)
            self._sessions[session.number] = session
        self._schedule_version += 1

    @workflow.signal
    def capitalise(self) -> None:
        self._capitalise = True

    # --- coordinator updates ----------------------------------------------------------------

    @workflow.update
    async def confirm_binome(self, input: ConfirmBinomeInput) -> CandidatureStatus:
        self._form = self._form.model_copy(
            update={"political_referent": input.political_referent, "technical_referent": input.technical_referent}
        )
        self._enrolled_at = workflow.now()
        await self._advance(Trigger.CONFIRM_BINOME, actor=input.actor)
        await self._email("binome_confirmed", self._recipients())
        return self.status()

    @confirm_binome.validator
    def _validate_confirm(self, input: ConfirmBinomeInput) -> None:
        self._refuse_unless(Trigger.CONFIRM_BINOME)
        if self._decision is None or (self._decision.decision is not Decision.SELECTED and not self._promoted):
            raise ApplicationError(
                "Seule une collectivité retenue (ou promue depuis la liste d'attente) confirme son binôme.",
                type="Refused",
                non_retryable=True,
            )
        if not (input.political_referent.complete and input.technical_referent.complete):
            raise ApplicationError(
                "Le binôme confirmé doit indiquer le nom, la qualité et le courriel de l'élu et du technicien.",
                type="Refused",
                non_retryable=True,
            )

    @workflow.update
    async def forget_contact(self, input: ForgetContactInput) -> ForgetContactResult:
        """The person is removed from the dossier's form; the dossier goes on with the remaining
        contacts, and the coordinators are told when no referent address is left."""
        address = input.email.strip().lower()
        updates: dict[str, Person | None] = {}
        for role in ("political_referent", "technical_referent", "contact_point"):
            person = getattr(self._form, role)
            if person is not None and (person.email or "").lower() == address:
                updates[role] = None if role == "contact_point" else Person()
        self._form = self._form.model_copy(update=updates)
        self._forgotten += 1
        referents = [p for p in (self._form.political_referent, self._form.technical_referent) if p is not None and p.email]
        if not referents:
            await self._email("coord_no_referent", self._plan.coordinators, occurrence=str(self._forgotten))
        return ForgetContactResult(forgotten=len(updates), remaining=len(self._recipients()))

    @forget_contact.validator
    def _validate_forget(self, input: ForgetContactInput) -> None:
        # Messages never quote the address: they end up in logs and in the history's failures.
        if self._lifecycle.final:
            raise ApplicationError(
                "Le dossier est clos : il est effacé par la purge, pas par cette action.", type="Refused", non_retryable=True
            )
        address = input.email.strip().lower()
        if (self._form.collectivite.email or "").lower() == address:
            raise ApplicationError(
                "Cette adresse est celle de la collectivité, exigée par le formulaire : elle se change par une correction.",
                type="Refused",
                non_retryable=True,
            )
        people = [self._form.political_referent, self._form.technical_referent, self._form.contact_point]
        if not any(p is not None and (p.email or "").lower() == address for p in people):
            raise ApplicationError("Cette adresse ne figure pas parmi les contacts du dossier.", type="Refused", non_retryable=True)

    @workflow.update
    async def withdraw(self, input: WithdrawInput) -> CandidatureStatus:
        await self._advance(Trigger.WITHDRAW, actor=input.actor, justification=input.reason)
        await self._email("withdrawn", self._recipients())
        return self.status()

    @withdraw.validator
    def _validate_withdraw(self, input: WithdrawInput) -> None:
        self._refuse_unless(Trigger.WITHDRAW)

    @workflow.update
    async def record_attendance(self, input: RecordAttendanceInput) -> CandidatureStatus:
        record = Attendance(
            session_number=input.session_number,
            elected_present=input.elected_present,
            technician_present=input.technician_present,
            others=input.others,
            recorded_at=workflow.now(),
        )
        first = input.session_number not in self._attendance
        self._attendance[input.session_number] = record
        await self._advance(Trigger.RECORD_ATTENDANCE, actor=input.actor, justification=f"séance {input.session_number}")
        await self._fact(AttendanceFact(**self._fact_of(f"attendance-{input.session_number}-{len(self._transitions)}"), data=record))
        if record.absent and first:
            await self._email(
                "absence_followup",
                self._recipients(),
                occurrence=str(input.session_number),
                context={"session": self._session_context(input.session_number)},
            )
        return self.status()

    @record_attendance.validator
    def _validate_attendance(self, input: RecordAttendanceInput) -> None:
        self._refuse_unless(Trigger.RECORD_ATTENDANCE)
        session = self._sessions.get(input.session_number)
        if session is None:
            raise ApplicationError(
                f"La séance {input.session_number} n'a pas encore de date : impossible d'y enregistrer une présence.",
                type="Refused",
                non_retryable=True,
            )
        if workflow.now() < session.starts_at:
            raise ApplicationError(f"La séance {input.session_number} n'a pas encore eu lieu.", type="Refused", non_retryable=True)

    @workflow.update
    async def record_feedback(self, input: RecordFeedbackInput) -> CandidatureStatus:
        feedback = Feedback(session_number=input.session_number, satisfaction=input.satisfaction, comment=input.comment)
        self._feedback[input.session_number] = feedback
        await self._fact(FeedbackFact(**self._fact_of(f"feedback-{input.session_number}-{workflow.now().isoformat()}"), data=feedback))
        return self.status()

    @record_feedback.validator
    def _validate_feedback(self, input: RecordFeedbackInput) -> None:
        if self._lifecycle.current not in (State.ENROLLED, State.SESSION_TRACKED):
            raise ApplicationError(
                f"Questionnaire refusé : la candidature est « {STATE_LABELS[self._lifecycle.current]} ».",
                type="Refused",
                non_retryable=True,
            )
        if input.session_number not in self._attendance:
            raise ApplicationError(
                f"Aucune présence enregistrée pour la séance {input.session_number} : enregistrez-la d'abord.",
                type="Refused",
                non_retryable=True,
            )

    @workflow.update
    async def record_experiment(self, input: RecordExperimentInput) -> CandidatureStatus:
        self._experiment = input.experiment
        await self._fact(ExperimentFact(**self._fact_of(f"experiment-{workflow.now().isoformat()}"), data=input))
        return self.status()

    @record_experiment.validator
    def _validate_experiment(self, input: RecordExperimentInput) -> None:
        if self._lifecycle.current not in (State.ENROLLED, State.SESSION_TRACKED):
            raise ApplicationError("L'expérimentation s'enregistre pendant le cycle.", type="Refused", non_retryable=True)

    @workflow.query
    def status(self) -> CandidatureStatus:
        deadline = self._next_deadline
        return CandidatureStatus(
            receipt_number=self._receipt,
            campaign_id=self._plan.id,
            state=self._lifecycle.current,
            state_label=STATE_LABELS[self._lifecycle.current],
            decision=self._visible_decision(),
            waitlist_position=self._decision.waitlist_position if self._decision else None,
            verdict=self._verdict,
            next_deadline=deadline[0] if deadline else None,
            next_deadline_label=deadline[1] if deadline else None,
            sessions=sorted(self._sessions.values(), key=lambda s: s.number),
            attendance=sorted(self._attendance.values(), key=lambda a: a.session_number),
            feedback=sorted(self._feedback.values(), key=lambda f: f.session_number),
            bounces=list(self._bounces),
            documents=list(self._documents),
            transitions=list(self._transitions),
        )

    # --- the cycle's agenda -----------------------------------------------------------------

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

    # --- plumbing ---------------------------------------------------------------------------

    async def _advance(self, trigger: Trigger, actor: str = SYSTEM, justification: str | None = None) -> None:
        """Fire a trigger, push the new state everywhere, write the audit row, tell the campaign."""
        try:
            source, dest = self._lifecycle.fire(trigger)
        except IllegalTransition as error:
            if self._lifecycle.final:
                raise _Ended() from None
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
        await workflow.execute_activity_method(
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
            start_to_close_timeout=RECORD_TIMEOUT,
            retry_policy=DEFAULT_RETRY,
            summary=f"Journal : {record.source or '∅'} → {record.dest}",
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
        await workflow.execute_activity_method(
            RecordActivities.record_fact,
            fact,
            start_to_close_timeout=RECORD_TIMEOUT,
            retry_policy=DEFAULT_RETRY,
            summary=f"Journal : {fact.kind}",
        )

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
        return workflow.get_external_workflow_handle(parent.workflow_id if parent else f"campaign-{self._plan.id}")

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

    def _stop_if_ended(self) -> None:
        if self._lifecycle.final:
            raise _Ended()

    async def _wait(self, condition: Callable[[], bool]) -> None:
        await workflow.wait_condition(lambda: condition() or self._lifecycle.final)
        if self._lifecycle.final:
            raise _Ended()

    async def _wait_until(self, instant: datetime, summary: str, condition: Callable[[], bool] = lambda: False) -> bool:
        """A durable timer on an absolute instant; True if `condition` came true first."""
        remaining = instant - workflow.now()
        if condition():
            return True
        if remaining > timedelta(0):
            with contextlib.suppress(TimeoutError):  # the instant came: the condition says which
                await workflow.wait_condition(lambda: condition() or self._lifecycle.final, timeout=remaining, timeout_summary=summary)
        if self._lifecycle.final and not condition():
            raise _Ended()
        return condition()

    def _refuse_unless(self, trigger: Trigger) -> None:
        try:
            self._lifecycle.check(trigger)
        except IllegalTransition as error:
            raise ApplicationError(error.message, type="IllegalTransition", non_retryable=True) from None

    def _visible_decision(self) -> Decision | None:
        if self._decision is None:
            return None
        if self._promoted:
            return Decision.SELECTED
        return self._decision.decision

    def _set_deadline(self, at: datetime | None, label: str | None) -> None:
        self._next_deadline = (at, label) if at and label else None
        self._push_details()

    def _push_state(self) -> None:
        decision = self._visible_decision()
        if self._publish:
            workflow.upsert_search_attributes(
                [sa.STATE.value_set(self._lifecycle.current.value), sa.DECISION.value_set(decision.value if decision else "none")]
            )
        self._push_details()

    def _push_register_attributes(self) -> None:
        view = self._verdict.collectivite if self._verdict else None
        if view:
            self._official_name = view.name
        if view and self._publish:
            workflow.upsert_search_attributes([sa.DEPARTEMENT.value_set(view.departement or "?"), sa.KIND.value_set(view.kind)])

    def _push_details(self) -> None:
        state = self._lifecycle.current
        lines = [f"**{self._receipt}** — {STATE_LABELS[state]} (`{state.value}`)"]
        if self._official_name:
            lines.append(f"Collectivité : {self._official_name}")
        decision = self._visible_decision()
        if decision and state not in (State.ELIGIBILITY_CHECKED, State.JURY_REVIEWED):
            lines.append(f"Décision : {DECISION_LABELS[decision]}")
        if self._next_deadline:
            at, label = self._next_deadline
            local = at.astimezone(self._plan.zone())
            lines.append(f"Prochaine échéance : {label}, {local:%d/%m/%Y %H:%M}")
        if self._verdict and not self._verdict.eligible:
            lines.append("Motifs : " + ", ".join(r.code for r in self._verdict.reasons))
        workflow.set_current_details("\n\n".join(lines))

    def _rules(self) -> EligibilityRules:
        return EligibilityRules(
            region=self._plan.region,
            timezone=self._plan.timezone,
            opens_at=self._plan.opens_at,
            deadline_at=self._plan.deadline_at,
            time_map=self._plan.time_map,
        )

    def _recipients(self) -> list[str]:
        return self._form.recipients()

    # --- what emails and documents say ------------------------------------------------------

    def _email_context(self) -> dict[str, Any]:
        view = self._verdict.collectivite if self._verdict else None
        return {
            "campaign": self._plan.reader_context(),
            "receipt_number": self._receipt,
            "collectivite": {"name": self._form.collectivite.name, "official_name": view.name if view else None},
            "received_at": self._received_at.isoformat(),
            "deadline_at": self._plan.deadline_at.isoformat(),
            "response_at": self._plan.response_at.isoformat(),
            "reasons": [r.model_dump() for r in self._verdict.reasons] if self._verdict else [],
            "decision": self._decision.model_dump(mode="json") if self._decision else None,
            "confirmation_deadline": self._next_deadline[0].isoformat() if self._next_deadline else None,
            "attendance": [a.model_dump(mode="json") for a in sorted(self._attendance.values(), key=lambda a: a.session_number)],
        }

    def _session_context(self, number: int) -> dict[str, Any]:
        s = self._sessions[number]
        return {
            "number": s.number,
            "theme": s.theme,
            "place": s.place,
            "starts_at": s.starts_at.isoformat(),
            "ends_at": s.ends_at.isoformat(),
            "sequence": s.sequence,
        }

    def _calendar(self, s: ScheduledSession) -> dict[str, Any]:
        return {
            "uid": f"{self._plan.id}-session-{s.number}-{self._receipt}@ami.apes-hdf.org",
            "sequence": s.sequence,
            "summary": f"{self._plan.name} — séance {s.number}",
            "description": s.theme,
            "location": s.place,
            "starts_at": s.starts_at.isoformat(),
            "ends_at": s.ends_at.isoformat(),
            "timezone": self._plan.timezone,
        }

    def _summary_data(self) -> SummaryDocInput:
        view = self._verdict.collectivite if self._verdict else None
        return SummaryDocInput.model_validate(
            {
                "receipt_number": self._receipt,
                "campaign_name": self._plan.name,
                "received_at": self._plan.published(self._received_at).isoformat(),
                "form": self._form.model_dump(mode="json"),
                "official_name": view.name if view else None,
                "kind_label": view.kind_label if view else None,
                "departement": view.departement if view else None,
                "timezone": self._plan.timezone,  # the time of receipt is written in the campaign's zone
            }
        )

    def _letter_data(self) -> DecisionLetterInput:
        assert self._decision is not None
        decision = self._visible_decision()
        assert decision is not None
        selected = decision is Decision.SELECTED
        referent = self._form.political_referent or Person()
        return DecisionLetterInput.model_validate(
            {
                "receipt_number": self._receipt,
                "campaign_name": self._plan.name,
                **self._collectivite_data(),
                "addressee": {"address": self._form.collectivite.address, **referent.model_dump(include={"civility", "name", "role"})},
                "signatory": self._plan.signatory.model_dump() if self._plan.signatory else None,
                "decision": decision.value,
                "response_date": self._plan.published(self._plan.response_at).date().isoformat(),
                "waitlist_position": self._decision.waitlist_position,
                "confirmation_deadline": self._plan.published(self._confirmation_deadline()).date().isoformat() if selected else None,
            }
        )

    def _collectivite_data(self) -> dict[str, Any]:
        view = self._verdict.collectivite if self._verdict else None
        return {"collectivite_name": self._official_name or self._form.collectivite.name, "collectivite_kind": view.kind if view else None}

    def _session_lines(self) -> list[dict[str, Any]]:
        lines = []
        for n, s in sorted(self._sessions.items()):
            a = self._attendance.get(n)
            f = self._feedback.get(n)
            lines.append(
                {
                    "number": n,
                    "date": self._plan.published(s.starts_at).date().isoformat(),
                    "theme": s.theme,
                    "present": bool(a and not a.absent),
                    "elected_present": bool(a and a.elected_present),
                    "technician_present": bool(a and a.technician_present),
                    "others": a.others if a else 0,
                    "satisfaction": f.satisfaction if f else None,
                    "feedback": f.comment if f else None,
                }
            )
        return lines

    def _certificate_data(self) -> CertificateInput:
        return CertificateInput.model_validate(
            {
                "receipt_number": self._receipt,
                "campaign_name": self._plan.name,
                **self._collectivite_data(),
                "signatory": self._plan.signatory.model_dump() if self._plan.signatory else None,
                "sessions": [{k: line[k] for k in ("number", "date", "theme", "present")} for line in self._session_lines()],
            }
        )

    def _report_data(self) -> CollectiviteReportInput:
        keys = ("number", "date", "theme", "elected_present", "technician_present", "others", "satisfaction", "feedback")
        return CollectiviteReportInput.model_validate(
            {
                "receipt_number": self._receipt,
                "campaign_name": self._plan.name,
                **self._collectivite_data(),
                "sessions": [{k: line[k] for k in keys} for line in self._session_lines()],
                "experiment": self._experiment,
            }
        )


__all__ = ["CandidatureWorkflow", "candidature_workflow_id"]
