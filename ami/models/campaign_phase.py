"""The campaign's phases: an enum and one transition table, like the candidature's lifecycle.

The campaign workflow resumes from its phase after continue-as-new; the README's diagram is
generated from `PHASE_TRANSITIONS`, so the picture cannot drift from the code.
"""

from __future__ import annotations

from enum import StrEnum


class Phase(StrEnum):
    BEFORE_OPENING = "before_opening"
    OPEN = "open"
    JURY = "jury"
    DECISIONS = "decisions"
    CAPITALISATION = "capitalisation"
    REPORTED = "reported"
    DONE = "done"


class PhaseTrigger(StrEnum):
    OPEN = "open"
    CLOSE_SUBMISSIONS = "close_submissions"
    DELIBERATE = "deliberate"
    END_CYCLE = "end_cycle"
    SEND_REPORT = "send_report"
    FINISH = "finish"


PHASE_LABELS: dict[Phase, str] = {
    Phase.BEFORE_OPENING: "avant l'ouverture de l'appel",
    Phase.OPEN: "appel ouvert (dépôt des candidatures)",
    Phase.JURY: "examen par le jury",
    Phase.DECISIONS: "décisions et cycle de séances",
    Phase.CAPITALISATION: "capitalisation des candidatures",
    Phase.REPORTED: "rapport de campagne envoyé, dernières candidatures en cours",
    Phase.DONE: "terminée",
}

# (trigger, source, destination): the whole campaign in one table.
PHASE_TRANSITIONS: list[tuple[PhaseTrigger, Phase, Phase]] = [
    (PhaseTrigger.OPEN, Phase.BEFORE_OPENING, Phase.OPEN),
    (PhaseTrigger.CLOSE_SUBMISSIONS, Phase.OPEN, Phase.JURY),
    (PhaseTrigger.DELIBERATE, Phase.JURY, Phase.DECISIONS),
    (PhaseTrigger.END_CYCLE, Phase.DECISIONS, Phase.CAPITALISATION),
    (PhaseTrigger.SEND_REPORT, Phase.CAPITALISATION, Phase.REPORTED),
    (PhaseTrigger.FINISH, Phase.REPORTED, Phase.DONE),
]

_NEXT = {(trigger, source): dest for trigger, source, dest in PHASE_TRANSITIONS}


class IllegalPhaseTransition(Exception):
    def __init__(self, trigger: PhaseTrigger, phase: Phase) -> None:
        self.trigger, self.phase = trigger, phase
        super().__init__(f"Étape « {trigger.value} » impossible : la campagne est « {PHASE_LABELS[phase]} ».")


def next_phase(phase: Phase, trigger: PhaseTrigger) -> Phase:
    try:
        return _NEXT[(trigger, phase)]
    except KeyError:
        raise IllegalPhaseTransition(trigger, phase) from None


def phase_diagram() -> str:
    """The campaign's diagram, generated from `PHASE_TRANSITIONS`."""
    lines = ["stateDiagram-v2", f"    [*] --> {Phase.BEFORE_OPENING.value}"]
    lines += [f"    {source.value} --> {dest.value}: {trigger.value}" for trigger, source, dest in PHASE_TRANSITIONS]
    lines.append(f"    {Phase.DONE.value} --> [*]")
    return "\n".join(lines)
