"""The session schedule (`ami/domain/session_rules.py`) without a server: when a session may be set or
moved, and the dates the campaign waits for (alerts, end of the waitlist, capitalisation)."""

from __future__ import annotations

from datetime import timedelta

import pytest

from ami.domain.refusal import Refusal
from ami.domain.session_rules import SessionCalendar
from ami.models.campaign import load_campaign
from ami.models.campaign_messages import SetSessionInput
from ami.models.campaign_state import CampaignState

PLAN = load_campaign("ami-2024").plan()
FIRST, SECOND, THIRD = PLAN.sessions[:3]
NOW = PLAN.response_at


def calendar() -> SessionCalendar:
    return SessionCalendar(PLAN, CampaignState())


def on(session: object, days: int, number: int, place: str = "Lille") -> SetSessionInput:
    return SetSessionInput(number=number, starts_at=session.window_start + timedelta(days=days, hours=14), place=place)  # type: ignore[attr-defined]


def refusal(cal: SessionCalendar, input: SetSessionInput, now: object = NOW) -> str:
    with pytest.raises(Refusal) as caught:
        cal.check(input, now, False)  # type: ignore[arg-type]
    return caught.value.message


def test_a_session_is_set_in_the_future_and_never_moved_once_started() -> None:
    cal = calendar()
    past = SetSessionInput(number=1, starts_at=NOW - timedelta(hours=1), place="Lille")
    assert refusal(cal, past) == "La date de la séance doit être dans le futur."
    held = cal.set(on(FIRST, 3, 1))
    after_start = held.starts_at + timedelta(minutes=1)
    assert refusal(cal, on(FIRST, 10, 1), after_start) == "La séance 1 a déjà commencé : elle ne peut plus être déplacée."


def test_sessions_keep_their_order() -> None:
    cal = calendar()
    cal.set(SetSessionInput(number=2, starts_at=SECOND.window_start + timedelta(hours=1), place="Lille"))
    late_first = SetSessionInput(number=1, starts_at=SECOND.window_start - timedelta(hours=1), place="Lille")
    assert FIRST.window_start <= late_first.starts_at < FIRST.window_end
    assert refusal(cal, late_first) == "La séance 1 doit précéder la séance 2."
    cal.set(on(FIRST, 3, 1))
    early_third = SetSessionInput(number=3, starts_at=THIRD.window_start, place="Lille")
    cal.set(on(SECOND, 27, 2))
    cal.set(SetSessionInput(number=2, starts_at=SECOND.window_end - timedelta(hours=2), place="Lille"))
    assert refusal(cal, early_third) == "La séance 3 doit suivre la séance 2."


def test_a_moved_session_keeps_its_theme_unless_given_and_raises_its_sequence() -> None:
    cal = calendar()
    first = cal.set(on(FIRST, 3, 1))
    assert (first.sequence, first.theme, first.ends_at - first.starts_at) == (0, FIRST.theme, PLAN.session_duration)
    moved = cal.set(on(FIRST, 5, 1, "Arras"))
    assert (moved.sequence, moved.theme, moved.place) == (1, FIRST.theme, "Arras")
    renamed = cal.set(SetSessionInput(number=1, starts_at=moved.starts_at, place="Arras", theme="Commande publique"))
    assert (renamed.sequence, renamed.theme) == (2, "Commande publique")
    assert cal.version() == ((1, 2),)


def test_the_dates_the_campaign_waits_for() -> None:
    cal = calendar()
    assert cal.first_start() == FIRST.window_end  # undated: the waitlist ends with the first month
    assert cal.capitalisation_at() is None
    assert cal.next_undated_alert() == (FIRST.window_start - PLAN.session_alert_lead, 1)
    first = cal.set(on(FIRST, 3, 1))
    assert cal.first_start() == first.starts_at
    assert cal.next_undated_alert() == (SECOND.window_start - PLAN.session_alert_lead, 2)
    cal.state.alerted.append(2)  # alerted once: the next one is the third
    assert cal.next_undated_alert() == (THIRD.window_start - PLAN.session_alert_lead, 3)
    last_plan = PLAN.sessions[-1]
    last = cal.set(on(last_plan, 3, last_plan.number))
    assert cal.capitalisation_at() == last.ends_at + PLAN.capitalisation_delay
