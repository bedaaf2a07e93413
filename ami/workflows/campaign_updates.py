"""What coordinators do on a campaign: register candidatures (`submit`, a correction of an ineligible
one included), the jury's scores, conflicts and deliberation, and the session dates. Each update is
checked by its validator (the rules are pure classes: `ami/domain/jury_rules.py`,
`ami/domain/session_rules.py`) and refused with a French message. A base of `CampaignWorkflow`.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import timedelta

from temporalio import workflow
from temporalio.common import SearchAttributePair, TypedSearchAttributes
from temporalio.exceptions import ApplicationError, FailureError

with workflow.unsafe.imports_passed_through():
    from ami.domain.jury_rules import Jury
    from ami.domain.session_rules import SessionCalendar
    from ami.models import search_attributes as sa
    from ami.models.campaign_messages import (
        CampaignEntry,
        ConflictInput,
        DeliberateInput,
        DeliberationResult,
        ReviewAck,
        ScoreInput,
        SetSessionInput,
        SubmitInput,
        SubmitResult,
    )
    from ami.models.campaign_phase import Phase
    from ami.models.campaign_state import ChildSignal
    from ami.models.candidature_messages import CandidatureInput, CorrectionInput
    from ami.models.facts import ConflictData, ReviewData
    from ami.models.lifecycle import State
    from ami.models.values import ScheduledSession
    from ami.workflows.campaign_effects import CampaignEffects
    from ami.workflows.campaign_inbox import CampaignInbox
    from ami.workflows.candidature import CandidatureWorkflow, candidature_workflow_id
    from ami.workflows.refused import checked, refuse


# The error type of an update refused while the campaign continues as new: worth retrying.
RENEWING = "Renewing"


class CampaignUpdates(CampaignEffects, CampaignInbox):
    _publish: bool
    _jury: Jury
    _calendar: SessionCalendar
    _updates: int  # updates admitted in this run (the server caps them per run)

    # --- candidatures -------------------------------------------------------------------------

    @workflow.update
    async def submit(self, input: SubmitInput) -> SubmitResult:
        self._updates += 1
        key = input.form.collectivite.identifier
        received_at = input.received_at or workflow.now()
        existing = self._state.entries.get(key)
        if existing is not None:  # the validator allowed it: a correction of an ineligible one
            return await self._correct(existing, CorrectionInput(form=input.form, received_at=received_at))
        number = self._state.next_receipt
        receipt = f"{self._plan.id.upper()}-{number:04d}"
        entry = CampaignEntry(receipt_number=receipt, key=key, received_at=received_at)
        self._state.entries[key] = entry  # before the await: a second submit meanwhile is refused
        self._state.next_receipt += 1
        child_id = candidature_workflow_id(self._plan.id, key)
        try:
            await workflow.start_child_workflow(
                CandidatureWorkflow.run,
                CandidatureInput(
                    plan=self._plan.for_candidature(),
                    receipt_number=receipt,
                    form=input.form,
                    received_at=received_at,
                    search_attributes=self._publish,
                ),
                id=child_id,
                parent_close_policy=workflow.ParentClosePolicy.ABANDON,
                search_attributes=self._child_attributes(receipt),
                static_summary=f"Candidature {receipt} — {key}",
                static_details=f"Campagne {self._plan.name}. Identifiant (SIREN ou INSEE) : {key}. Reçue le {received_at.astimezone(self._plan.zone()):%d/%m/%Y %H:%M}.",
            )
        except FailureError:
            # Rolled back: nothing was started, so nothing stays `submitted` for good.
            del self._state.entries[key]
            if self._state.next_receipt == number + 1:
                self._state.next_receipt = number
            raise refuse(
                f"La candidature n'a pas pu être enregistrée : un dossier {child_id} est déjà en cours hors de cette campagne."
                " Terminez-le ou contactez l'équipe technique, puis renvoyez le formulaire."
            ) from None
        return SubmitResult(workflow_id=child_id, receipt_number=receipt, correction=False)

    @submit.validator
    def _validate_submit(self, input: SubmitInput) -> None:
        self._refuse_while_renewing()
        if self._state.phase is Phase.DONE:
            raise refuse("La campagne est terminée : elle n'enregistre plus de candidature.")
        if input.received_at and input.received_at > workflow.now() + timedelta(minutes=5):
            raise refuse("La date de réception ne peut pas être dans le futur.")
        existing = self._state.entries.get(input.form.collectivite.identifier)
        if existing is None:
            if self._state.deliberation is not None:
                # Decided once: a form registered after the deliberation could never get a decision.
                raise refuse(
                    "Le jury a déjà délibéré : la campagne n'enregistre plus de candidature."
                    " Répondez à la collectivité directement (voir docs/coordinators.md)."
                )
            return
        if existing.state is not State.INELIGIBLE or existing.ended:
            raise refuse(
                f"Une candidature de cette collectivité est déjà enregistrée ({existing.receipt_number}, état {existing.state.value}) :"
                " une seule candidature par collectivité et par campagne."
            )
        if workflow.now() >= self._plan.deadline_at:
            raise refuse(f"La date limite est passée : la candidature {existing.receipt_number} ne peut plus être corrigée.")

    async def _correct(self, entry: CampaignEntry, correction: CorrectionInput) -> SubmitResult:
        """The candidature decides whether its correction is in time; `submit` answers what it decided."""
        update = workflow.current_update_info()
        assert update is not None
        request = update.id
        self._answers[request] = None
        try:
            await self._child(entry.key).signal(CandidatureWorkflow.correct, correction.model_copy(update={"request_id": request}))
        except FailureError:
            self._answers.pop(request, None)
            await self._found_closed(entry)
            raise refuse(f"La candidature {entry.receipt_number} est close : elle ne peut plus être corrigée.") from None
        await workflow.wait_condition(lambda: self._answers.get(request) is not None)
        if not self._answers.pop(request):
            raise refuse(f"La date limite est passée : la candidature {entry.receipt_number} ne peut plus être corrigée.")
        return SubmitResult(
            workflow_id=candidature_workflow_id(self._plan.id, entry.key), receipt_number=entry.receipt_number, correction=True
        )

    # --- the jury -----------------------------------------------------------------------------

    @workflow.update
    async def score(self, input: ScoreInput) -> ReviewAck:
        self._updates += 1
        replaces = input.member_id in self._state.reviews.get(input.receipt_number, {})
        self._jury.record_score(input)
        return await self._journal(ReviewData(**input.model_dump(), replaces=replaces))

    @score.validator
    def _validate_score(self, input: ScoreInput) -> None:
        self._admit(lambda: self._jury.check_score(input))

    @workflow.update
    async def declare_conflict(self, input: ConflictInput) -> ReviewAck:
        self._updates += 1
        # Recorded before the activity is awaited, so a deliberation accepted meanwhile cannot count the score.
        self._jury.record_conflict(input)
        return await self._journal(ConflictData(**input.model_dump()))

    @declare_conflict.validator
    def _validate_conflict(self, input: ConflictInput) -> None:
        self._admit(lambda: self._jury.check_conflict(input))

    @workflow.update
    def deliberate(self, input: DeliberateInput) -> DeliberationResult:
        """Ranks and queues every decision at once (the dispatcher sends them in batches)."""
        self._updates += 1
        result = self._jury.deliberate(input, workflow.now())
        for ranked in result.ranking:
            entry = self._state.by_receipt(ranked.receipt_number)
            assert entry is not None
            self._enqueue(ChildSignal.DECIDE, entry)
        if self._state.waitlist_closed:  # deliberated after the first session: the waitlist is over
            self._close_waitlist()
        return result

    @deliberate.validator
    def _validate_deliberate(self, input: DeliberateInput) -> None:
        self._admit(lambda: self._jury.check_deliberation(input, workflow.now()))

    # --- sessions -----------------------------------------------------------------------------

    @workflow.update
    def set_session(self, input: SetSessionInput) -> ScheduledSession:
        self._updates += 1
        session = self._calendar.set(input)
        for entry in self._state.entries.values():
            if entry.in_cycle or (entry.state is State.NOTIFIED and entry.has_seat):
                self._enqueue(ChildSignal.SCHEDULE, entry)
        return session

    @set_session.validator
    def _validate_session(self, input: SetSessionInput) -> None:
        cycle_over = self._state.phase in (Phase.CAPITALISATION, Phase.REPORTED, Phase.DONE)
        self._admit(lambda: self._calendar.check(input, workflow.now(), cycle_over))

    # --- plumbing -----------------------------------------------------------------------------

    async def _journal(self, data: ReviewData | ConflictData) -> ReviewAck:
        """The jury's journal records the scores or the conflict; the member is told the dossier's count."""
        await self._fact(data)
        receipt = data.receipt_number
        return ReviewAck(receipt_number=receipt, member_id=data.member_id, reviews=self._jury.counted(receipt))

    def _admit(self, check: Callable[[], None]) -> None:
        """A jury or session update's validator: refused while the campaign renews, else by its rule."""
        self._refuse_while_renewing()
        checked(check)

    def _child_attributes(self, receipt: str) -> TypedSearchAttributes | None:
        if not self._publish:
            return None
        return TypedSearchAttributes(
            [
                SearchAttributePair(sa.CAMPAIGN, self._plan.id),
                SearchAttributePair(sa.RECEIPT, receipt),
                SearchAttributePair(sa.STATE, State.SUBMITTED.value),
            ]
        )

    def _refuse_while_renewing(self) -> None:
        """While it continues as new, the campaign takes no new update, so that the ones in flight
        finish and the new run starts; the client retries (`ami.app.ops.Coordination` does it alone).
        Read-only, like every validator: it does not run again on replay."""
        if self._draining:
            raise ApplicationError(
                "La campagne passe à un nouvel historique : réessayez dans un instant.", type=RENEWING, non_retryable=True
            )
