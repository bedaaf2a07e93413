"""The plan of a campaign: what the workflows run on, every published date as an aware instant in
the campaign's zone (summer and winter time included), possibly shifted and compressed for demos and
tests (`TimeMap`). Workflows never read the campaign file nor compute calendars: they only sleep
until the plan's instants. `CandidaturePlan` is the part each candidature receives.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from pydantic import AwareDatetime, BaseModel, ConfigDict, Field

from ami.models.candidature import Email

_FILE = ConfigDict(extra="forbid", frozen=True)


class JuryMember(BaseModel):
    model_config = _FILE

    id: str = Field(pattern=r"^[a-z0-9][a-z0-9_-]*$")
    name: str
    email: Email


class Criterion(BaseModel):
    model_config = _FILE

    id: str = Field(pattern=r"^[a-z0-9][a-z0-9_-]*$")
    label: str
    weight: float = Field(gt=0, le=1000, allow_inf_nan=False)


class Signatory(BaseModel):
    """Who signs the letters and certificates at the Apes: a name and a role, as printed."""

    model_config = _FILE

    name: str = Field(min_length=1)
    role: str = Field(min_length=1)


class SessionPlan(BaseModel):
    """A session as published: only its month is known until a coordinator sets the date."""

    model_config = ConfigDict(frozen=True)

    number: int
    month: str
    theme: str
    window_start: AwareDatetime
    window_end: AwareDatetime


class TimeMap(BaseModel):
    """How a compressed plan maps to the published calendar.

    planned = anchor + (published - origin) × factor, and back: published = origin + (planned - anchor) / factor.
    """

    model_config = ConfigDict(frozen=True)

    origin: AwareDatetime
    anchor: AwareDatetime
    factor: float = Field(default=1.0, gt=0)

    # Arithmetic in UTC: between two datetimes sharing a zone, Python subtracts and adds wall-clock
    # times, which would move every instant across a summer/winter change by an hour.
    def to_plan(self, published: datetime) -> datetime:
        elapsed = published.astimezone(UTC) - self.origin.astimezone(UTC)
        return (self.anchor.astimezone(UTC) + elapsed * self.factor).astimezone(self.anchor.tzinfo)

    def to_published(self, planned: datetime) -> datetime:
        elapsed = planned.astimezone(UTC) - self.anchor.astimezone(UTC)
        return (self.origin.astimezone(UTC) + elapsed / self.factor).astimezone(self.origin.tzinfo)

    def for_reader(self, planned: datetime) -> datetime:
        """The published instant a person reads for `planned`, to the minute when compressed.

        A compressed plan's instants are exact only to a microsecond, which is worth 1/factor
        microseconds of the published calendar (a fifth of a second in the demo): « 14 h » set by
        a coordinator would come back as 13 h 59 min 59.8 s, and a deadline at midnight as the day
        before. Rounding to the nearest minute gives back what was published.
        """
        published = self.to_published(planned)
        if self.factor >= 1:
            return published
        utc = published.astimezone(UTC)
        floor = utc.replace(second=0, microsecond=0)
        rounded = floor + timedelta(minutes=1) if utc - floor >= timedelta(seconds=30) else floor
        return rounded.astimezone(self.origin.tzinfo)


class _Clock(BaseModel):
    """What a plan needs to date things for people: its zone and, for a compressed plan, the map
    back to the published calendar."""

    id: str
    name: str
    timezone: str
    time_map: TimeMap | None = None

    def zone(self) -> ZoneInfo:
        return ZoneInfo(self.timezone)

    def published(self, planned: datetime) -> datetime:
        """The instant a person reads for a working instant of this plan, in the campaign's zone.

        A compressed plan (demo, `--day-seconds`) runs on instants of today; everything a person
        reads (emails, documents, .ics) is dated in the published calendar instead.
        """
        return (self.time_map.for_reader(planned) if self.time_map else planned).astimezone(self.zone())

    def reader_context(self) -> dict[str, Any]:
        """The campaign as email templates see it: id, name, zone, and the clock its readers live in."""
        return {
            "id": self.id,
            "name": self.name,
            "timezone": self.timezone,
            "time_map": self.time_map.model_dump(mode="json") if self.time_map else None,
        }


class CandidaturePlan(_Clock):
    """The part of the plan a candidature runs on: copied into every child's start input, so it
    leaves out the jury, the criteria and the sessions' windows (the campaign sends the dates)."""

    model_config = ConfigDict(frozen=True)

    id: str
    name: str
    region: str
    timezone: str
    coordinators: list[str]
    opens_at: AwareDatetime
    deadline_at: AwareDatetime
    response_at: AwareDatetime
    confirmation_window: timedelta
    reminder_offsets: list[timedelta]
    time_map: TimeMap | None = None
    signatory: Signatory | None = None


class CampaignPlan(_Clock):
    """What the workflows run on: absolute instants and durations, nothing left to compute."""

    model_config = ConfigDict(frozen=True)

    id: str
    name: str
    region: str
    timezone: str
    capacity: int
    waitlist_size: int
    quorum: int
    coordinators: list[str]
    jury: list[JuryMember]
    criteria: list[Criterion]
    opens_at: AwareDatetime
    deadline_at: AwareDatetime
    response_at: AwareDatetime
    confirmation_window: timedelta
    capitalisation_delay: timedelta
    reminder_offsets: list[timedelta]
    session_alert_lead: timedelta
    session_duration: timedelta
    jury_alert_lead: timedelta = timedelta(days=1)
    sessions: list[SessionPlan]
    time_map: TimeMap | None = None
    signatory: Signatory | None = None

    def compressed(self, anchor: datetime, factor: float) -> CampaignPlan:
        """The same calendar starting at `anchor`, every interval multiplied by `factor` (< 1 compresses).

        Order and relative spacing of every date are kept; only the scale changes.
        """
        if anchor.tzinfo is None:
            raise ValueError("anchor doit porter son fuseau horaire")
        if not factor > 0:
            raise ValueError(f"facteur de compression {factor} : un nombre strictement positif est attendu")
        tm = TimeMap(origin=self.opens_at, anchor=anchor, factor=factor)
        return self.model_copy(
            update={
                "opens_at": tm.to_plan(self.opens_at),
                "deadline_at": tm.to_plan(self.deadline_at),
                "response_at": tm.to_plan(self.response_at),
                "confirmation_window": self.confirmation_window * factor,
                "capitalisation_delay": self.capitalisation_delay * factor,
                "reminder_offsets": [o * factor for o in self.reminder_offsets],
                "session_alert_lead": self.session_alert_lead * factor,
                "session_duration": self.session_duration * factor,
                "jury_alert_lead": self.jury_alert_lead * factor,
                "sessions": [
                    s.model_copy(update={"window_start": tm.to_plan(s.window_start), "window_end": tm.to_plan(s.window_end)})
                    for s in self.sessions
                ],
                "time_map": tm,
            }
        )

    def for_candidature(self) -> CandidaturePlan:
        return CandidaturePlan.model_validate({name: getattr(self, name) for name in CandidaturePlan.model_fields})

    def session(self, number: int) -> SessionPlan | None:
        return next((s for s in self.sessions if s.number == number), None)

    def criterion_weights(self) -> dict[str, float]:
        return {c.id: c.weight for c in self.criteria}
