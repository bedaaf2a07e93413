"""One campaign: opens and closes on its calendar, registers candidatures, runs the jury, fires the
response date, schedules the sessions, promotes from the waitlist and closes with the campaign report.

Each candidature is a child workflow (`CandidatureWorkflow`) that reports back by signal at each
transition that matters here; the campaign never waits on a child's history.
"""

from __future__ import annotations

import asyncio
from collections import Counter
from collections.abc import Callable
from datetime import datetime, timedelta
from functools import partial
from typing import Any

from temporalio import workflow
from temporalio.common import SearchAttributePair, TypedSearchAttributes
from temporalio.exceptions import ApplicationError

with workflow.unsafe.imports_passed_through():
    from activities.documents import DocumentActivities
    from activities.email import EmailActivities
    from activities.records import RecordActivities
    from models import search_attributes as sa
    from models.jury import rank
    from models.lifecycle import State
    from models.messages import (
        CampaignCarry,
        CampaignEntry,
        CampaignInput,
        CampaignStatus,
        CandidatureInput,
        CandidatureReport,
        ConflictInput,
        CorrectionInput,
        CycleSummary,
        Decision,
        DecisionInput,
        DeliberateInput,
        DeliberationResult,
        MakeDocumentInput,
        RecordCampaignInput,
        RecordFactInput,
        ReviewAck,
        ScheduledSession,
        ScheduleInput,
        ScoreInput,
        SendEmailInput,
        SetSessionInput,
        SubmitInput,
        SubmitResult,
    )
    from workflows.candidature import CandidatureWorkflow, candidature_workflow_id
    from workflows.timeouts import (
        DEFAULT_RETRY,
        DOCUMENT_HEARTBEAT,
        DOCUMENT_TIMEOUT,
        EMAIL_HEARTBEAT,
        EMAIL_RETRY,
        EMAIL_TIMEOUT,
        RECORD_TIMEOUT,
    )

_FINAL = {State.CAPITALISED.value, State.CLOSED.value}
_CYCLE_STATES = {State.ENROLLED.value, State.SESSION_TRACKED.value}


# Continue as new well before Temporal's 10,240-event warning (a candidature costs the campaign
# about 90 events: its child start, its reports, its scores).
CONTINUE_AS_NEW_AT = 8_000


def campaign_workflow_id(campaign_id: str) -> str:
    return f"campaign-{campaign_id}"


def _refuse(message: str) -> ApplicationError:
    return ApplicationError(message, type="Refused", non_retryable=True)


