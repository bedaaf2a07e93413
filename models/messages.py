"""One pydantic model per message: workflow inputs, updates, signals, queries and activity payloads.

Every model accepts plain JSON, so each action can also be sent from the Temporal Web UI.
"""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum
from typing import Any

from pydantic import AwareDatetime, BaseModel, ConfigDict, Field, SerializerFunctionWrapHandler, model_serializer

from models.campaign import CandidaturePlan
from models.candidature import CandidatureFile, Person
from models.lifecycle import FINAL_STATES, State

_MSG = ConfigDict(extra="forbid")


class Decision(StrEnum):
    SELECTED = "selected"
    WAITLISTED = "waitlisted"
    NOT_SELECTED = "not_selected"


DECISION_LABELS = {
    Decision.SELECTED: "retenue",
    Decision.WAITLISTED: "sur liste d'attente",
    Decision.NOT_SELECTED: "non retenue",
}


# --- eligibility -------------------------------------------------------------------------------


class Reason(BaseModel):
    code: str
    message: str


class RegisterView(BaseModel):
    """What the register says of the applicant, shown beside the name it wrote."""

    name: str
    kind: str
    kind_label: str
    departement: str | None
    region: str | None


class Verdict(BaseModel):
    eligible: bool
    collectivite: RegisterView | None
    reasons: list[Reason] = Field(default_factory=list)


class EligibilityRules(BaseModel):
    region: str
    timezone: str
    opens_at: AwareDatetime
    deadline_at: AwareDatetime


class CheckEligibilityInput(BaseModel):
    form: CandidatureFile
    received_at: AwareDatetime
    rules: EligibilityRules


# --- workflow inputs ---------------------------------------------------------------------------


class CandidatureInput(BaseModel):
    """What a candidature needs, not the whole campaign plan (it is copied into every child's start)."""

    plan: CandidaturePlan
    receipt_number: str
    form: CandidatureFile
    received_at: AwareDatetime
    search_attributes: bool = True


# --- campaign updates --------------------------------------------------------------------------


class SubmitInput(BaseModel):
    model_config = _MSG

    form: CandidatureFile
    received_at: AwareDatetime | None = None
    actor: str = "coordination"


class SubmitResult(BaseModel):
    workflow_id: str
    receipt_number: str
    correction: bool


class ScoreInput(BaseModel):
    model_config = _MSG

    member_id: str
    receipt_number: str
    scores: dict[str, int]
    # Capped: every comment passes through the campaign's history (the store keeps the trail).
    comment: str | None = Field(default=None, max_length=2000)


class ReviewAck(BaseModel):
    """What a score or a conflict returns: small on purpose, since every update's result is kept in
    the campaign's history (the full status is a query, which costs no history)."""

    receipt_number: str
    member_id: str
    reviews: int  # reviews that count for this candidature now (conflicted members excluded)


class ConflictInput(BaseModel):
    model_config = _MSG

    member_id: str
    receipt_number: str
    reason: str | None = None


class Override(BaseModel):
    model_config = _MSG

    receipt_number: str
    decision: Decision
    justification: str = Field(min_length=10)


class DeliberateInput(BaseModel):
    model_config = _MSG

    actor: str = "coordination"
    overrides: list[Override] = Field(default_factory=list)


class RankedCandidature(BaseModel):
    receipt_number: str
    score: float | None
    rank: int
    decision: Decision
    waitlist_position: int | None = None
    overridden: bool = False


class DeliberationResult(BaseModel):
    decided_at: AwareDatetime
    actor: str
    ranking: list[RankedCandidature]
    overrides: list[Override]


class SetSessionInput(BaseModel):
    model_config = _MSG

    number: int
    starts_at: AwareDatetime
    place: str = Field(min_length=2, max_length=300)
    theme: str | None = None
    actor: str = "coordination"


class ScheduledSession(BaseModel):
    number: int
    theme: str
    place: str
    starts_at: AwareDatetime
    ends_at: AwareDatetime
    sequence: int = 0


# --- candidature signals and updates -----------------------------------------------------------


class CorrectionInput(BaseModel):
    form: CandidatureFile
    received_at: AwareDatetime
    # The campaign's `submit` update waits for the candidature's answer to this request.
    request_id: str = ""


class CorrectionAnswer(BaseModel):
    """A candidature's answer to a correction: it alone knows whether its deadline has passed."""

    key: str
    request_id: str
    accepted: bool


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


class Attendance(BaseModel):
    session_number: int
    elected_present: bool
    technician_present: bool
    others: int
    recorded_at: AwareDatetime

    @property
    def binome_complete(self) -> bool:
        return self.elected_present and self.technician_present

    @property
    def absent(self) -> bool:
        return not (self.elected_present or self.technician_present)


class Feedback(BaseModel):
    session_number: int
    satisfaction: int
    comment: str | None


