"""What coordinators do on a candidature: updates validated by the state machine (an illegal one is
refused with a French message and never fails the workflow), and the status query. A base of
`CandidatureWorkflow`.
"""

from __future__ import annotations

from temporalio import workflow
from temporalio.exceptions import ApplicationError

with workflow.unsafe.imports_passed_through():
    from ami.domain import dossier_rules as rules
    from ami.models.candidature_messages import (
        CandidatureStatus,
        ConfirmBinomeInput,
        ForgetContactInput,
        ForgetContactResult,
        RecordAttendanceInput,
        RecordExperimentInput,
        RecordFeedbackInput,
        WithdrawInput,
    )
    from ami.models.facts import AttendanceFact, ExperimentFact, FeedbackFact
    from ami.models.lifecycle import STATE_LABELS, IllegalTransition, Trigger
    from ami.models.values import Attendance, Feedback
    from ami.workflows.candidature_effects import CandidatureEffects
    from ami.workflows.refused import checked


class CandidatureUpdates(CandidatureEffects):
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
        checked(lambda: rules.check_confirmation(self._decision, self._promoted, input))

    @workflow.update
    async def forget_contact(self, input: ForgetContactInput) -> ForgetContactResult:
        """The person is removed from the dossier's form; the dossier goes on with the remaining
        contacts, and the coordinators are told when no referent address is left."""
        self._form, forgotten = rules.forget(self._form, input.email)
        self._forgotten += 1
        if not rules.has_referent(self._form):
            await self._email("coord_no_referent", self._plan.coordinators, occurrence=str(self._forgotten))
        return ForgetContactResult(forgotten=forgotten, remaining=len(self._recipients()))

    @forget_contact.validator
    def _validate_forget(self, input: ForgetContactInput) -> None:
        checked(lambda: rules.check_forget(self._lifecycle.final, self._form, input.email))

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
        record = Attendance(**input.model_dump(exclude={"actor"}), recorded_at=workflow.now())
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
        number = input.session_number
        checked(lambda: rules.check_attendance(self._sessions.get(number), number, workflow.now()))

    @workflow.update
    async def record_feedback(self, input: RecordFeedbackInput) -> CandidatureStatus:
        feedback = Feedback(session_number=input.session_number, satisfaction=input.satisfaction, comment=input.comment)
        self._feedback[input.session_number] = feedback
        await self._fact(FeedbackFact(**self._fact_of(f"feedback-{input.session_number}-{workflow.now().isoformat()}"), data=feedback))
        return self.status()

    @record_feedback.validator
    def _validate_feedback(self, input: RecordFeedbackInput) -> None:
        number = input.session_number
        checked(lambda: rules.check_feedback(self._lifecycle.current, number in self._attendance, number))

    @workflow.update
    async def record_experiment(self, input: RecordExperimentInput) -> CandidatureStatus:
        self._experiment = input.experiment
        await self._fact(ExperimentFact(**self._fact_of(f"experiment-{workflow.now().isoformat()}"), data=input))
        return self.status()

    @record_experiment.validator
    def _validate_experiment(self, input: RecordExperimentInput) -> None:
        checked(lambda: rules.check_experiment(self._lifecycle.current))

    def _refuse_unless(self, trigger: Trigger) -> None:
        try:
            self._lifecycle.check(trigger)
        except IllegalTransition as error:
            raise ApplicationError(error.message, type="IllegalTransition", non_retryable=True) from None

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
