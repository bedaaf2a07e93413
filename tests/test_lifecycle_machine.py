"""The state machine alone: every legal trigger, every illegal one refused in French, and the
README's diagram generated from the machine."""

from __future__ import annotations

from pathlib import Path

import pytest

from ami.models.lifecycle import TRANSITIONS, IllegalTransition, Lifecycle, State, Trigger, mermaid_diagram

README = Path(__file__).resolve().parent.parent / "README.md"


@pytest.mark.parametrize(("trigger", "source", "dest"), [(t, s, d) for t, sources, d in TRANSITIONS for s in sources])
def test_every_transition_of_the_table(trigger: Trigger, source: State, dest: State) -> None:
    machine = Lifecycle(initial=source)
    assert machine.allowed(trigger)
    assert machine.fire(trigger) == (source, dest)


def test_every_illegal_trigger_is_refused_with_a_french_message() -> None:
    legal = {(t, s) for t, sources, _ in TRANSITIONS for s in sources}
    refused = 0
    for state in State:
        for trigger in Trigger:
            if (trigger, state) in legal:
                continue
            machine = Lifecycle(initial=state)
            assert not machine.allowed(trigger)
            with pytest.raises(IllegalTransition) as caught:
                machine.fire(trigger)
            assert "impossible" in caught.value.message and state.value in caught.value.message
            assert machine.current is state  # nothing moved
            refused += 1
    assert refused > 50


def test_final_states_accept_nothing() -> None:
    for final in (State.CAPITALISED, State.CLOSED):
        assert not any(Lifecycle(initial=final).allowed(t) for t in Trigger)


def test_machines_are_independent() -> None:
    first, second = Lifecycle(), Lifecycle()
    first.fire(Trigger.DECLARE_INELIGIBLE)
    assert second.current is State.SUBMITTED


def test_readme_shows_the_generated_diagram() -> None:
    assert mermaid_diagram() in README.read_text(encoding="utf-8"), "regenerate it with `ami diagram`"
