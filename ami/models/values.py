"""Domain values shared by the workflows, the activities and the readers: the jury's decision, the
eligibility verdict, a scheduled session, what a cycle recorded, a stored document.

Every model accepts plain JSON, so each can also travel in a message sent from the Temporal Web UI.
"""

from __future__ import annotations

from enum import StrEnum

from pydantic import AwareDatetime, BaseModel, Field


class Decision(StrEnum):
    SELECTED = "selected"
    WAITLISTED = "waitlisted"
    NOT_SELECTED = "not_selected"


DECISION_LABELS = {
    Decision.SELECTED: "retenue",
    Decision.WAITLISTED: "sur liste d'attente",
    Decision.NOT_SELECTED: "non retenue",
}


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


class ScheduledSession(BaseModel):
    number: int
    theme: str
    place: str
    starts_at: AwareDatetime
    ends_at: AwareDatetime
    sequence: int = 0


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


class DocumentKind(StrEnum):
    SUMMARY = "summary"  # sent with the acknowledgement of receipt
    DECISION_LETTER = "decision_letter"
    CERTIFICATE = "certificate"  # of participation, at capitalisation
    COLLECTIVITE_REPORT = "collectivite_report"
    CAMPAIGN_REPORT = "campaign_report"


class DocumentRef(BaseModel):
    kind: DocumentKind
    filename: str
    path: str
    sha256: str
    media_type: str = "application/pdf"
