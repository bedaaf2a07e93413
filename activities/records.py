"""The audit log, the candidature projection and the dossier's facts, each written once.

A retried activity adds nothing: transitions are keyed by (workflow id, sequence), facts by the
`fact_id` the workflow derives from its own history.
"""

from __future__ import annotations

import asyncio
from typing import Any

from pydantic import BaseModel, ConfigDict, ValidationError
from temporalio import activity
from temporalio.exceptions import ApplicationError

from ami.settings import get_settings
from ami.store import FactRow, Store, store_for
from models.activity_payloads import RecordCampaignInput, RecordFactInput, RecordTransitionInput
from models.tables import AttendanceRow, CampaignRow, CandidatureRow, ExperimentRow, FeedbackRow, ReviewRow, TransitionRow

# The shapes of `RecordFactInput.data` the workflows write; keys the store has no column for
# (the review trace repeats `at` and `receipt_number`, say) are ignored.
_LOOSE = ConfigDict(extra="ignore")


class _Score(BaseModel):
    model_config = _LOOSE
    member_id: str
    scores: dict[str, int]
    comment: str | None = None
    replaces: bool = False


class _Conflict(BaseModel):
    model_config = _LOOSE
    member_id: str
    reason: str | None = None


class _Attendance(BaseModel):
    model_config = _LOOSE
    session_number: int
    elected_present: bool
    technician_present: bool
    others: int = 0


class _Feedback(BaseModel):
    model_config = _LOOSE
    session_number: int
    satisfaction: int
    comment: str | None = None


class _Experiment(BaseModel):
    model_config = _LOOSE
    experiment: str


def fact_row(input: RecordFactInput) -> FactRow:
    """The row of the table that holds this kind of fact; a kind or shape the store does not know is
    a programming error, refused for good rather than retried or silently dropped."""
    common: dict[str, Any] = {
        "fact_id": input.fact_id,
        "workflow_id": input.workflow_id,
        "campaign_id": input.campaign_id,
        "receipt_number": input.receipt_number,
        "at": input.at,
    }
    try:
        if input.kind == "review":
            score = _Score.model_validate(input.data)
            return ReviewRow(**common, kind="score", **score.model_dump(), reason=None)
        if input.kind == "conflict":
            conflict = _Conflict.model_validate(input.data)
            return ReviewRow(**common, kind="conflict", **conflict.model_dump(), scores=None, comment=None, replaces=False)
        if input.kind == "attendance":
            return AttendanceRow(**common, **_Attendance.model_validate(input.data).model_dump())
        if input.kind == "feedback":
            return FeedbackRow(**common, **_Feedback.model_validate(input.data).model_dump())
        if input.kind == "experiment":
            return ExperimentRow(**common, **_Experiment.model_validate(input.data).model_dump())
    except ValidationError as error:
        raise ApplicationError(f"Fait « {input.kind} » mal formé ({input.fact_id}) : {error}", type="BadFact", non_retryable=True) from None
    raise ApplicationError(f"Nature de fait inconnue du registre : « {input.kind} » ({input.fact_id}).", type="BadFact", non_retryable=True)


class RecordActivities:
    def __init__(self, store: Store | None = None) -> None:
        self.store = store or store_for(get_settings().resolved_database_url())

    @activity.defn
    async def record_transition(self, input: RecordTransitionInput) -> bool:
        row = TransitionRow(
            workflow_id=input.workflow_id,
            sequence=input.sequence,
            source=input.source,
            dest=input.dest,
            trigger=input.trigger,
            actor=input.actor,
            justification=input.justification,
            at=input.at,
        )
        projection = CandidatureRow(
            workflow_id=input.workflow_id,
            campaign_id=input.campaign_id,
            receipt_number=input.receipt_number,
            official_name=input.official_name,
            kind=input.kind,
            departement=input.departement,
            state=input.dest,
            decision=input.decision.value if input.decision else None,
            form=input.form,
            # The form travels with its `submitted` transition only: that instant is when it arrived.
            submitted_at=input.at if input.form is not None else None,
            updated_at=input.at,
        )
        return await asyncio.to_thread(self.store.record_transition, row, projection)

    @activity.defn
    async def record_fact(self, input: RecordFactInput) -> bool:
        return await asyncio.to_thread(self.store.record_fact, fact_row(input))

    @activity.defn
    async def record_campaign(self, input: RecordCampaignInput) -> None:
        row = CampaignRow(
            id=input.campaign_id,
            name=input.name,
            region=input.region,
            timezone=input.timezone,
            opens_at=input.opens_at,
            deadline_at=input.deadline_at,
            response_at=input.response_at,
            first_seen_at=input.at,
        )
        await asyncio.to_thread(self.store.record_campaign, row)
