"""The campaign's whole state: one pydantic model, handed whole to continue-as-new.

Every field has a default, so a carry written by an older run still loads. Only what the campaign
needs is carried: one bounded entry per candidature, the jury's marks (a list of integers per
member), and small flags. The full review trail lives in the store (facts) and in the histories.
"""

from __future__ import annotations

from enum import StrEnum
from typing import Any

from pydantic import AwareDatetime, BaseModel, Field, PrivateAttr, field_serializer, field_validator

from ami.models.campaign_messages import CampaignEntry, Override
from ami.models.campaign_phase import Phase
from ami.models.campaign_plan import CampaignPlan
from ami.models.values import ScheduledSession


class ChildSignal(StrEnum):
    """What the campaign tells a candidature. The payload is built when the signal is sent, from the
    state at that moment, so a queued message never carries stale data."""

    DECIDE = "decide"
    PROMOTE = "promote"
    CLOSE_WAITLIST = "close_waitlist"
    SCHEDULE = "schedule"
    CAPITALISE = "capitalise"
    PING = "ping"


class PendingSignal(BaseModel):
    kind: ChildSignal
    key: str


class Deliberation(BaseModel):
    """The deliberation without its ranking (the entries hold each one's rank, score and decision)."""

    decided_at: AwareDatetime
    actor: str
    overrides: list[Override] = Field(default_factory=list)


class CampaignState(BaseModel):
    phase: Phase = Phase.BEFORE_OPENING
    runs: int = 0
    next_receipt: int = 1
    entries: dict[str, CampaignEntry] = Field(default_factory=dict)  # by SIREN or INSEE code
    # receipt -> member -> marks in the order of the plan's criteria, one digit each ("453344")
    reviews: dict[str, dict[str, str]] = Field(default_factory=dict)
    conflicts: dict[str, list[str]] = Field(default_factory=dict)
    deliberation: Deliberation | None = None
    sessions: dict[int, ScheduledSession] = Field(default_factory=dict)
    alerted: list[int] = Field(default_factory=list)  # sessions whose missing date was announced
    jury_eve_checked: bool = False
    waitlist_closed: bool = False
    outbox: list[PendingSignal] = Field(default_factory=list)
    deadline_probed: bool = False

    _receipts: dict[str, str] = PrivateAttr(default_factory=dict)  # receipt -> key, derived

    # Carried as a list: each entry holds its key already.
    @field_serializer("entries")
    def _entries_as_list(self, entries: dict[str, CampaignEntry]) -> list[CampaignEntry]:
        return list(entries.values())

    @field_validator("entries", mode="before")
    @classmethod
    def _entries_from_list(cls, value: Any) -> Any:
        if isinstance(value, list):
            return {item["key"] if isinstance(item, dict) else item.key: item for item in value}
        return value

    def to_carry(self) -> CampaignState:
        """What the next run needs: once the jury has deliberated, its marks are frozen in the
        entries' scores and kept in the store (the jury grid), so they are not carried."""
        return self.model_copy(update={"reviews": {}}) if self.deliberation is not None else self

    def by_receipt(self, receipt: str) -> CampaignEntry | None:
        key = self._receipts.get(receipt)
        if key is None or key not in self.entries:
            self._receipts = {e.receipt_number: k for k, e in self.entries.items()}
            key = self._receipts.get(receipt)
        return self.entries.get(key) if key is not None else None

    def entries_list(self) -> list[CampaignEntry]:
        """A snapshot: safe to walk across an await while handlers add entries."""
        return list(self.entries.values())


class CampaignInput(BaseModel):
    plan: CampaignPlan
    # False only on the time-skipping test server, which knows no custom search attribute; the
    # dev-server tests check the attributes. Part of the input, so replay stays deterministic.
    search_attributes: bool = True
    # The state carried over when the campaign continues as new (a large campaign's history).
    carried: CampaignState | None = None
    # History length at which the campaign continues as new (None: the engine's default).
    continue_as_new_at: int | None = None
