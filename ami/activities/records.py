"""The audit log, the candidature projection and the dossier's facts, each written once.

A retried activity adds nothing: transitions are keyed by (workflow id, sequence), facts by the
`fact_id` the workflow derives from its own history.
"""

from __future__ import annotations

from typing import Any

from temporalio import activity

from ami.activities.store_calls import journal_call
from ami.infra.settings import get_settings
from ami.infra.store import FactRow, Store, store_for
from ami.models.activity_payloads import RecordCampaignInput, RecordTransitionInput
from ami.models.facts import AttendanceFact, ConflictFact, ExperimentFact, FeedbackFact, RecordFactInput, ReviewFact
from ami.models.tables import AttendanceRow, CampaignRow, CandidatureRow, ExperimentRow, FeedbackRow, ReviewRow, TransitionRow

# The columns a transition's input fills as they are, in the audit log and in the projection.
_TRANSITION_COLUMNS = {"workflow_id", "sequence", "source", "dest", "trigger", "actor", "justification", "at"}
_PROJECTION_COLUMNS = {"workflow_id", "campaign_id", "receipt_number", "official_name", "kind", "departement", "form"}


def fact_row(input: RecordFactInput) -> FactRow:
    """The row of the table that holds this kind of fact."""
    common: dict[str, Any] = {
        "fact_id": input.fact_id,
        "workflow_id": input.workflow_id,
        "campaign_id": input.campaign_id,
        "receipt_number": input.receipt_number,
        "at": input.at,
    }
    match input:
        case ReviewFact(data=score):
            return ReviewRow(
                **common,
                kind="score",
                member_id=score.member_id,
                scores=score.scores,
                comment=score.comment,
                replaces=score.replaces,
                reason=None,
            )
        case ConflictFact(data=conflict):
            return ReviewRow(
                **common, kind="conflict", member_id=conflict.member_id, reason=conflict.reason, scores=None, comment=None, replaces=False
            )
        case AttendanceFact(data=attendance):
            return AttendanceRow(**common, **attendance.model_dump(exclude={"recorded_at"}))
        case FeedbackFact(data=feedback):
            return FeedbackRow(**common, **feedback.model_dump())
        case ExperimentFact(data=experiment):
            return ExperimentRow(**common, experiment=experiment.experiment)


class RecordActivities:
    def __init__(self, store: Store | None = None) -> None:
        self.store = store or store_for(get_settings().resolved_database_url())

    @activity.defn
    async def record_transition(self, input: RecordTransitionInput) -> bool:
        row = TransitionRow(**input.model_dump(include=_TRANSITION_COLUMNS))
        projection = CandidatureRow(
            **input.model_dump(include=_PROJECTION_COLUMNS),
            state=input.dest,
            decision=input.decision.value if input.decision else None,
            # The form travels with its `submitted` transition only: that instant is when it arrived.
            submitted_at=input.at if input.form is not None else None,
            updated_at=input.at,
        )
        return await journal_call(self.store.record_transition, row, projection)

    @activity.defn
    async def record_fact(self, input: RecordFactInput) -> bool:
        return await journal_call(self.store.record_fact, fact_row(input))

    @activity.defn
    async def record_campaign(self, input: RecordCampaignInput) -> None:
        row = CampaignRow(id=input.campaign_id, first_seen_at=input.at, **input.model_dump(exclude={"campaign_id", "at"}))
        await journal_call(self.store.record_campaign, row)
