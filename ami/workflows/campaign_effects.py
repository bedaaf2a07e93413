"""The campaign's side effects: the messages to its candidatures, the coordinators' alerts and the
jury's journal. A mixin of `CampaignWorkflow`.

Messages to candidatures go through an outbox in the carried state: handlers only queue them
(synchronously, so no handler walks a collection across an await), and one dispatcher sends them
in bounded concurrent batches, at most one in flight per candidature so that each one receives its
messages in order. A message's payload is built when it is sent, from the state at that moment.
A candidature found closed is recorded as ended; the campaign goes on, and the coordinators are
told when it had not finished its course.
"""

from __future__ import annotations

import asyncio
from typing import Any

from temporalio import workflow
from temporalio.exceptions import ActivityError, ApplicationError, FailureError

with workflow.unsafe.imports_passed_through():
    from ami.activities.email import EmailActivities
    from ami.activities.records import RecordActivities
    from ami.activities.timeouts import EMAIL_HEARTBEAT, EMAIL_RETRY, EMAIL_TIMEOUT
    from ami.infra.mail.render import TEMPLATE_ERROR
    from ami.models.activity_payloads import SendEmailInput
    from ami.models.campaign_messages import CampaignEntry
    from ami.models.campaign_plan import CampaignPlan
    from ami.models.campaign_state import CampaignState, ChildSignal, PendingSignal
    from ami.models.candidature_messages import DecisionInput, ScheduleInput
    from ami.models.facts import ConflictData, ConflictFact, FactKind, ReviewData, ReviewFact
    from ami.models.values import Decision
    from ami.workflows.candidature import CandidatureWorkflow, candidature_workflow_id
    from ami.workflows.journal import write_journal

# Signals sent at once by the dispatcher: enough to send a region's decisions in minutes, few
# enough that one workflow task stays small.
BATCH = 50


