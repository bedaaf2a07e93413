"""A campaign (SPEC §3): the TOML file a coordinator writes, and the plan of absolute instants the
workflows run on.

`CampaignFile` is the file as written (dates, months, days). `CampaignPlan` is what the workflows
receive: every published date turned into an aware instant in the campaign's time zone (summer and
winter time included), possibly shifted and compressed for demos and tests. Workflows never read the
file nor compute calendars: they only sleep until the plan's instants.
"""

from __future__ import annotations

import tomllib
from datetime import UTC, date, datetime, time, timedelta
from pathlib import Path
from typing import Annotated
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from pydantic import AfterValidator, AwareDatetime, BaseModel, ConfigDict, Field, field_validator, model_validator

from models.candidature import Email

_FILE = ConfigDict(extra="forbid", frozen=True)


def _month(value: str) -> str:
    try:
        datetime.strptime(value, "%Y-%m")
    except ValueError:
        raise ValueError(f"mois invalide {value!r} (format attendu AAAA-MM)") from None
    return value


Month = Annotated[str, AfterValidator(_month)]


class JuryMember(BaseModel):
    model_config = _FILE

    id: str = Field(pattern=r"^[a-z0-9][a-z0-9_-]*$")
    name: str
    email: Email


class Criterion(BaseModel):
    model_config = _FILE

    id: str = Field(pattern=r"^[a-z0-9][a-z0-9_-]*$")
    label: str
    weight: float = Field(gt=0)


class SessionFile(BaseModel):
    model_config = _FILE

    number: int = Field(ge=1)
    month: Month
    theme: str


class CalendarFile(BaseModel):
    model_config = _FILE

    opening: date
    deadline: date
    response: date
    response_time: time = time(9, 0)
    confirmation_days: int = Field(default=10, ge=1)
    capitalisation_days: int = Field(default=30, ge=0)
    reminder_days: list[int] = Field(default_factory=lambda: [7, 1])
    session_alert_days: int = Field(default=21, ge=1)
    session_duration_hours: float = Field(default=4.0, gt=0)


class CalendarOrderError(ValueError):
    """Dates out of order (or other cross-entry problems), each as (entry, French message)."""

    def __init__(self, problems: list[tuple[str, str]]) -> None:
        self.problems = problems
        super().__init__(" ; ".join(f"{entry} : {message}" for entry, message in problems))


