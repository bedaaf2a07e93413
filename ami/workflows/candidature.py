"""One candidature, from the form received to the certificate, through the lifecycle of ami/models/lifecycle.py.

The story in `run` reads top-down: intake and eligibility, the held decision, the outcome of the
decision, the confirmation of the binôme, the cycle of sessions, the capitalisation. Coordinator
actions arrive as updates (validated by the state machine, so an illegal one is refused and never
fails the workflow); the campaign talks to its candidatures by signals.
"""

from __future__ import annotations

import contextlib
from functools import partial

from temporalio import workflow
from temporalio.exceptions import FailureError

with workflow.unsafe.imports_passed_through():
    from ami.activities.eligibility import check_eligibility
    from ami.activities.timeouts import DEFAULT_RETRY, ELIGIBILITY_TIMEOUT
    from ami.models.activity_payloads import CheckEligibilityInput
    from ami.models.campaign_messages import CorrectionAnswer
    from ami.models.candidature_messages import CandidatureInput, CandidatureStatus, CorrectionInput, DecisionInput, ScheduleInput
    from ami.models.lifecycle import State, Trigger
    from ami.models.values import CycleSummary, Decision
    from ami.models.workflow_ids import candidature_workflow_id as candidature_workflow_id  # the id's scheme, re-exported
    from ami.workflows.campaign_inbox import CampaignInbox
    from ami.workflows.candidature_effects import Ended
    from ami.workflows.candidature_updates import CandidatureUpdates

APPLICANT = "collectivité"


@workflow.defn
class CandidatureWorkflow(CandidatureUpdates):
    @workflow.init
    def __init__(self, input: CandidatureInput) -> None:
        super().__init__(input)

    @workflow.run
    async def run(self, input: CandidatureInput) -> CandidatureStatus:
        try:
            await self._record(None, State.SUBMITTED, "submit", APPLICANT)
            await self._intake()
            await self._await_decision()
            if await self._outcome():
                await self._cycle()
                await self._capitalise_cycle()
        except Ended:
            pass
        await workflow.wait_condition(workflow.all_handlers_finished)
        return self.status()

    # --- the story ----------------------------------------------------------------------------

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

    # --- signals from the campaign ------------------------------------------------------------

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


__all__ = ["CandidatureWorkflow", "candidature_workflow_id"]
