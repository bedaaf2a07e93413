"""The campaign workflow's messages: its updates (submit, score, declare_conflict, deliberate,
set_session) and their results, the signals it receives from its candidatures (report,
answer_correction), and its status query.

Every model accepts plain JSON, so each action can also be sent from the Temporal Web UI.
"""

from __future__ import annotations

from pydantic import AwareDatetime, BaseModel, ConfigDict, Field, SerializerFunctionWrapHandler, model_serializer

from ami.models.campaign_phase import Phase
from ami.models.candidature import CandidatureFile
from ami.models.lifecycle import FINAL_STATES, State
from ami.models.values import CycleSummary, Decision, ScheduledSession

_MSG = ConfigDict(extra="forbid")


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


class CorrectionAnswer(BaseModel):
    """A candidature's answer to a correction: it alone knows whether its deadline has passed."""

    key: str
    request_id: str
    accepted: bool


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
    phase: Phase
    candidatures: list[CampaignEntry]
    scores: dict[str, dict[str, dict[str, int]]]
    # SIREN or INSEE codes of candidatures found closed under the campaign's feet
    ended: list[str] = Field(default_factory=list)
    conflicts: dict[str, list[str]]
    deliberation: DeliberationResult | None
    sessions: list[ScheduledSession]


class CampaignSummary(BaseModel):
    """The campaign in figures, a few hundred bytes whatever its size: what a coordinator (or a
    script) polls. `CampaignStatus` lists every entry, its marks and the ranking: about 1.3 MB for
    the whole region after the decisions."""

    campaign_id: str
    phase: Phase
    received: int
    states: dict[State, int]
    decisions: dict[Decision, int]
    ended: int
    deliberated: bool
    sessions: list[ScheduledSession]
