"""Stand-in workflows, registered under the real workflows' names, so that each workflow is tested
alone: a campaign that records what its candidatures report, and a candidature that records what
its campaign sends and reports as simply as it can. The signal names are those of the real ones."""

from __future__ import annotations

from typing import Any

from temporalio import workflow

with workflow.unsafe.imports_passed_through():
    from ami.models.campaign_messages import CandidatureReport, CorrectionAnswer
    from ami.models.candidature_messages import CandidatureInput, CorrectionInput, DecisionInput, ScheduleInput
    from ami.models.lifecycle import State
    from ami.models.values import CycleSummary, Decision


@workflow.defn(name="CampaignWorkflow")
class CampaignStandIn:
    """Records the reports and the correction answers a candidature sends to `campaign-<id>`."""

    def __init__(self) -> None:
        self._reports: list[CandidatureReport] = []
        self._answers: list[CorrectionAnswer] = []
        self._stopped = False

    @workflow.run
    async def run(self) -> None:
        await workflow.wait_condition(lambda: self._stopped)

    @workflow.signal
    def report(self, report: CandidatureReport) -> None:
        self._reports.append(report)

    @workflow.signal
    def answer_correction(self, answer: CorrectionAnswer) -> None:
        self._answers.append(answer)

    @workflow.signal
    def stop(self) -> None:
        self._stopped = True

    @workflow.query
    def reports(self) -> list[CandidatureReport]:
        return self._reports

    @workflow.query
    def answers(self) -> list[CorrectionAnswer]:
        return self._answers


@workflow.defn(name="CandidatureWorkflow")
class CandidatureStandIn:
    """Reports `eligibility_checked` at once, `notified` (or `closed` when not selected) on its
    decision, `enrolled` when the test says so, `closed` when its waitlist closes, `capitalised` when
    told to; records every signal the campaign sends."""

    @workflow.init
    def __init__(self, input: CandidatureInput) -> None:
        self._input = input
        self._signals: list[tuple[str, Any]] = []
        self._sequence = 1
        self._done = False

    @workflow.run
    async def run(self, input: CandidatureInput) -> None:
        await self._report(State.ELIGIBILITY_CHECKED)
        await workflow.wait_condition(lambda: self._done)

    @workflow.signal
    async def decide(self, decision: DecisionInput) -> None:
        self._signals.append(("decide", decision.model_dump(mode="json")))
        if decision.decision is Decision.NOT_SELECTED:
            await self._report(State.CLOSED, decision.decision)
            self._done = True
        else:
            await self._report(State.NOTIFIED, decision.decision)

    @workflow.signal
    def promote(self) -> None:
        self._signals.append(("promote", None))

    @workflow.signal
    async def close_waitlist(self) -> None:
        self._signals.append(("close_waitlist", None))
        await self._report(State.CLOSED, Decision.WAITLISTED)
        self._done = True

    @workflow.signal
    def schedule(self, schedule: ScheduleInput) -> None:
        self._signals.append(("schedule", [(s.number, s.sequence) for s in schedule.sessions]))

    @workflow.signal
    async def capitalise(self) -> None:
        self._signals.append(("capitalise", None))
        await self._report(State.CAPITALISED, Decision.SELECTED, CycleSummary(attendance=[], feedback=[], experiment=None))
        self._done = True

    @workflow.signal
    async def enrol(self) -> None:
        """Sent by the test: the binôme is confirmed (the real workflow's `confirm_binome`)."""
        await self._report(State.ENROLLED, Decision.SELECTED)

    @workflow.signal
    def ping(self) -> None:
        self._signals.append(("ping", None))

    @workflow.signal
    def correct(self, correction: CorrectionInput) -> None:
        self._signals.append(("correct", correction.request_id))

    @workflow.query
    def signals(self) -> list[tuple[str, Any]]:
        return self._signals

    @workflow.query
    def started_with(self) -> CandidatureInput:
        return self._input

    async def _report(self, state: State, decision: Decision | None = None, summary: CycleSummary | None = None) -> None:
        self._sequence += 1
        parent = workflow.info().parent
        assert parent is not None
        report = CandidatureReport(
            receipt_number=self._input.receipt_number,
            key=self._input.form.collectivite.identifier,
            state=state,
            sequence=self._sequence,
            decision=decision,
            summary=summary,
        )
        await workflow.get_external_workflow_handle(parent.workflow_id).signal("report", report)
