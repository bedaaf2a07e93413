"""One campaign: opens and closes on its calendar, registers candidatures, runs the jury, fires the
response date, schedules the sessions, promotes from the waitlist and closes with the campaign report.

Each candidature is a child workflow (`CandidatureWorkflow`) that reports back by signal, with a
sequence number, at each transition that matters here. The campaign's phases are a table
(`ami/models/campaign_phase.py`), its rules pure classes (`ami/domain/jury_rules.py`,
`ami/domain/session_rules.py`), its whole state one model (`ami/models/campaign_state.py`) handed to
continue-as-new; its messages to candidatures go through an outbox (`ami/workflows/campaign_effects.py`).
"""

from __future__ import annotations

import asyncio
from collections import Counter
from collections.abc import Callable
from datetime import datetime, timedelta
from functools import partial
from typing import Any

from temporalio import workflow

with workflow.unsafe.imports_passed_through():
    from ami.activities.documents import DocumentActivities
    from ami.activities.records import RecordActivities
    from ami.activities.timeouts import DEFAULT_RETRY, DOCUMENT_HEARTBEAT, DOCUMENT_TIMEOUT, RECORD_TIMEOUT
    from ami.domain.jury_rules import Jury
    from ami.domain.session_rules import SessionCalendar
    from ami.models import search_attributes as sa
    from ami.models.activity_payloads import RecordCampaignInput
    from ami.models.campaign_messages import CampaignStatus, CampaignSummary
    from ami.models.campaign_phase import Phase, PhaseTrigger, next_phase
    from ami.models.campaign_state import CampaignInput, CampaignState, ChildSignal
    from ami.models.document_requests import CampaignReportDocumentRequest
    from ami.models.documents import CampaignReportRequest, ReportSession
    from ami.models.workflow_ids import campaign_workflow_id as campaign_workflow_id  # the id's scheme, re-exported
    from ami.workflows.campaign_updates import CampaignUpdates

# Continue as new well before Temporal's 10,240-event warning (a candidature costs the campaign
# about 25 events: its start, its reports, its scores, its decision).
CONTINUE_AS_NEW_AT = 8_000
# The server accepts at most 2,000 updates per run (a region's jury sends about 7,700 scores).
UPDATES_BEFORE_CONTINUE_AS_NEW = 1_500