class CycleSummary(BaseModel):
    """What a candidature hands to the campaign report at capitalisation."""

    attendance: list[Attendance]
    feedback: list[Feedback]
    experiment: str | None


class CandidatureReport(BaseModel):
    """Signal from a candidature to its campaign at each transition that matters to the campaign."""

    receipt_number: str
    key: str
    state: State
    # The candidature's transition count when it reported: a report older than the last one
    # applied is ignored (signals may be delivered twice, late, or out of order).
    sequence: int = 0
    decision: Decision | None = None
    departement: str | None = None
    summary: CycleSummary | None = None


# --- status queries ----------------------------------------------------------------------------


class TransitionRecord(BaseModel):
    sequence: int
    source: str
    dest: str
    trigger: str
    actor: str
    at: AwareDatetime
    justification: str | None = None


class CandidatureStatus(BaseModel):
    receipt_number: str
    campaign_id: str
    state: str
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


class CampaignEntry(BaseModel):
    """What the campaign keeps of one candidature: bounded, and serialized without its empty fields
    (the whole region's entries travel in one continue-as-new payload)."""

    receipt_number: str
    key: str
    state: State = State.SUBMITTED
    received_at: AwareDatetime
    sequence: int = 0  # of the last report applied
    decision: Decision | None = None  # as the collectivité sees it (a promoted one is selected)
    rank: int | None = None
    score: float | None = None
    waitlist_position: int | None = None
    promoted: bool = False
    departement: str | None = None
    # Its workflow was found closed while it had not reported a final state (terminated from
    # outside, say): the campaign counts it as ended and the coordinators are told.
    ended: bool = False

    @model_serializer(mode="wrap")
    def _compact(self, handler: SerializerFunctionWrapHandler) -> dict[str, object]:
        data: dict[str, object] = handler(self)
        return {k: v for k, v in data.items() if v is not None and v is not False and not (k == "sequence" and v == 0)}

    @property
    def final(self) -> bool:
        return self.state in FINAL_STATES or self.ended

    @property
    def has_seat(self) -> bool:
        return self.decision is Decision.SELECTED

    @property
    def in_cycle(self) -> bool:
        return self.state in (State.ENROLLED, State.SESSION_TRACKED) and not self.ended


class CampaignStatus(BaseModel):
    campaign_id: str
    phase: str
    candidatures: list[CampaignEntry]
    scores: dict[str, dict[str, dict[str, int]]]
    # SIREN or INSEE codes of candidatures found closed under the campaign's feet
    ended: list[str] = Field(default_factory=list)
    conflicts: dict[str, list[str]]
    deliberation: DeliberationResult | None
    sessions: list[ScheduledSession]


# --- activities --------------------------------------------------------------------------------


class DocumentRef(BaseModel):
    kind: str
    filename: str
    path: str
    sha256: str
    media_type: str = "application/pdf"


class MakeDocumentInput(BaseModel):
    workflow_id: str
    receipt_number: str | None
    kind: str
    data: dict[str, Any]


class SendEmailInput(BaseModel):
    workflow_id: str
    # The first run of the workflow's chain: a new execution under a reused id sends its own mail,
    # while retries and continue-as-new keep the same key.
    run_id: str = ""
    purpose: str
    occurrence: str = "1"
    to: list[str]
    context: dict[str, Any] = Field(default_factory=dict)
    attachments: list[DocumentRef] = Field(default_factory=list)


class EmailOutcome(BaseModel):
    message_id: str
    status: str  # "sent" or "bounced"
    detail: str | None = None


class RecordTransitionInput(BaseModel):
    workflow_id: str
    campaign_id: str
    receipt_number: str
    sequence: int
    source: str | None
    dest: str
    trigger: str
    actor: str
    at: AwareDatetime
    justification: str | None = None
    decision: Decision | None = None
    official_name: str | None = None
    kind: str | None = None
    departement: str | None = None
    # The form as received, on the `submit` and `correct` transitions only (the jury grid reads it).
    form: dict[str, Any] | None = None


class RecordCampaignInput(BaseModel):
    """The campaign as the store shows it: written once when the campaign workflow starts."""

    campaign_id: str
    name: str
    region: str
    timezone: str
    opens_at: AwareDatetime
    deadline_at: AwareDatetime
    response_at: AwareDatetime
    at: AwareDatetime


class RecordFactInput(BaseModel):
    """A fact of the dossier for the store: a jury review or conflict, an attendance, a feedback,
    an experiment. `fact_id` is unique per fact, so a retried activity adds no second row."""

    workflow_id: str
    campaign_id: str
    receipt_number: str
    kind: str  # "review", "conflict", "attendance", "feedback", "experiment"
    fact_id: str
    at: AwareDatetime
    data: dict[str, Any]


CandidatureStatus.model_rebuild()
