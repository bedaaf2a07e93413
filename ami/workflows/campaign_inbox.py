"""What the candidatures tell their campaign: the signals `report` and `answer_correction`. A mixin of
`CampaignWorkflow`, in a module of its own so that `CandidatureWorkflow` signals its campaign by
method reference (`handle.signal(CampaignInbox.report, …)`) without importing the campaign's
workflow, which imports it.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from temporalio import workflow

with workflow.unsafe.imports_passed_through():
    from ami.models.campaign_messages import CampaignEntry, CandidatureReport, CorrectionAnswer
    from ami.models.campaign_state import CampaignState, ChildSignal
    from ami.models.lifecycle import State


class CampaignInbox:
    _state: CampaignState
    _answers: dict[str, bool | None]  # correction requests awaiting their candidature

    if TYPE_CHECKING:  # implemented by `CampaignEffects`

        def _enqueue(self, kind: ChildSignal, entry: CampaignEntry) -> None: ...

        def _seat_freed(self) -> None: ...

    @workflow.signal
    def answer_correction(self, answer: CorrectionAnswer) -> None:
        if answer.request_id in self._answers:  # a duplicate or a late answer finds nothing to do
            self._answers[answer.request_id] = answer.accepted

    @workflow.signal
    def report(self, report: CandidatureReport) -> None:
        """A candidature tells its new state. Stale and duplicate reports are ignored; a freed seat
        promotes the next on the waitlist."""
        entry = self._state.entries.get(report.key)
        if entry is None or (report.sequence and report.sequence <= entry.sequence):
            return
        had_seat = entry.has_seat and not entry.final
        entry.sequence, entry.state = report.sequence, report.state
        entry.departement = report.departement or entry.departement
        if report.decision is not None:
            entry.decision = report.decision
        if report.state is State.ENROLLED and self._state.sessions:
            self._enqueue(ChildSignal.SCHEDULE, entry)
        if entry.final and had_seat:
            self._seat_freed()