@workflow.defn
class CampaignWorkflow(CampaignUpdates):
    @workflow.init
    def __init__(self, input: CampaignInput) -> None:
        self._plan = input.plan
        self._publish = input.search_attributes
        self._continue_at = input.continue_as_new_at or CONTINUE_AS_NEW_AT
        self._state = input.carried.model_copy() if input.carried else CampaignState()
        self._state.runs += 1
        self._jury = Jury(self._plan, self._state)
        self._calendar = SessionCalendar(self._plan, self._state)
        self._answers: dict[str, bool | None] = {}  # correction requests awaiting their candidature
        self._in_flight = False
        self._draining = False
        self._updates = 0  # updates admitted in this run (the server caps them per run)

    @workflow.run
    async def run(self, input: CampaignInput) -> CampaignStatus:
        """The story, one step per phase; a run continued as new resumes at its phase."""
        self._publish_phase()
        workflow.deprecate_patch("undated-session-watcher")
        watcher = asyncio.create_task(self._watch_undated_sessions())
        dispatcher = asyncio.create_task(self._dispatch_forever())
        if self._state.runs == 1 and workflow.patched("record-campaign-row"):
            await self._record_campaign()
        steps = {
            Phase.BEFORE_OPENING: self._before_opening,
            Phase.OPEN: self._open,
            Phase.JURY: self._jury_phase,
            Phase.DECISIONS: self._decisions,
            Phase.CAPITALISATION: self._capitalisation,
            Phase.REPORTED: self._last_candidatures,
        }
        while self._state.phase is not Phase.DONE:
            await steps[self._state.phase]()
        await workflow.wait_condition(lambda: not self._state.outbox and not self._in_flight)
        await workflow.wait_condition(workflow.all_handlers_finished)
        watcher.cancel()
        dispatcher.cancel()
        return self.status()

    # --- the story ----------------------------------------------------------------------------

    async def _before_opening(self) -> None:
        await self._until(self._plan.opens_at, "Ouverture de l'appel")
        self._advance(PhaseTrigger.OPEN)

    async def _open(self) -> None:
        await self._until(self._plan.deadline_at, "Date limite de dépôt")
        await self._alert("coord_deadline_summary", self._counts())
        self._advance(PhaseTrigger.CLOSE_SUBMISSIONS)

    async def _jury_phase(self) -> None:
        if not self._state.deadline_probed:
            # A candidature terminated from outside before the jury would block it: find out now.
            self._probe_open_candidatures()
            self._state.deadline_probed = True
        if not self._state.jury_eve_checked:
            eve = self._plan.response_at - self._plan.jury_alert_lead
            if not await self._until(eve, "Veille de la date de réponse", self._deliberated):
                await self._alert("coord_jury_late", self._counts())
            self._state.jury_eve_checked = True
        await self._until(None, "Délibération du jury", self._deliberated)
        self._advance(PhaseTrigger.DELIBERATE)

    async def _decisions(self) -> None:
        """The cycle's calendar: the end of the waitlist at the first session, capitalisation after the last."""
        while True:
            events: list[tuple[datetime, str]] = []
            if not self._state.waitlist_closed:
                events.append((self._calendar.first_start(), "waitlist"))
            capitalise_at = self._calendar.capitalisation_at()
            if capitalise_at is not None:
                events.append((capitalise_at, "capitalise"))
            moved = partial(self._moved_since, self._calendar.version())
            if not events:
                await self._until(None, "Dates des séances", moved)
                continue
            at, kind = min(events)
            if await self._until(at, _EVENT_SUMMARIES[kind], moved):
                continue  # a session moved: recompute
            if kind == "capitalise":
                break
            self._close_waitlist()
        self._advance(PhaseTrigger.END_CYCLE)

    async def _capitalisation(self) -> None:
        for entry in self._state.entries_list():
            if entry.in_cycle:
                self._enqueue(ChildSignal.CAPITALISE, entry)
        await self._until(None, "Capitalisation des candidatures", lambda: not any(e.in_cycle for e in self._state.entries.values()))
        report = await workflow.execute_activity_method(
            DocumentActivities.make_document,
            CampaignReportDocumentRequest(workflow_id=workflow.info().workflow_id, receipt_number=None, data=self._report_data()),
            start_to_close_timeout=DOCUMENT_TIMEOUT,
            heartbeat_timeout=DOCUMENT_HEARTBEAT,
            retry_policy=DEFAULT_RETRY,
            summary="Rapport de capitalisation de la campagne",
        )
        await self._alert("coord_campaign_report", self._counts(), attachments=[report.model_dump(mode="json")])
        self._advance(PhaseTrigger.SEND_REPORT)

    async def _last_candidatures(self) -> None:
        """Wait for every candidature to be final; probe the silent ones now and then, so that one
        closed from outside never keeps the campaign open."""
        probe_every = max(self._plan.capitalisation_delay, timedelta(minutes=1))
        while not self._all_final():
            if not await self._until(workflow.now() + probe_every, "Fin de toutes les candidatures", self._all_final):
                self._probe_open_candidatures()
        self._advance(PhaseTrigger.FINISH)

    async def _watch_undated_sessions(self) -> None:
        """Alert the coordinators for each session still without a date `session_alert_lead` before
        its month. Marked alerted only once sent: a continue-as-new during the send re-sends the
        same message (same Message-ID: the outbox keeps one)."""
        while (due := self._calendar.next_undated_alert()) is not None:
            at, number = due
            dated = len(self._state.sessions)
            remaining = at - workflow.now()
            if remaining > timedelta(0):
                try:
                    await workflow.wait_condition(
                        partial(self._dated_since, dated), timeout=remaining, timeout_summary="Alerte : séance sans date"
                    )
                    continue  # a session got its date: recompute
                except TimeoutError:
                    pass
            if number in self._state.sessions:
                continue
            month = self._plan.sessions[number - 1].month
            await self._alert("coord_session_undated", {"session_number": number, "month": month}, occurrence=str(number))
            self._state.alerted.append(number)

    @workflow.query
    def summary(self) -> CampaignSummary:
        entries = self._state.entries.values()
        return CampaignSummary(
            campaign_id=self._plan.id,
            phase=self._state.phase,
            received=len(self._state.entries),
            states=Counter(e.state for e in entries),
            decisions=Counter(e.decision for e in entries if e.decision),
            ended=sum(1 for e in entries if e.ended),
            deliberated=self._state.deliberation is not None,
            sessions=sorted(self._state.sessions.values(), key=lambda s: s.number),
        )

    @workflow.query
    def status(self) -> CampaignStatus:
        return CampaignStatus(
            campaign_id=self._plan.id,
            phase=self._state.phase,
            candidatures=sorted(self._state.entries.values(), key=lambda e: e.receipt_number),
            scores=self._jury.scores(),
            conflicts=self._state.conflicts,
            deliberation=self._jury.result(),
            sessions=sorted(self._state.sessions.values(), key=lambda s: s.number),
            ended=sorted(e.key for e in self._state.entries.values() if e.ended),
        )

    # --- plumbing -----------------------------------------------------------------------------

    def _probe_open_candidatures(self) -> None:
        for entry in self._state.entries_list():
            if not entry.final:
                self._enqueue(ChildSignal.PING, entry)

    def _all_final(self) -> bool:
        return all(e.final for e in self._state.entries.values()) and not self._state.outbox and not self._in_flight

    async def _record_campaign(self) -> None:
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

    def _counts(self) -> dict[str, Any]:
        """The figures of the coordinators' alerts: the summary's, as JSON."""
        return self.summary().model_dump(mode="json", include={"received", "states", "decisions"})

    def _report_data(self) -> CampaignReportRequest:
        """Identifiers and the schedule: the document activity reads every figure from the store."""
        return CampaignReportRequest(
            campaign_id=self._plan.id,
            campaign_name=self._plan.name,
            sessions=[ReportSession(number=n, theme=s.theme, starts_at=s.starts_at) for n, s in sorted(self._state.sessions.items())],
            **self._plan.model_dump(include={"region", "timezone", "time_map"}),
        )

    def _advance(self, trigger: PhaseTrigger) -> None:
        self._state.phase = next_phase(self._state.phase, trigger)
        self._publish_phase()

    def _publish_phase(self) -> None:
        phase = self._state.phase.value
        if self._publish:
            workflow.upsert_search_attributes([sa.CAMPAIGN.value_set(self._plan.id), sa.STATE.value_set(phase)])
        counts = Counter(e.state.value for e in self._state.entries.values())
        detail = ", ".join(f"{state} : {n}" for state, n in sorted(counts.items())) or "aucune candidature"
        workflow.set_current_details(f"**{self._plan.name}** — phase `{phase}`\n\n{len(self._state.entries)} candidature(s) — {detail}")

    def _moved_since(self, version: tuple[tuple[int, int], ...]) -> bool:
        return self._calendar.version() != version

    def _dated_since(self, dated: int) -> bool:
        return len(self._state.sessions) != dated

    def _deliberated(self) -> bool:
        return self._state.deliberation is not None

    async def _until(self, instant: datetime | None, summary: str, condition: Callable[[], bool] = lambda: False) -> bool:
        """Wait for `condition`, until `instant` (a durable timer) if given; True if it came true.

        The campaign's history grows with every candidature: while waiting, it continues as new
        with its whole state once the history is long.
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
        return (
            info.is_continue_as_new_suggested()
            or info.get_current_history_length() >= self._continue_at
            or self._updates >= UPDATES_BEFORE_CONTINUE_AS_NEW
        )

    async def _continue_as_new(self) -> None:
        self._draining = True  # the dispatcher finishes its batch and takes no other
        await workflow.wait_condition(lambda: workflow.all_handlers_finished() and not self._in_flight)
        workflow.continue_as_new(
            CampaignInput(
                plan=self._plan, search_attributes=self._publish, carried=self._state.to_carry(), continue_as_new_at=self._continue_at
            )
        )


_EVENT_SUMMARIES = {
    "waitlist": "Fin de la liste d'attente (première séance)",
    "capitalise": "Capitalisation après la dernière séance",
}
