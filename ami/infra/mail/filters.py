"""Jinja filters of the email templates: French dates in the campaign's zone, French labels.

Context values arrive as JSON (ISO strings) because they cross Temporal; the filters parse them, so a
template writes `{{ session.starts_at | datetime_fr(campaign.timezone) }}` and nothing else.

Every instant in a context is a working instant of the campaign's plan. When the plan was shifted or
compressed (the demo, `ami campaign start --day-seconds`), `campaign.time_map` says how: the date
filters then show the published instant (« 15 octobre 2024 à 14 h 00 »), never the working one.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import date, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from babel.dates import format_date
from jinja2 import pass_context
from jinja2.runtime import Context

from ami.infra.documents import typography
from ami.models.campaign_plan import TimeMap
from ami.models.lifecycle import STATE_LABELS, State
from ami.models.values import DECISION_LABELS, Decision

# What each notification is, in the words a coordinator reads in a bounce alert.
PURPOSE_LABELS: dict[str, str] = {
    "receipt": "accusé de réception",
    "ineligible": "candidature incomplète ou inéligible",
    "closed_ineligible": "clôture d'une candidature inéligible",
    "decision_selected": "décision : candidature retenue",
    "decision_waitlisted": "décision : liste d'attente",
    "decision_not_selected": "décision : candidature non retenue",
    "promoted": "place libérée sur liste d'attente",
    "waitlist_closed": "fin de la liste d'attente",
    "binome_reminder": "rappel de confirmation du binôme",
    "binome_confirmed": "confirmation du binôme",
    "withdrawn": "retrait de la candidature",
    "withdrawn_unconfirmed": "place libérée faute de confirmation",
    "session_invitation": "invitation à une séance",
    "session_updated": "changement de date d'une séance",
    "session_reminder": "rappel de séance",
    "absence_followup": "relance après une absence",
    "feedback_request": "demande d'avis sur une séance",
    "certificate": "attestation de participation",
    "coord_new_candidature": "alerte : nouvelle candidature",
    "coord_deadline_summary": "alerte : bilan à la date limite",
    "coord_jury_late": "alerte : jury en retard",
    "coord_bounce": "alerte : courriel refusé",
    "coord_session_undated": "alerte : séance sans date",
    "coord_campaign_report": "rapport de capitalisation de la campagne",
    "coord_candidature_ended": "alerte : dossier clos hors du moteur",
    "coord_no_referent": "alerte : dossier sans référent joignable",
    "jury_invite": "invitation d'un membre du jury",
}


def _parse(value: str | datetime | date) -> datetime | date:
    if isinstance(value, str):
        return datetime.fromisoformat(value) if "T" in value else date.fromisoformat(value)
    return value


def _local(value: str | datetime, tz: str) -> datetime:
    parsed = _parse(value)
    if not isinstance(parsed, datetime):
        raise TypeError(f"date et heure attendues, reçu {value!r}")
    return parsed.astimezone(ZoneInfo(tz))


def time_map_of(campaign: Any) -> TimeMap | None:
    """The campaign's time map from a context's `campaign` entry (absent: the calendar as published)."""
    raw = campaign.get("time_map") if isinstance(campaign, dict) else None
    return TimeMap.model_validate(raw) if raw else None


def as_published(value: str | datetime, time_map: TimeMap | None) -> datetime:
    """A working instant (ISO text or datetime) as the published instant a person reads."""
    parsed = _parse(value)
    if not isinstance(parsed, datetime):
        raise TypeError(f"date et heure attendues, reçu {value!r}")
    return time_map.for_reader(parsed) if time_map else parsed


def _reader(context: Context, value: Any) -> Any:
    """`value` mapped through the time map of the context's campaign; a bare date is left as it is."""
    time_map = time_map_of(context.get("campaign"))
    if time_map is None or isinstance(value, date) and not isinstance(value, datetime):
        return value
    if isinstance(value, str) and "T" not in value:
        return value
    return as_published(value, time_map)


def date_fr(value: str | datetime | date, tz: str = "Europe/Paris") -> str:
    """« 8 septembre 2024 », « 1er octobre 2024 »; an instant is shown as its day in `tz`."""
    parsed = _parse(value)
    if isinstance(parsed, datetime):
        parsed = parsed.astimezone(ZoneInfo(tz)).date()
    return typography.date_fr(parsed)


def datetime_fr(value: str | datetime, tz: str = "Europe/Paris") -> str:
    """« 8 septembre 2024 à 14 h 00 » in the campaign's zone (summer and winter time alike)."""
    local = _local(value, tz)
    return typography.datetime_fr(local, local.tzinfo or ZoneInfo(tz))


def time_fr(value: str | datetime, tz: str = "Europe/Paris") -> str:
    """« 14 h 00 »."""
    local = _local(value, tz)
    return f"{local.hour} h {local.minute:02d}"


def deadline_day(value: str | datetime, tz: str = "Europe/Paris") -> str:
    """A deadline instant is the first instant after the last day: show that last day."""
    return date_fr(_local(value, tz) - timedelta(microseconds=1), tz)


def month_fr(value: str) -> str:
    """« 2024-10 » → « octobre 2024 »."""
    first = datetime.strptime(value, "%Y-%m").date()
    return str(format_date(first, format="LLLL y", locale="fr_FR"))


def state_fr(value: str) -> str:
    try:
        return STATE_LABELS[State(value)]
    except ValueError:
        return value


def decision_fr(value: str) -> str:
    try:
        return DECISION_LABELS[Decision(value)]
    except ValueError:
        return value


def purpose_fr(value: str) -> str:
    return PURPOSE_LABELS.get(value, value)


def _on_reader_clock(filter: Callable[..., str]) -> Callable[..., str]:
    """The template filter: `filter` applied to the published instant of its value."""

    @pass_context
    def mapped(context: Context, value: Any, *args: Any) -> str:
        return filter(_reader(context, value), *args)

    return mapped


FILTERS: dict[str, Callable[..., Any]] = {
    "date_fr": _on_reader_clock(date_fr),
    "datetime_fr": _on_reader_clock(datetime_fr),
    "time_fr": _on_reader_clock(time_fr),
    "deadline_day": _on_reader_clock(deadline_day),
    "month_fr": month_fr,
    "state_fr": state_fr,
    "decision_fr": decision_fr,
    "purpose_fr": purpose_fr,
}
