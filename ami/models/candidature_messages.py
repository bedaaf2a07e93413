"""The candidature workflow's messages: its input, the signals the campaign sends it (correct,
decide, schedule), the coordinators' updates and their results, and its status query.

Every model accepts plain JSON, so each action can also be sent from the Temporal Web UI.
"""

from __future__ import annotations

from datetime import datetime
from typing import Annotated

from pydantic import AwareDatetime, BaseModel, BeforeValidator, ConfigDict, Field, PlainSerializer

from ami.models.campaign_plan import CandidaturePlan
from ami.models.candidature import CandidatureFile, Person
from ami.models.lifecycle import State
from ami.models.values import Attendance, Decision, DocumentRef, Feedback, ScheduledSession, Verdict

_MSG = ConfigDict(extra="forbid")


class CandidatureInput(BaseModel):
    """What a candidature needs, not the whole campaign plan (it is copied into every child's start)."""

    plan: CandidaturePlan
    receipt_number: str
    form: CandidatureFile
    received_at: AwareDatetime
    search_attributes: bool = True


class CorrectionInput(BaseModel):
    form: CandidatureFile
    received_at: AwareDatetime
    # The campaign's `submit` update waits for the candidature's answer to this request.
    request_id: str = ""


class DecisionInput(BaseModel):
    decision: Decision
    rank: int
    score: float | None
    waitlist_position: int | None = None


class ScheduleInput(BaseModel):
    sessions: list[ScheduledSession]


class ConfirmBinomeInput(BaseModel):
    model_config = _MSG

    political_referent: Person
    technical_referent: Person
    actor: str = "coordination"


class ForgetContactInput(BaseModel):
    """Erase one person (a referent who left) from a running dossier: the right to erasure."""

    model_config = _MSG

    email: str = Field(min_length=3, max_length=320)
    actor: str = "coordination"


class ForgetContactResult(BaseModel):
    forgotten: int  # referents or contact points removed
    remaining: int  # addresses the dossier still writes to


class WithdrawInput(BaseModel):
    model_config = _MSG

    reason: str = Field(min_length=3, max_length=2000)
    actor: str = "coordination"


class RecordAttendanceInput(BaseModel):
    model_config = _MSG

    session_number: int
    elected_present: bool
    technician_present: bool
    others: int = Field(default=0, ge=0, le=50)
    actor: str = "coordination"


class RecordFeedbackInput(BaseModel):
    model_config = _MSG

    session_number: int
    satisfaction: int = Field(ge=1, le=5)
    comment: str | None = Field(default=None, max_length=5000)


class RecordExperimentInput(BaseModel):
    model_config = _MSG

    experiment: str = Field(min_length=3, max_length=5000)


# The first transition comes from no state: None in Python, "" in JSON (as the histories hold it).
SourceState = Annotated[
    State | None, BeforeValidator(lambda v: v or None), PlainSerializer(lambda v: v.value if v else "", return_type=str, when_used="json")
]


class TransitionRecord(BaseModel):
    sequence: int
    source: SourceState
    dest: State
    trigger: str
    actor: str
    at: AwareDatetime
    justification: str | None = None


class CandidatureStatus(BaseModel):
    receipt_number: str
    campaign_id: str
    state: State
    state_label: str
    decision: Decision | None
    waitlist_position: int | None
    verdict: Verdict | None
    next_deadline: datetime | None
    next_deadline_label: str | None
    sessions: list[ScheduledSession]
    attendance: list[Attendance]
    feedback: list[Feedback]
    bounces: list[str]
    documents: list[DocumentRef]
    transitions: list[TransitionRecord]
