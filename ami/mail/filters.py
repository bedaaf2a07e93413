"""Jinja filters of the email templates: French dates in the campaign's zone, French labels.

Context values arrive as JSON (ISO strings) because they cross Temporal; the filters parse them, so a
template writes `{{ session.starts_at | datetime_fr(campaign.timezone) }}` and nothing else.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import date, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from babel.dates import format_date

from ami.documents import typography
from models.lifecycle import STATE_LABELS, State
from models.messages import DECISION_LABELS, Decision

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


FILTERS: dict[str, Callable[..., Any]] = {
    "date_fr": date_fr,
    "datetime_fr": datetime_fr,
    "time_fr": time_fr,
    "deadline_day": deadline_day,
    "month_fr": month_fr,
    "state_fr": state_fr,
    "decision_fr": decision_fr,
    "purpose_fr": purpose_fr,
}
