"""One pydantic model per message: workflow inputs, updates, signals, queries and activity payloads.

Every model accepts plain JSON, so each action can also be sent from the Temporal Web UI.
"""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum
from typing import Any

from pydantic import AwareDatetime, BaseModel, ConfigDict, Field

from models.campaign import CampaignPlan, TimeMap
from models.candidature import CandidatureFile, Person

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
    time_map: TimeMap | None = None  # a shifted plan's: reasons are dated in the published calendar


class CheckEligibilityInput(BaseModel):
    form: CandidatureFile
    received_at: AwareDatetime
    rules: EligibilityRules


# --- workflow inputs ---------------------------------------------------------------------------


class CampaignInput(BaseModel):
    plan: CampaignPlan
    # False only on the time-skipping test server, which knows no custom search attribute; the
    # dev-server tests check the attributes. Part of the input, so replay stays deterministic.
    search_attributes: bool = True
    # The state carried over when the campaign continues as new (a large campaign's history).
    carried: CampaignCarry | None = None
    # History length at which the campaign continues as new (None: the engine's default).
    continue_as_new_at: int | None = None


class CandidatureInput(BaseModel):
    plan: CampaignPlan
    campaign_workflow_id: str
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
    comment: str | None = None


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
    state: str
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
    receipt_number: str
    key: str
    workflow_id: str
    state: str
    received_at: AwareDatetime
    decision: Decision | None = None
    departement: str | None = None


class CampaignCarry(BaseModel):
    """Everything a campaign knows, handed to its next run by continue-as-new."""

    phase: str
    done: list[str]
    entries: list[CampaignEntry]
    promoted: list[str]
    reviews: dict[str, dict[str, dict[str, int]]]
    review_trace: list[dict[str, Any]]
    conflicts: dict[str, list[str]]
    deliberation: DeliberationResult | None
    sessions: list[ScheduledSession]
    summaries: dict[str, CycleSummary]
    alerted: list[int]
    waitlist_closed: bool
    capitalising: bool
    runs: int


class CampaignStatus(BaseModel):
    campaign_id: str
    phase: str
    candidatures: list[CampaignEntry]
    scores: dict[str, dict[str, dict[str, int]]]
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
CampaignInput.model_rebuild()
