"""The activities' inputs and results: eligibility, documents, emails and the store's records."""

from __future__ import annotations

from enum import StrEnum
from typing import Any

from pydantic import AwareDatetime, BaseModel, Field

from ami.models.campaign_plan import TimeMap
from ami.models.candidature import CandidatureFile
from ami.models.lifecycle import State
from ami.models.values import Decision, DocumentRef


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


class EmailStatus(StrEnum):
    SENT = "sent"
    BOUNCED = "bounced"  # refused by the relay for good, or a template that cannot render


class EmailOutcome(BaseModel):
    message_id: str
    status: EmailStatus
    detail: str | None = None


class RecordTransitionInput(BaseModel):
    workflow_id: str
    campaign_id: str
    receipt_number: str
    sequence: int
    source: State | None
    dest: State
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