class CampaignFile(BaseModel):
    """The campaign as a coordinator writes it in `config/campaigns/<id>.toml`."""

    model_config = _FILE

    id: str = Field(pattern=r"^[a-z0-9][a-z0-9-]*$")
    name: str
    region: str = Field(pattern=r"^\d{2}$")
    timezone: str = "Europe/Paris"
    capacity: int = Field(default=10, ge=1)
    waitlist_size: int = Field(default=5, ge=0)
    quorum: int = Field(default=2, ge=1)
    coordinators: list[Email] = Field(min_length=1)
    calendar: CalendarFile
    sessions: list[SessionFile] = Field(min_length=1)
    jury: list[JuryMember] = Field(default_factory=list)
    criteria: list[Criterion] = Field(min_length=1)

    @field_validator("timezone")
    @classmethod
    def _known_zone(cls, value: str) -> str:
        try:
            ZoneInfo(value)
        except (ZoneInfoNotFoundError, ValueError, OSError):
            raise ValueError(f"fuseau horaire inconnu : {value!r} (nom IANA attendu, par exemple Europe/Paris)") from None
        return value

    @model_validator(mode="after")
    def _calendar_in_order(self) -> CampaignFile:
        """Every date after the one before it, each problem with the entry it concerns.

        A model validator has no field location of its own: the entries travel in
        `CalendarOrderError.problems`, and `load_campaign` names each one.
        """
        problems: list[tuple[str, str]] = []
        cal = self.calendar
        if cal.deadline < cal.opening:
            problems.append(("calendar.deadline", f"la date limite ({cal.deadline}) précède l'ouverture (calendar.opening, {cal.opening})"))
        if cal.response <= cal.deadline:
            problems.append(
                ("calendar.response", f"la réponse ({cal.response}) doit suivre la date limite (calendar.deadline, {cal.deadline})")
            )
        for index, session in enumerate(self.sessions, start=1):
            if session.number != index:
                problems.append(
                    (
                        f"sessions[{index}].number",
                        f"séance n° {session.number} à la place {index} : les séances sont numérotées 1, 2, 3… dans l'ordre",
                    )
                )
        previous, label = cal.response.strftime("%Y-%m"), "calendar.response"
        for index, session in enumerate(self.sessions, start=1):
            entry = f"sessions[{index}].month"
            if session.month == previous and label != "calendar.response":
                problems.append((entry, f"le mois {session.month} est déjà celui de {label} : une séance par mois"))
            elif session.month <= previous:
                problems.append(
                    (
                        entry,
                        f"le mois {session.month} n'est pas postérieur à {label} ({previous}) : les séances se suivent, une par mois, après la réponse",
                    )
                )
            if session.month > previous:
                previous, label = session.month, entry
        if self.jury and self.quorum > len(self.jury):
            problems.append(("quorum", f"quorum ({self.quorum}) supérieur au nombre de membres du jury ({len(self.jury)})"))
        for entry, ids in (("jury", [m.id for m in self.jury]), ("criteria", [c.id for c in self.criteria])):
            doubles = sorted({i for i in ids if ids.count(i) > 1})
            if doubles:
                problems.append((entry, f"identifiants en double : {', '.join(doubles)}"))
        if problems:
            raise CalendarOrderError(problems)
        return self

    def plan(self) -> CampaignPlan:
        """Every published date as an aware instant in the campaign's zone."""
        zone = ZoneInfo(self.timezone)
        cal = self.calendar

        def local(day: date, at: time = time(0, 0)) -> datetime:
            # Through UTC and back: a wall time that does not exist that day (a zone whose clocks
            # jump at that hour) becomes the real instant it designates, with the offset in force.
            return datetime.combine(day, at, tzinfo=zone).astimezone(UTC).astimezone(zone)

        sessions = []
        for s in self.sessions:
            first = datetime.strptime(s.month, "%Y-%m").date()
            following = (first.replace(day=28) + timedelta(days=4)).replace(day=1)
            sessions.append(
                SessionPlan(number=s.number, month=s.month, theme=s.theme, window_start=local(first), window_end=local(following))
            )
        return CampaignPlan(
            id=self.id,
            name=self.name,
            region=self.region,
            timezone=self.timezone,
            capacity=self.capacity,
            waitlist_size=self.waitlist_size,
            quorum=self.quorum,
            coordinators=list(self.coordinators),
            jury=list(self.jury),
            criteria=list(self.criteria),
            opens_at=local(cal.opening),
            # "Date limite : 8 septembre" means until the end of that day in the campaign's zone.
            deadline_at=local(cal.deadline + timedelta(days=1)),
            response_at=local(cal.response, cal.response_time),
            confirmation_window=timedelta(days=cal.confirmation_days),
            capitalisation_delay=timedelta(days=cal.capitalisation_days),
            reminder_offsets=sorted((timedelta(days=d) for d in cal.reminder_days), reverse=True),
            session_alert_lead=timedelta(days=cal.session_alert_days),
            session_duration=timedelta(hours=cal.session_duration_hours),
            sessions=sessions,
        )


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


class CandidaturePlan(BaseModel):
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

    def zone(self) -> ZoneInfo:
        return ZoneInfo(self.timezone)


class CampaignPlan(BaseModel):
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

    def zone(self) -> ZoneInfo:
        return ZoneInfo(self.timezone)


class CampaignFileError(ValueError):
    """A campaign file that cannot be used, with the faulty entry named."""


CAMPAIGNS_DIR = Path(__file__).resolve().parent.parent / "config" / "campaigns"


def _where(loc: tuple[int | str, ...]) -> str:
    """A pydantic location as a coordinator reads it: `sessions[3].month` (positions from 1)."""
    text = ""
    for part in loc:
        text += f"[{part + 1}]" if isinstance(part, int) else (f".{part}" if text else str(part))
    return text


def load_campaign(id_or_path: str | Path) -> CampaignFile:
    """Load `config/campaigns/<id>.toml`, or any TOML path; CampaignFileError names each faulty entry."""
    path = Path(id_or_path)
    if not path.suffix and path.parent == Path("."):
        path = CAMPAIGNS_DIR / f"{id_or_path}.toml"
    try:
        raw = tomllib.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise CampaignFileError(f"{path} : fichier de campagne introuvable") from None
    except UnicodeDecodeError:
        raise CampaignFileError(f"{path} : le fichier n'est pas en UTF-8") from None
    except tomllib.TOMLDecodeError as error:
        raise CampaignFileError(f"{path} : TOML invalide ({error})") from None
    except OSError as error:
        raise CampaignFileError(f"{path} : fichier de campagne illisible ({error.strerror or error})") from None
    from pydantic import ValidationError

    try:
        return CampaignFile.model_validate(raw)
    except ValidationError as error:
        lines = [f"{path} : fichier de campagne invalide"]
        for item in error.errors():
            cause = (item.get("ctx") or {}).get("error")
            if isinstance(cause, CalendarOrderError):
                lines.extend(f"  - {entry} : {message}" for entry, message in cause.problems)
                continue
            where = _where(item["loc"]) or "(fichier)"
            message = str(item["msg"]).removeprefix("Value error, ")
            lines.append(f"  - {where} : {message}")
        raise CampaignFileError("\n".join(lines)) from None