@workflow.defn
class CampaignWorkflow:
    @workflow.init
    def __init__(self, input: CampaignInput) -> None:
        self._plan = input.plan
        self._publish = input.search_attributes
        self._continue_at = input.continue_as_new_at or CONTINUE_AS_NEW_AT
        carried = input.carried
        self._phase = carried.phase if carried else "before_opening"
        self._done: set[str] = set(carried.done) if carried else set()
        self._entries: dict[str, CampaignEntry] = {e.key: e for e in carried.entries} if carried else {}
        self._by_receipt: dict[str, str] = {e.receipt_number: e.key for e in self._entries.values()}
        self._promoted: set[str] = set(carried.promoted) if carried else set()
        self._reviews: dict[str, dict[str, dict[str, int]]] = carried.reviews if carried else {}
        self._review_trace: list[dict[str, Any]] = carried.review_trace if carried else []
        self._conflicts: dict[str, list[str]] = carried.conflicts if carried else {}
        self._deliberation: DeliberationResult | None = carried.deliberation if carried else None
        self._sessions: dict[int, ScheduledSession] = {s.number: s for s in carried.sessions} if carried else {}
        self._summaries: dict[str, CycleSummary] = carried.summaries if carried else {}
        self._alerted: set[int] = set(carried.alerted) if carried else set()
        self._waitlist_closed = carried.waitlist_closed if carried else False
        self._capitalising = carried.capitalising if carried else False
        self._runs = carried.runs + 1 if carried else 1
        self._watching_sessions = False
        self._session_watcher: asyncio.Task[None] | None = None

    @workflow.run
    async def run(self, input: CampaignInput) -> CampaignStatus:
        """Each step is marked done once complete, so a run continued as new resumes where the last
        one stopped (continue-as-new only happens while waiting, never inside an activity)."""
        self._set_phase(self._phase)
        # Undated sessions are watched from the start, so an alert is on time even while the jury
        # is still deliberating (it used to wait for the deliberation). Guarded: older histories
        # replay with the alerts inside the cycle's calendar.
        self._watching_sessions = workflow.patched("undated-session-watcher")
        if self._watching_sessions:
            self._session_watcher = asyncio.create_task(self._watch_undated_sessions())
        # Added after the first histories were saved: guarded so that they still replay.
        if self._runs == 1 and workflow.patched("record-campaign-row"):
            await workflow.execute_activity_method(
                RecordActivities.record_campaign,
                RecordCampaignInput(
                    campaign_id=self._plan.id,
                    name=self._plan.name,
                    region=self._plan.region,
                    timezone=self._plan.timezone,
                    opens_at=self._plan.opens_at,
                    deadline_at=self._plan.deadline_at,
                    response_at=self._plan.response_at,
                    at=workflow.now(),
                ),
                start_to_close_timeout=RECORD_TIMEOUT,
                retry_policy=DEFAULT_RETRY,
                summary="Journal : la campagne",
            )
        if self._pending("opening"):
            await self._until(self._plan.opens_at, "Ouverture de l'appel")
            self._set_phase("open")
            self._done.add("opening")
        if self._pending("deadline"):
            await self._until(self._plan.deadline_at, "Date limite de dépôt")
            self._set_phase("jury")
            await self._alert("coord_deadline_summary", self._counts())
            self._done.add("deadline")
        if self._pending("jury_eve"):
            on_time = await self._until(
                self._plan.response_at - self._plan.jury_alert_lead, "Veille de la date de réponse", self._deliberated
            )
            if not on_time:
                await self._alert("coord_jury_late", self._counts())
            self._done.add("jury_eve")
        if self._pending("deliberation"):
            await self._until(None, "Délibération du jury", self._deliberated)
            self._set_phase("decisions")
            self._done.add("deliberation")
        if self._pending("cycle"):
            await self._run_cycle_calendar()
            self._set_phase("capitalisation")
            self._capitalising = True
            for entry in self._entries.values():
                if entry.state in _CYCLE_STATES:
                    await self._child(entry).signal(CandidatureWorkflow.capitalise)
            self._done.add("cycle")
        if self._pending("campaign_report"):
            await self._until(
                None, "Capitalisation des candidatures", lambda: all(e.state not in _CYCLE_STATES for e in self._entries.values())
            )
            report = await workflow.execute_activity_method(
                DocumentActivities.make_document,
                MakeDocumentInput(
                    workflow_id=workflow.info().workflow_id, receipt_number=None, kind="campaign_report", data=self._report_data()
                ),
                start_to_close_timeout=DOCUMENT_TIMEOUT,
                heartbeat_timeout=DOCUMENT_HEARTBEAT,
                retry_policy=DEFAULT_RETRY,
                summary="Rapport de capitalisation de la campagne",
            )
            await self._alert("coord_campaign_report", self._counts(), attachments=[report.model_dump(mode="json")])
            self._done.add("campaign_report")
        await self._until(None, "Fin de toutes les candidatures", lambda: all(e.state in _FINAL for e in self._entries.values()))
        await workflow.wait_condition(workflow.all_handlers_finished)
        self._set_phase("done")
        return self.status()

    async def _watch_undated_sessions(self) -> None:
        """Alert the coordinators for each session still without a date `session_alert_lead` before
        its month. Runs beside the story; marked alerted only once sent, so a continue-as-new during
        the send re-sends the same message (same Message-ID: the outbox keeps one)."""
        while True:
            pending = sorted(
                (p.window_start - self._plan.session_alert_lead, p.number)
                for p in self._plan.sessions
                if p.number not in self._sessions and p.number not in self._alerted
            )
            if not pending:
                return
            at, number = pending[0]
            dated = len(self._sessions)
            remaining = at - workflow.now()
            if remaining > timedelta(0):
                try:
                    await workflow.wait_condition(
                        partial(self._dated_since, dated), timeout=remaining, timeout_summary="Alerte : séance sans date"
                    )
                    continue  # a session got its date: recompute
                except TimeoutError:
                    pass
            if number in self._sessions:
                continue
            month = self._plan.sessions[number - 1].month
            await self._alert("coord_session_undated", {"session_number": number, "month": month}, occurrence=str(number))
            self._alerted.add(number)

    def _dated_since(self, dated: int) -> bool:
        return len(self._sessions) != dated

    async def _run_cycle_calendar(self) -> None:
        """Alerts for undated sessions, the end of the waitlist, then capitalisation after the last session."""
        while True:
            version = tuple((s.number, s.sequence) for s in self._sessions.values())
            changed: Callable[[], bool] = lambda v=version: v != tuple((s.number, s.sequence) for s in self._sessions.values())  # type: ignore[misc]  # noqa: E731
            events: list[tuple[datetime, str]] = []
            for plan in self._plan.sessions:
                if not self._watching_sessions and plan.number not in self._sessions and plan.number not in self._alerted:
                    events.append((plan.window_start - self._plan.session_alert_lead, f"alert-{plan.number}"))
            if not self._waitlist_closed:
                events.append((self._first_session_start(), "waitlist"))
            last = self._sessions.get(self._plan.sessions[-1].number)
            if last is not None:
                events.append((last.ends_at + self._plan.capitalisation_delay, "capitalise"))
            if not events:
                await self._until(None, "Dates des séances", changed)
                continue
            at, kind = min(events)
            if await self._until(at, _EVENT_SUMMARIES.get(kind.split("-")[0], kind), changed):
                continue
            if kind == "capitalise":
                return
            if kind == "waitlist":
                await self._close_waitlist()
            else:
                number = int(kind.split("-")[1])
                self._alerted.add(number)
                await self._alert(
                    "coord_session_undated",
                    {"session_number": number, "month": self._plan.sessions[number - 1].month},
                    occurrence=str(number),
                )

    # --- candidatures ------------------------------------------------------------------------

    @workflow.update
    async def submit(self, input: SubmitInput) -> SubmitResult:
        key = input.form.collectivite.identifier
        received_at = input.received_at or workflow.now()
        existing = self._entries.get(key)
        if existing is not None:  # the validator allowed it: a correction of an ineligible one
            await self._child(existing).signal(CandidatureWorkflow.correct, CorrectionInput(form=input.form, received_at=received_at))
            existing.state = State.SUBMITTED.value
            return SubmitResult(workflow_id=existing.workflow_id, receipt_number=existing.receipt_number, correction=True)
        receipt = f"{self._plan.id.upper()}-{len(self._entries) + 1:04d}"
        child_id = candidature_workflow_id(self._plan.id, key)
        entry = CampaignEntry(receipt_number=receipt, key=key, workflow_id=child_id, state=State.SUBMITTED.value, received_at=received_at)
        self._entries[key] = entry
        self._by_receipt[receipt] = key
        await workflow.start_child_workflow(
            CandidatureWorkflow.run,
            CandidatureInput(
                plan=self._plan,
                campaign_workflow_id=workflow.info().workflow_id,
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
        return SubmitResult(workflow_id=child_id, receipt_number=receipt, correction=False)

    @submit.validator
    def _validate_submit(self, input: SubmitInput) -> None:
        if self._phase == "done":
            raise _refuse("La campagne est terminée : elle n'enregistre plus de candidature.")
        if input.received_at and input.received_at > workflow.now() + timedelta(minutes=5):
            raise _refuse("La date de réception ne peut pas être dans le futur.")
        existing = self._entries.get(input.form.collectivite.identifier)
        if existing is None:
            return
        if existing.state != State.INELIGIBLE.value:
            raise _refuse(
                f"Une candidature de cette collectivité est déjà enregistrée ({existing.receipt_number}, état {existing.state}) :"
                " une seule candidature par collectivité et par campagne."
            )
        if workflow.now() >= self._plan.deadline_at:
            raise _refuse(f"La date limite est passée : la candidature {existing.receipt_number} ne peut plus être corrigée.")

    @workflow.signal
    async def report(self, report: CandidatureReport) -> None:
        """A candidature tells its new state; a withdrawal of a selected one promotes the next."""
        entry = self._entries.get(report.key)
        if entry is None:
            return
        was_seat = entry.decision is Decision.SELECTED or entry.receipt_number in self._promoted
        entry.state, entry.departement = report.state, report.departement or entry.departement
        if report.decision is not None:
            entry.decision = report.decision
        if report.summary is not None:
            self._summaries[entry.receipt_number] = report.summary
        if report.state == State.ENROLLED.value and self._sessions:
            await self._child(entry).signal(CandidatureWorkflow.schedule, ScheduleInput(sessions=list(self._sessions.values())))
        if report.state == State.CLOSED.value and was_seat and self._deliberation and not self._waitlist_closed:
            await self._promote_next()

    # --- the jury ----------------------------------------------------------------------------

    @workflow.update
    async def score(self, input: ScoreInput) -> ReviewAck:
        reviews = self._reviews.setdefault(input.receipt_number, {})
        trace = {"at": workflow.now().isoformat(), "kind": "score", "replaces": input.member_id in reviews, **input.model_dump()}
        self._review_trace.append(trace)
        reviews[input.member_id] = dict(input.scores)
        await self._fact(input.receipt_number, "review", f"review-{len(self._review_trace)}", trace)
        return self._ack(input.receipt_number, input.member_id)

    @score.validator
    def _validate_score(self, input: ScoreInput) -> None:
        self._check_member_and_candidature(input.member_id, input.receipt_number)
        if input.member_id in self._conflicts.get(input.receipt_number, []):
            raise _refuse(
                f"Le membre {input.member_id} a déclaré un conflit d'intérêts sur {input.receipt_number} : il ne peut pas la noter."
            )
        criteria = {c.id for c in self._plan.criteria}
        unknown = sorted(set(input.scores) - criteria)
        if unknown:
            raise _refuse(f"Critère(s) inconnu(s) : {', '.join(unknown)} (critères de la campagne : {', '.join(sorted(criteria))}).")
        missing = sorted(criteria - set(input.scores))
        if missing:
            raise _refuse(f"Note manquante pour : {', '.join(missing)}.")
        wrong = {c: v for c, v in input.scores.items() if not 0 <= v <= 5}
        if wrong:
            raise _refuse("Notes hors de l'échelle 0 à 5 : " + ", ".join(f"{c}={v}" for c, v in wrong.items()) + ".")

    @workflow.update
    async def declare_conflict(self, input: ConflictInput) -> ReviewAck:
        conflicted = self._conflicts.setdefault(input.receipt_number, [])
        if input.member_id not in conflicted:
            conflicted.append(input.member_id)
        trace = {"at": workflow.now().isoformat(), "kind": "conflict", **input.model_dump()}
        self._review_trace.append(trace)
        # A score given before the declaration no longer counts; the trace keeps it. Dropped before
        # the activity is awaited, so a deliberation accepted meanwhile cannot count it.
        self._reviews.get(input.receipt_number, {}).pop(input.member_id, None)
        await self._fact(input.receipt_number, "conflict", f"conflict-{len(self._review_trace)}", trace)
        return self._ack(input.receipt_number, input.member_id)

    @declare_conflict.validator
    def _validate_conflict(self, input: ConflictInput) -> None:
        self._check_member_and_candidature(input.member_id, input.receipt_number)

    @workflow.update
    async def deliberate(self, input: DeliberateInput) -> DeliberationResult:
        eligible = self._eligible()
        received = {e.receipt_number: e.received_at for e in eligible}
        ranking = rank(
            received, self._reviews, self._plan.criterion_weights(), self._plan.capacity, self._plan.waitlist_size, input.overrides
        )
        self._deliberation = DeliberationResult(decided_at=workflow.now(), actor=input.actor, ranking=ranking, overrides=input.overrides)
        for ranked in ranking:
            entry = self._entries[self._by_receipt[ranked.receipt_number]]
            entry.decision = ranked.decision
            await self._child(entry).signal(
                CandidatureWorkflow.decide,
                DecisionInput(decision=ranked.decision, rank=ranked.rank, score=ranked.score, waitlist_position=ranked.waitlist_position),
            )
        return self._deliberation

    @deliberate.validator
    def _validate_deliberate(self, input: DeliberateInput) -> None:
        if self._deliberation is not None:
            raise _refuse("Le jury a déjà délibéré pour cette campagne.")
        if workflow.now() < self._plan.deadline_at:
            raise _refuse("Le jury ne délibère qu'après la date limite de dépôt.")
        pending = [e.receipt_number for e in self._entries.values() if e.state == State.SUBMITTED.value]
        if pending:
            raise _refuse(f"Vérification d'éligibilité en cours pour : {', '.join(pending)}. Réessayez dans un instant.")
        short = []
        for entry in self._eligible():
            reviews = {m for m in self._reviews.get(entry.receipt_number, {}) if m not in self._conflicts.get(entry.receipt_number, [])}
            if len(reviews) < self._plan.quorum:
                short.append(f"{entry.receipt_number} ({len(reviews)}/{self._plan.quorum})")
        if short:
            raise _refuse("Quorum non atteint pour : " + ", ".join(short) + ".")
        eligible = {e.receipt_number for e in self._eligible()}
        for override in input.overrides:
            if override.receipt_number not in eligible:
                raise _refuse(f"Dérogation impossible : {override.receipt_number} n'est pas une candidature éligible en attente du jury.")

    # --- sessions ----------------------------------------------------------------------------

    @workflow.update
    async def set_session(self, input: SetSessionInput) -> ScheduledSession:
        plan = self._plan.sessions[input.number - 1]
        previous = self._sessions.get(input.number)
        session = ScheduledSession(
            number=input.number,
            theme=input.theme or (previous.theme if previous else plan.theme),
            place=input.place,
            starts_at=input.starts_at,
            ends_at=input.starts_at + self._plan.session_duration,
            sequence=previous.sequence + 1 if previous else 0,
        )
        self._sessions[input.number] = session
        for entry in self._entries.values():
            if entry.state in _CYCLE_STATES or (entry.state == State.NOTIFIED.value and entry.decision is Decision.SELECTED):
                await self._child(entry).signal(CandidatureWorkflow.schedule, ScheduleInput(sessions=[session]))
        return session

    @set_session.validator
    def _validate_session(self, input: SetSessionInput) -> None:
        plan = self._plan.session(input.number)
        if plan is None:
            raise _refuse(f"Séance inconnue : {input.number} (la campagne en compte {len(self._plan.sessions)}).")
        if self._capitalising:
            raise _refuse("Le cycle est terminé : les séances ne peuvent plus être modifiées.")
        now = workflow.now()
        current = self._sessions.get(input.number)
        if current is not None and current.starts_at <= now:
            raise _refuse(f"La séance {input.number} a déjà commencé : elle ne peut plus être déplacée.")
        if input.starts_at <= now:
            raise _refuse("La date de la séance doit être dans le futur.")
        if not plan.window_start <= input.starts_at < plan.window_end:
            raise _refuse(f"La séance {input.number} est publiée pour le mois {plan.month} : choisissez une date dans ce mois.")
        before = self._sessions.get(input.number - 1)
        after = self._sessions.get(input.number + 1)
        if before and input.starts_at < before.ends_at:
            raise _refuse(f"La séance {input.number} doit suivre la séance {before.number}.")
        if after and input.starts_at + self._plan.session_duration > after.starts_at:
            raise _refuse(f"La séance {input.number} doit précéder la séance {after.number}.")

    @workflow.query
    def status(self) -> CampaignStatus:
        return CampaignStatus(
            campaign_id=self._plan.id,
            phase=self._phase,
            candidatures=sorted(self._entries.values(), key=lambda e: e.receipt_number),
            scores=self._reviews,
            conflicts=self._conflicts,
            deliberation=self._deliberation,
            sessions=sorted(self._sessions.values(), key=lambda s: s.number),
        )

    # --- plumbing ----------------------------------------------------------------------------

    def _child(self, entry: CampaignEntry) -> workflow.ExternalWorkflowHandle[CandidatureWorkflow]:
        return workflow.get_external_workflow_handle_for(CandidatureWorkflow.run, entry.workflow_id)

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

    def _ack(self, receipt: str, member_id: str) -> ReviewAck:
        conflicted = self._conflicts.get(receipt, [])
        counted = [m for m in self._reviews.get(receipt, {}) if m not in conflicted]
        return ReviewAck(receipt_number=receipt, member_id=member_id, reviews=len(counted))

    def _eligible(self) -> list[CampaignEntry]:
        return [e for e in self._entries.values() if e.state == State.ELIGIBILITY_CHECKED.value]

    def _check_member_and_candidature(self, member_id: str, receipt: str) -> None:
        if member_id not in {m.id for m in self._plan.jury}:
            raise _refuse(f"Membre du jury inconnu : {member_id}.")
        if self._deliberation is not None:
            raise _refuse("Le jury a déjà délibéré : les notes sont closes.")
        key = self._by_receipt.get(receipt)
        if key is None:
            raise _refuse(f"Candidature inconnue : {receipt}.")
        state = self._entries[key].state
        if state != State.ELIGIBILITY_CHECKED.value:
            raise _refuse(f"La candidature {receipt} n'est pas en attente du jury (état {state}) : elle ne peut pas être notée.")

    async def _promote_next(self) -> None:
        assert self._deliberation is not None
        for ranked in sorted(self._deliberation.ranking, key=lambda r: r.waitlist_position or 10**6):
            if ranked.decision is not Decision.WAITLISTED or ranked.receipt_number in self._promoted:
                continue
            entry = self._entries[self._by_receipt[ranked.receipt_number]]
            if entry.state in _FINAL:
                continue
            self._promoted.add(ranked.receipt_number)
            entry.decision = Decision.SELECTED
            await self._child(entry).signal(CandidatureWorkflow.promote)
            if self._sessions:
                await self._child(entry).signal(CandidatureWorkflow.schedule, ScheduleInput(sessions=list(self._sessions.values())))
            return

    async def _close_waitlist(self) -> None:
        self._waitlist_closed = True
        for entry in self._entries.values():
            if entry.decision is Decision.WAITLISTED and entry.state not in _FINAL:
                await self._child(entry).signal(CandidatureWorkflow.close_waitlist)

    def _first_session_start(self) -> datetime:
        first = self._plan.sessions[0]
        scheduled = self._sessions.get(first.number)
        return scheduled.starts_at if scheduled else first.window_end

    def _counts(self) -> dict[str, Any]:
        states = Counter(e.state for e in self._entries.values())
        decisions = Counter(e.decision.value for e in self._entries.values() if e.decision)
        return {"received": len(self._entries), "states": dict(states), "decisions": dict(decisions)}

    def _report_data(self) -> dict[str, Any]:
        zone = self._plan.zone()
        counts = Counter(e.state for e in self._entries.values())
        decisions = Counter(e.decision.value for e in self._entries.values() if e.decision)
        sessions = []
        for n, s in sorted(self._sessions.items()):
            lines = [a for summary in self._summaries.values() for a in summary.attendance if a.session_number == n]
            marks = [f.satisfaction for summary in self._summaries.values() for f in summary.feedback if f.session_number == n]
            sessions.append(
                {
                    "number": n,
                    "date": s.starts_at.astimezone(zone).date().isoformat(),
                    "theme": s.theme,
                    "invited": len(self._summaries),
                    "present": sum(1 for a in lines if not a.absent),
                    "binome_complete": sum(1 for a in lines if a.binome_complete),
                    "mean_satisfaction": round(sum(marks) / len(marks), 2) if marks else None,
                }
            )
        quotes = [f.comment for summary in self._summaries.values() for f in summary.feedback if f.comment]
        return {
            "campaign_name": self._plan.name,
            "region_name": self._plan.region,
            "counts": {
                "received": len(self._entries),
                "eligible": sum(1 for e in self._entries.values() if e.decision is not None),
                "selected": decisions.get(Decision.SELECTED.value, 0),
                "waitlisted": decisions.get(Decision.WAITLISTED.value, 0),
                "not_selected": decisions.get(Decision.NOT_SELECTED.value, 0),
                "enrolled": len(self._summaries),
                "capitalised": counts.get(State.CAPITALISED.value, 0),
                "closed": counts.get(State.CLOSED.value, 0),
            },
            "sessions": sessions,
            "quotes": quotes,
            "experiments": [s.experiment for s in self._summaries.values() if s.experiment],
        }

    async def _fact(self, receipt: str, kind: str, fact_id: str, data: dict[str, Any]) -> None:
        entry = self._entries[self._by_receipt[receipt]]
        await workflow.execute_activity_method(
            RecordActivities.record_fact,
            RecordFactInput(
                workflow_id=entry.workflow_id,
                campaign_id=self._plan.id,
                receipt_number=receipt,
                kind=kind,
                fact_id=f"{workflow.info().workflow_id}-{fact_id}",
                at=workflow.now(),
                data=data,
            ),
            start_to_close_timeout=RECORD_TIMEOUT,
            retry_policy=DEFAULT_RETRY,
            summary=f"Journal du jury : {kind} sur {receipt}",
        )

    async def _alert(
        self, purpose: str, context: dict[str, Any], occurrence: str = "1", attachments: list[dict[str, Any]] | None = None
    ) -> None:
        await workflow.execute_activity_method(
            EmailActivities.send_email,
            SendEmailInput.model_validate(
                {
                    "workflow_id": workflow.info().workflow_id,
                    "purpose": purpose,
                    "occurrence": occurrence,
                    "to": self._plan.coordinators,
                    "context": {"campaign": {"id": self._plan.id, "name": self._plan.name, "timezone": self._plan.timezone}, **context},
                    "attachments": attachments or [],
                }
            ),
            start_to_close_timeout=EMAIL_TIMEOUT,
            heartbeat_timeout=EMAIL_HEARTBEAT,
            retry_policy=EMAIL_RETRY,
            summary=f"Alerte coordination : {purpose}",
        )

    def _set_phase(self, phase: str) -> None:
        self._phase = phase
        if self._publish:
            workflow.upsert_search_attributes([sa.CAMPAIGN.value_set(self._plan.id), sa.STATE.value_set(phase)])
        counts = Counter(e.state for e in self._entries.values())
        detail = ", ".join(f"{state} : {n}" for state, n in sorted(counts.items())) or "aucune candidature"
        workflow.set_current_details(f"**{self._plan.name}** — phase `{phase}`\n\n{len(self._entries)} candidature(s) — {detail}")

    def _deliberated(self) -> bool:
        return self._deliberation is not None

    def _pending(self, step: str) -> bool:
        return step not in self._done

    async def _until(self, instant: datetime | None, summary: str, condition: Callable[[], bool] = lambda: False) -> bool:
        """Wait for `condition`, until `instant` (a durable timer) if given; True if it came true.

        The campaign's history grows with every candidature (a child, its reports, the jury's
        updates): while waiting, it continues as new with all its state once the history is long.
        """
        while True:
            if condition():
                return True
            remaining = instant - workflow.now() if instant is not None else None
            if remaining is not None and remaining <= timedelta(0):
                return False
            try:
                await workflow.wait_condition(lambda: condition() or self._history_is_long(), timeout=remaining, timeout_summary=summary)
            except TimeoutError:
                return condition()
            if not condition() and self._history_is_long():
                await self._continue_as_new()

    def _history_is_long(self) -> bool:
        info = workflow.info()
        return info.is_continue_as_new_suggested() or info.get_current_history_length() >= self._continue_at

    async def _continue_as_new(self) -> None:
        await workflow.wait_condition(workflow.all_handlers_finished)
        carry = CampaignCarry(
            phase=self._phase,
            done=sorted(self._done),
            entries=list(self._entries.values()),
            promoted=sorted(self._promoted),
            reviews=self._reviews,
            review_trace=self._review_trace,
            conflicts=self._conflicts,
            deliberation=self._deliberation,
            sessions=list(self._sessions.values()),
            summaries=self._summaries,
            alerted=sorted(self._alerted),
            waitlist_closed=self._waitlist_closed,
            capitalising=self._capitalising,
            runs=self._runs,
        )
        workflow.continue_as_new(
            CampaignInput(plan=self._plan, search_attributes=self._publish, carried=carry, continue_as_new_at=self._continue_at)
        )


_EVENT_SUMMARIES = {
    "alert": "Alerte : séance sans date",
    "waitlist": "Fin de la liste d'attente (première séance)",
    "capitalise": "Capitalisation après la dernière séance",
}
