"""Inputs of the generated documents: one model per document, JSON-serialisable.

Each holds exactly what its document shows and nothing more, so an activity can pass it through
Temporal's history without carrying personal data the document does not need. Not strict (unlike
the candidature file): these come from our own code, possibly back from JSON, where dates are strings.
"""

from __future__ import annotations

import datetime as dt
import re

from pydantic import AwareDatetime, BaseModel, ConfigDict, Field, field_validator, model_validator

from ami.models.campaign_plan import Signatory, TimeMap
from ami.models.candidature import CandidatureFile, Civility
from ami.models.values import Decision

_MODEL = ConfigDict(extra="forbid", frozen=True)

# Satisfaction is a 1–5 rating in the feedback questionnaire; the reports print it « sur 5 ».
SATISFACTION_MAX = 5

# The campaign report's key figures, in the order it prints them (other keys follow, as given).
COUNT_KEYS = (
    "received",
    "eligible",
    "selected",
    "waitlisted",
    "not_selected",
    "promoted",
    "enrolled",
    "withdrawn",
    "capitalised",
    "closed",
)


class SummaryDocInput(BaseModel):
    """The candidature summary sent with the acknowledgement of receipt."""

    model_config = _MODEL

    receipt_number: str
    campaign_name: str
    received_at: AwareDatetime
    form: CandidatureFile
    official_name: str | None = None  # the register's name, shown beside the applicant's
    kind_label: str | None = None  # « Commune », « Communauté d'agglomération »…
    departement: str | None = None
    timezone: str = "Europe/Paris"  # the campaign's, to write the time of receipt
    # The campaign's privacy notice, added by the document activity from the campaign file.
    privacy_notice: list[str] = Field(default_factory=list)


class Addressee(BaseModel):
    """Whom a letter is addressed to: the collectivité's political referent, at its postal address."""

    model_config = _MODEL

    civility: Civility | None = None
    name: str | None = None
    role: str | None = None
    address: str | None = None


class DecisionLetterInput(BaseModel):
    model_config = _MODEL

    receipt_number: str
    campaign_name: str
    collectivite_name: str
    collectivite_kind: str | None = None  # the register's kind: « CA du Beauvaisis » is written out in full
    addressee: Addressee | None = None
    signatory: Signatory | None = None  # from the campaign file; else the letter is signed by the team
    decision: Decision
    response_date: dt.date
    waitlist_position: int | None = Field(default=None, ge=1)
    confirmation_deadline: dt.date | None = None  # for a selected one: confirm the binôme by then

    @model_validator(mode="after")
    def _position_for_waitlist(self) -> DecisionLetterInput:
        if self.decision == "waitlisted" and self.waitlist_position is None:
            raise ValueError("une candidature sur liste d'attente a un rang (waitlist_position)")
        return self


class SessionAttended(BaseModel):
    model_config = _MODEL

    number: int = Field(ge=1)
    date: dt.date
    theme: str
    present: bool


class CertificateInput(BaseModel):
    model_config = _MODEL

    receipt_number: str
    campaign_name: str
    collectivite_name: str
    collectivite_kind: str | None = None
    signatory: Signatory | None = None
    sessions: list[SessionAttended]


class SessionReportLine(BaseModel):
    model_config = _MODEL

    number: int = Field(ge=1)
    date: dt.date
    theme: str
    elected_present: bool
    technician_present: bool
    others: int = Field(default=0, ge=0)
    satisfaction: int | None = Field(default=None, ge=1, le=SATISFACTION_MAX)
    feedback: str | None = None

    @property
    def binome_complete(self) -> bool:
        """The AMI's condition: an elected official *and* a technician at the session."""
        return self.elected_present and self.technician_present


class CollectiviteReportInput(BaseModel):
    model_config = _MODEL

    receipt_number: str
    campaign_name: str
    collectivite_name: str
    collectivite_kind: str | None = None
    sessions: list[SessionReportLine]
    experiment: str | None = None  # what the collectivité commits to experiment on its territory


class SessionAggregate(BaseModel):
    model_config = _MODEL

    number: int = Field(ge=1)
    date: dt.date
    theme: str
    invited: int = Field(ge=0)
    present: int = Field(ge=0)
    binome_complete: int = Field(ge=0)
    mean_satisfaction: float | None = Field(default=None, ge=0, le=SATISFACTION_MAX)


_EMAIL_LIKE = re.compile(r"[\w.+-]+@[\w-]+(?:\.[\w-]+)+")
_PHONE_LIKE = re.compile(r"(?:\+33|\b0)\s?[1-9](?:[\s.-]?\d{2}){4}\b")


def anonymise(text: str) -> str:
    """Mask what identifies a person in a free-text quote: email addresses and phone numbers."""
    return _PHONE_LIKE.sub("[téléphone]", _EMAIL_LIKE.sub("[courriel]", text))


class CampaignReportInput(BaseModel):
    model_config = _MODEL

    campaign_name: str
    region_name: str
    counts: dict[str, int]
    sessions: list[SessionAggregate]
    quotes: list[str] = Field(default_factory=list)  # unattributed; emails and phone numbers are masked below
    experiments: list[str] = Field(default_factory=list)  # the experiments the collectivités commit to

    @field_validator("quotes")
    @classmethod
    def _anonymise(cls, quotes: list[str]) -> list[str]:
        return [anonymise(q) for q in quotes]


class JuryGridRow(BaseModel):
    """One candidature in the jury's grid: who it is and every answer of the form."""

    model_config = _MODEL

    receipt_number: str
    collectivite_name: str
    siren_or_insee: str
    departement: str | None = None
    kind_label: str | None = None
    received_at: AwareDatetime
    motivations: str | None = None
    actions: str | None = None
    work_tracks: str | None = None
    needs: str | None = None
    platforms_place: str | None = None
    objective: str | None = None
    contribution: str | None = None


class ReportSession(BaseModel):
    """A session as the campaign scheduled it (its working instant: the report dates it as published)."""

    model_config = _MODEL

    number: int = Field(ge=1)
    theme: str
    starts_at: AwareDatetime


class CampaignReportRequest(BaseModel):
    """What the campaign workflow sends to have its report made: identifiers and the schedule, no
    figure. Every count is read from the store (`ami/infra/campaign_report.py`); name, region and zone
    default to the store's campaign row."""

    model_config = _MODEL

    campaign_id: str
    campaign_name: str | None = None
    region: str | None = None  # the code (« 32 »): the report prints the region's name
    timezone: str | None = None
    sessions: list[ReportSession] = Field(default_factory=list)
    time_map: TimeMap | None = None