class CampaignEffects:
    _plan: CampaignPlan
    _state: CampaignState
    _in_flight: bool
    _draining: bool

    # --- the outbox ----------------------------------------------------------------------------

    def _enqueue(self, kind: ChildSignal, entry: CampaignEntry) -> None:
        if entry.ended:
            return
        self._state.outbox.append(PendingSignal(kind=kind, key=entry.key))

    async def _dispatch_forever(self) -> None:
        while True:
            await workflow.wait_condition(lambda: bool(self._state.outbox) and not self._draining)
            batch: list[PendingSignal] = []
            keys: set[str] = set()
            for item in self._state.outbox:
                if item.key not in keys:
                    keys.add(item.key)
                    batch.append(item)
                if len(batch) == BATCH:
                    break
            self._in_flight = True
            gone = await asyncio.gather(*(self._send(item) for item in batch))
            sent = {id(item) for item in batch}
            self._state.outbox = [item for item in self._state.outbox if id(item) not in sent]
            self._in_flight = False
            for item, closed in zip(batch, gone, strict=True):
                if closed:
                    await self._found_closed(self._state.entries[item.key])

    async def _send(self, item: PendingSignal) -> bool:
        """Send one message; True if the candidature's workflow was found closed."""
        entry = self._state.entries[item.key]
        handle = self._child(entry.key)
        try:
            match item.kind:
                case ChildSignal.DECIDE:
                    await handle.signal(CandidatureWorkflow.decide, self._decision_of(entry))
                case ChildSignal.PROMOTE:
                    await handle.signal(CandidatureWorkflow.promote)
                case ChildSignal.CLOSE_WAITLIST:
                    await handle.signal(CandidatureWorkflow.close_waitlist)
                case ChildSignal.SCHEDULE:
                    sessions = sorted(self._state.sessions.values(), key=lambda s: s.number)
                    await handle.signal(CandidatureWorkflow.schedule, ScheduleInput(sessions=sessions))
                case ChildSignal.CAPITALISE:
                    await handle.signal(CandidatureWorkflow.capitalise)
                case ChildSignal.PING:
                    await handle.signal(CandidatureWorkflow.ping)
        except FailureError:
            return True
        return False

    async def _found_closed(self, entry: CampaignEntry) -> None:
        """The workflow of `entry` has ended. Normal for a final one; otherwise it ended without
        telling (terminated from the Web UI, say): recorded, its seat freed, the coordinators told."""
        if entry.final:
            return
        had_seat = entry.has_seat
        entry.ended = True
        self._state.outbox = [item for item in self._state.outbox if item.key != entry.key]
        if had_seat:
            self._seat_freed()
        await self._alert(
            "coord_candidature_ended",
            {"receipt_number": entry.receipt_number, "state": entry.state.value},
            occurrence=entry.receipt_number,
        )

    def _decision_of(self, entry: CampaignEntry) -> DecisionInput:
        assert entry.decision is not None and entry.rank is not None
        decision = Decision.WAITLISTED if entry.promoted else entry.decision
        return DecisionInput(decision=decision, rank=entry.rank, score=entry.score, waitlist_position=entry.waitlist_position)

    def _child(self, key: str) -> workflow.ExternalWorkflowHandle[CandidatureWorkflow]:
        return workflow.get_external_workflow_handle_for(CandidatureWorkflow.run, candidature_workflow_id(self._plan.id, key))

    # --- seats and the waitlist ------------------------------------------------------------------

    def _seat_freed(self) -> None:
        if self._state.deliberation is None or self._state.waitlist_closed:
            return
        waiting = [e for e in self._state.entries.values() if e.waitlist_position is not None and not e.promoted and not e.final]
        if not waiting:
            return
        entry = min(waiting, key=lambda e: e.waitlist_position or 0)
        entry.promoted, entry.decision = True, Decision.SELECTED
        self._enqueue(ChildSignal.PROMOTE, entry)
        if self._state.sessions:
            self._enqueue(ChildSignal.SCHEDULE, entry)

    def _close_waitlist(self) -> None:
        self._state.waitlist_closed = True
        for entry in self._state.entries.values():
            if entry.decision is Decision.WAITLISTED and not entry.final:
                self._enqueue(ChildSignal.CLOSE_WAITLIST, entry)

    # --- coordinators and the journal ----------------------------------------------------------

    async def _alert(
        self, purpose: str, context: dict[str, Any], occurrence: str = "1", attachments: list[dict[str, Any]] | None = None
    ) -> None:
        info = workflow.info()
        try:
            await self._send_alert(info, purpose, context, occurrence, attachments)
        except ActivityError as error:
            cause = error.cause
            if not (isinstance(cause, ApplicationError) and cause.type == TEMPLATE_ERROR):
                raise
            # Its template cannot render (the worker checks them all at start, so this is rare):
            # the campaign goes on rather than retrying for ever; the worker's log names the template.
            workflow.logger.error("coordinators' alert not sent: template error", extra={"purpose": purpose})

    async def _send_alert(
        self, info: workflow.Info, purpose: str, context: dict[str, Any], occurrence: str, attachments: list[dict[str, Any]] | None
    ) -> None:
        await workflow.execute_activity_method(
            EmailActivities.send_email,
            SendEmailInput.model_validate(
                {
                    "workflow_id": info.workflow_id,
                    "run_id": info.first_execution_run_id,
                    "purpose": purpose,
                    "occurrence": occurrence,
                    "to": self._plan.coordinators,
                    "context": {"campaign": self._plan.reader_context(), **context},
                    "attachments": attachments or [],
                }
            ),
            start_to_close_timeout=EMAIL_TIMEOUT,
            heartbeat_timeout=EMAIL_HEARTBEAT,
            retry_policy=EMAIL_RETRY,
            summary=f"Alerte coordination : {purpose}",
        )

    async def _fact(self, data: ReviewData | ConflictData) -> None:
        """One row of the jury's journal; keyed by the update, so an activity run again adds no second row."""
        update = workflow.current_update_info()
        receipt = data.receipt_number
        entry = self._state.by_receipt(receipt)
        assert update is not None and entry is not None
        kind = FactKind.REVIEW if isinstance(data, ReviewData) else FactKind.CONFLICT
        common: dict[str, Any] = {
            "workflow_id": candidature_workflow_id(self._plan.id, entry.key),
            "campaign_id": self._plan.id,
            "receipt_number": receipt,
            "fact_id": f"{workflow.info().workflow_id}-{kind}-{update.id}",
            "at": workflow.now(),
        }
        await write_journal(
            RecordActivities.record_fact,
            ReviewFact(**common, data=data) if isinstance(data, ReviewData) else ConflictFact(**common, data=data),
            f"Journal du jury : {kind} sur {receipt}",
        )
