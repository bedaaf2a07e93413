"""A campaign: the TOML file a coordinator writes, read and checked here, and turned into
the plan the workflows run on (`ami/models/campaign_plan.py`).

`CampaignFile` is the file as written (dates, months, days); `CampaignFile.plan()` turns every
published date into an aware instant in the campaign's time zone.
"""

from __future__ import annotations

import tomllib
from datetime import UTC, date, datetime, time, timedelta
from pathlib import Path
from typing import Annotated, Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from pydantic import AfterValidator, BaseModel, ConfigDict, Field, field_validator, model_validator

from ami.data import bundled
from ami.models.campaign_plan import CampaignPlan, Criterion, JuryMember, SessionPlan, Signatory
from ami.models.candidature import Email
from ami.models.privacy import PrivacyNotice, Retention

_FILE = ConfigDict(extra="forbid", frozen=True)


# Every duration and date of a campaign stays in a range where the calendar arithmetic cannot
# overflow (`timedelta(days=99999999999)`, `hours=1e308`, the day after 9999-12-31).
MIN_YEAR, MAX_YEAR = 2000, 2200
MAX_DAYS = 366


def _month(value: str) -> str:
    try:
        parsed = datetime.strptime(value, "%Y-%m")
    except ValueError:
        raise ValueError(f"mois invalide {value!r} (format attendu AAAA-MM)") from None
    if not MIN_YEAR <= parsed.year <= MAX_YEAR:
        raise ValueError(f"année {parsed.year} hors de la plage {MIN_YEAR}–{MAX_YEAR}")
    return value


def _year_in_range(value: date) -> date:
    if not MIN_YEAR <= value.year <= MAX_YEAR:
        raise ValueError(f"année {value.year} hors de la plage {MIN_YEAR}–{MAX_YEAR}")
    return value


Month = Annotated[str, AfterValidator(_month)]
Day = Annotated[date, AfterValidator(_year_in_range)]
Days = Annotated[int, Field(ge=0, le=MAX_DAYS)]


class SessionFile(BaseModel):
    model_config = _FILE

    number: int = Field(ge=1)
    month: Month
    theme: str


class CalendarFile(BaseModel):
    model_config = _FILE

    opening: Day
    deadline: Day
    response: Day
    response_time: time = time(9, 0)
    confirmation_days: int = Field(default=10, ge=1, le=MAX_DAYS)
    capitalisation_days: int = Field(default=30, ge=0, le=MAX_DAYS)
    reminder_days: list[Days] = Field(default_factory=lambda: [7, 1], max_length=30)
    session_alert_days: int = Field(default=21, ge=1, le=MAX_DAYS)
    session_duration_hours: float = Field(default=4.0, gt=0, le=24)


class CalendarOrderError(ValueError):
    """Dates out of order (or other cross-entry problems), each as (entry, French message)."""

    def __init__(self, problems: list[tuple[str, str]]) -> None:
        self.problems = problems
        super().__init__(" ; ".join(f"{entry} : {message}" for entry, message in problems))


class CampaignFile(BaseModel):
    """The campaign as a coordinator writes it in `ami/data/campaigns/<id>.toml`."""

    model_config = _FILE

    id: str = Field(pattern=r"^[a-z0-9][a-z0-9-]*$")
    name: str
    region: str = Field(pattern=r"^\d{2}$")
    timezone: str = "Europe/Paris"
    capacity: int = Field(default=10, ge=1, le=10_000)
    waitlist_size: int = Field(default=5, ge=0, le=10_000)
    quorum: int = Field(default=2, ge=1, le=1000)
    coordinators: list[Email] = Field(min_length=1)
    calendar: CalendarFile
    sessions: list[SessionFile] = Field(min_length=1)
    jury: list[JuryMember] = Field(default_factory=list)
    criteria: list[Criterion] = Field(min_length=1)
    # Required, so that no campaign runs without them: how long each kind of personal data is kept, and the notice owed to the people.
    retention: Retention
    privacy: PrivacyNotice
    signatory: Signatory | None = None

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
            signatory=self.signatory,
        )


class CampaignFileError(ValueError):
    """A campaign file that cannot be used, with the faulty entry named."""


CAMPAIGNS_DIR = bundled("campaigns")


# Pydantic's English messages a coordinator meets most, in French (with their bound).
_FRENCH = {
    "less_than_equal": "valeur trop grande (au plus {le})",
    "greater_than_equal": "valeur trop petite (au moins {ge})",
    "greater_than": "valeur trop petite (strictement supérieure à {gt} attendue)",
    "too_long": "trop d'éléments (au plus {max_length})",
    "finite_number": "nombre fini attendu",
    "int_type": "nombre entier attendu",
    "int_parsing": "nombre entier attendu",
    "int_from_float": "nombre entier attendu",
    "float_type": "nombre attendu",
    "float_parsing": "nombre attendu",
    "missing": "entrée obligatoire manquante",
    "extra_forbidden": "entrée inconnue (faute de frappe ?)",
}


def _message(item: Any) -> str:
    template = _FRENCH.get(str(item["type"]))
    if template is not None:
        try:
            return template.format(**(item.get("ctx") or {}))
        except (KeyError, IndexError):
            pass
    return str(item["msg"]).removeprefix("Value error, ")


def _where(loc: tuple[int | str, ...]) -> str:
    """A pydantic location as a coordinator reads it: `sessions[3].month` (positions from 1)."""
    text = ""
    for part in loc:
        text += f"[{part + 1}]" if isinstance(part, int) else (f".{part}" if text else str(part))
    return text


def load_campaign(id_or_path: str | Path) -> CampaignFile:
    """Load `ami/data/campaigns/<id>.toml`, or any TOML path; CampaignFileError names each faulty entry."""
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
        campaign = CampaignFile.model_validate(raw)
    except ValidationError as error:
        lines = [f"{path} : fichier de campagne invalide"]
        for item in error.errors():
            cause = (item.get("ctx") or {}).get("error")
            if isinstance(cause, CalendarOrderError):
                lines.extend(f"  - {entry} : {message}" for entry, message in cause.problems)
                continue
            where = _where(item["loc"]) or "(fichier)"
            message = _message(item)
            if item["type"] == "missing":
                message = "entrée obligatoire absente" + (" (durées de conservation, voir docs/privacy.md)" if "retention" in where else "")
                message += " (mention d'information, voir docs/privacy.md)" if "privacy" in where else ""
            lines.append(f"  - {where} : {message}")
        raise CampaignFileError("\n".join(lines)) from None
    try:
        # The bounds above keep the calendar in range; this is the last guard, never a traceback.
        campaign.plan()
    except (OverflowError, ValueError) as error:
        raise CampaignFileError(f"{path} : calendrier impossible à calculer ({error})") from None
    return campaign
