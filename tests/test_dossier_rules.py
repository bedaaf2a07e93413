"""The rules of the coordinators' actions on one dossier, pure: no server, no workflow."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from ami.app.examples import example
from ami.domain import dossier_rules as rules
from ami.domain.refusal import Refusal
from ami.models.candidature import Person
from ami.models.candidature_messages import ConfirmBinomeInput, DecisionInput
from ami.models.lifecycle import State
from ami.models.values import Decision, ScheduledSession

NOW = datetime(2024, 10, 14, 14, tzinfo=UTC)
FORM = example("01-henin-carvin")


def _decision(decision: Decision) -> DecisionInput:
    return DecisionInput(decision=decision, rank=1, score=4.0)


def _binome(complete: bool = True) -> ConfirmBinomeInput:
    assert FORM.political_referent and FORM.technical_referent
    technical = FORM.technical_referent if complete else FORM.technical_referent.model_copy(update={"role": None})
    return ConfirmBinomeInput(political_referent=FORM.political_referent, technical_referent=technical)


def test_only_a_selected_or_promoted_collectivite_confirms_a_complete_binome() -> None:
    rules.check_confirmation(_decision(Decision.SELECTED), False, _binome())
    rules.check_confirmation(_decision(Decision.WAITLISTED), True, _binome())
    for decision, promoted in ((None, False), (_decision(Decision.WAITLISTED), False), (_decision(Decision.NOT_SELECTED), False)):
        with pytest.raises(Refusal, match="Seule une collectivité retenue"):
            rules.check_confirmation(decision, promoted, _binome())
    with pytest.raises(Refusal, match="nom, la qualité et le courriel"):
        rules.check_confirmation(_decision(Decision.SELECTED), False, _binome(complete=False))


def test_a_contact_is_forgotten_but_never_the_collectivite_nor_a_stranger() -> None:
    assert FORM.political_referent and FORM.political_referent.email and FORM.collectivite.email
    address = FORM.political_referent.email
    rules.check_forget(False, FORM, f"  {address.upper()} ")
    with pytest.raises(Refusal, match="clos") as closed:
        rules.check_forget(True, FORM, address)
    assert address not in closed.value.message  # an address never reaches a log
    with pytest.raises(Refusal, match="celle de la collectivité"):
        rules.check_forget(False, FORM, FORM.collectivite.email)
    with pytest.raises(Refusal, match="ne figure pas"):
        rules.check_forget(False, FORM, "personne@example.org")

    form, roles = rules.forget(FORM, address.upper())
    assert roles == 1 and form.political_referent == Person() and form.technical_referent == FORM.technical_referent
    assert rules.has_referent(form)
    assert form.technical_referent and form.technical_referent.email
    alone, _ = rules.forget(form, form.technical_referent.email)
    assert not rules.has_referent(alone)


def test_attendance_needs_a_session_that_has_begun() -> None:
    session = ScheduledSession(number=1, theme="Thème", place="Lille", starts_at=NOW, ends_at=NOW + timedelta(hours=4))
    rules.check_attendance(session, 1, NOW)
    with pytest.raises(Refusal, match="pas encore de date"):
        rules.check_attendance(None, 2, NOW)
    with pytest.raises(Refusal, match="pas encore eu lieu"):
        rules.check_attendance(session, 1, NOW - timedelta(minutes=1))


@pytest.mark.parametrize("state", list(State))
def test_feedback_and_experiment_are_recorded_during_the_cycle_only(state: State) -> None:
    in_cycle = state in (State.ENROLLED, State.SESSION_TRACKED)
    if in_cycle:
        rules.check_feedback(state, True, 1)
        rules.check_experiment(state)
        with pytest.raises(Refusal, match="Aucune présence enregistrée pour la séance 1"):
            rules.check_feedback(state, False, 1)
        return
    with pytest.raises(Refusal, match="Questionnaire refusé"):
        rules.check_feedback(state, True, 1)
    with pytest.raises(Refusal, match="pendant le cycle"):
        rules.check_experiment(state)
