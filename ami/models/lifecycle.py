"""The candidature lifecycle: the single source of truth for what may happen to a dossier.

A pure transition table run by a synchronous `transitions.Machine`: no callbacks, no I/O, so the
workflow can hold one instance and replay it deterministically. The workflow asks `allowed()` in its
update validators and calls `fire()` in its handlers; an illegal trigger becomes an
`ApplicationError` with a French message, never a workflow failure.
"""

from __future__ import annotations

from enum import StrEnum

from transitions import Machine, MachineError


class State(StrEnum):
    SUBMITTED = "submitted"
    INELIGIBLE = "ineligible"
    ELIGIBILITY_CHECKED = "eligibility_checked"
    JURY_REVIEWED = "jury_reviewed"
    NOTIFIED = "notified"
    ENROLLED = "enrolled"
    SESSION_TRACKED = "session_tracked"
    CAPITALISED = "capitalised"
    CLOSED = "closed"


FINAL_STATES = frozenset({State.CAPITALISED, State.CLOSED})

STATE_LABELS: dict[State, str] = {
    State.SUBMITTED: "reçue",
    State.INELIGIBLE: "inéligible (correction possible jusqu'à la date limite)",
    State.ELIGIBILITY_CHECKED: "éligible, en attente du jury",
    State.JURY_REVIEWED: "examinée par le jury, décision en attente d'envoi",
    State.NOTIFIED: "décision envoyée",
    State.ENROLLED: "inscrite au cycle",
    State.SESSION_TRACKED: "cycle en cours",
    State.CAPITALISED: "cycle terminé et capitalisé",
    State.CLOSED: "close",
}


class Trigger(StrEnum):
    DECLARE_ELIGIBLE = "declare_eligible"
    DECLARE_INELIGIBLE = "declare_ineligible"
    CORRECT = "correct"
    EXPIRE = "expire"
    DELIBERATE = "deliberate"
    NOTIFY = "notify"
    PROMOTE = "promote"
    CONFIRM_BINOME = "confirm_binome"
    RECORD_ATTENDANCE = "record_attendance"
    CAPITALISE = "capitalise"
    CLOSE = "close"
    WITHDRAW = "withdraw"


TRIGGER_LABELS: dict[Trigger, str] = {
    Trigger.DECLARE_ELIGIBLE: "déclarer éligible",
    Trigger.DECLARE_INELIGIBLE: "déclarer inéligible",
    Trigger.CORRECT: "corriger la candidature",
    Trigger.EXPIRE: "clore à la date limite",
    Trigger.DELIBERATE: "délibérer",
    Trigger.NOTIFY: "envoyer la décision",
    Trigger.PROMOTE: "promouvoir depuis la liste d'attente",
    Trigger.CONFIRM_BINOME: "confirmer le binôme",
    Trigger.RECORD_ATTENDANCE: "enregistrer une présence",
    Trigger.CAPITALISE: "capitaliser le cycle",
    Trigger.CLOSE: "clore",
    Trigger.WITHDRAW: "retirer la candidature",
}

_OPEN = [
    State.SUBMITTED,
    State.INELIGIBLE,
    State.ELIGIBILITY_CHECKED,
    State.JURY_REVIEWED,
    State.NOTIFIED,
    State.ENROLLED,
    State.SESSION_TRACKED,
]

# (trigger, sources, destination): the whole lifecycle in one table.
TRANSITIONS: list[tuple[Trigger, list[State], State]] = [
    (Trigger.DECLARE_ELIGIBLE, [State.SUBMITTED], State.ELIGIBILITY_CHECKED),
    (Trigger.DECLARE_INELIGIBLE, [State.SUBMITTED], State.INELIGIBLE),
    (Trigger.CORRECT, [State.INELIGIBLE], State.SUBMITTED),
    (Trigger.EXPIRE, [State.INELIGIBLE], State.CLOSED),
    (Trigger.DELIBERATE, [State.ELIGIBILITY_CHECKED], State.JURY_REVIEWED),
    (Trigger.NOTIFY, [State.JURY_REVIEWED], State.NOTIFIED),
    (Trigger.PROMOTE, [State.NOTIFIED], State.NOTIFIED),
    (Trigger.CONFIRM_BINOME, [State.NOTIFIED], State.ENROLLED),
    (Trigger.RECORD_ATTENDANCE, [State.ENROLLED, State.SESSION_TRACKED], State.SESSION_TRACKED),
    (Trigger.CAPITALISE, [State.ENROLLED, State.SESSION_TRACKED], State.CAPITALISED),
    (Trigger.CLOSE, [State.NOTIFIED], State.CLOSED),
    (Trigger.WITHDRAW, _OPEN, State.CLOSED),
]


class IllegalTransition(Exception):
    """A trigger the machine does not allow from the current state; `message` is French."""

    def __init__(self, trigger: Trigger, state: State) -> None:
        self.trigger, self.state = trigger, state
        self.message = f"Action « {TRIGGER_LABELS[trigger]} » impossible : la candidature est « {STATE_LABELS[state]} » ({state.value})."
        super().__init__(self.message)


class Lifecycle:
    """One candidature's machine. Holds the state only; the workflow holds everything else."""

    state: str

    def __init__(self, initial: State = State.SUBMITTED) -> None:
        self._machine = Machine(
            model=self,
            states=[s.value for s in State],
            initial=initial.value,
            auto_transitions=False,
            send_event=False,
        )
        for trigger, sources, dest in TRANSITIONS:
            self._machine.add_transition(trigger.value, [s.value for s in sources], dest.value)

    @property
    def current(self) -> State:
        return State(self.state)

    @property
    def final(self) -> bool:
        return self.current in FINAL_STATES

    def allowed(self, trigger: Trigger) -> bool:
        return trigger.value in self._machine.get_triggers(self.state)

    def check(self, trigger: Trigger) -> None:
        if not self.allowed(trigger):
            raise IllegalTransition(trigger, self.current)

    def fire(self, trigger: Trigger) -> tuple[State, State]:
        """Apply `trigger`; returns (source, destination)."""
        source = self.current
        try:
            getattr(self, "trigger")(trigger.value)  # noqa: B009 - bound on the model by `transitions`, unknown to mypy
        except MachineError:
            raise IllegalTransition(trigger, source) from None
        return source, self.current


def mermaid_diagram() -> str:
    """The state diagram, generated from `TRANSITIONS` so the picture cannot drift from the code."""
    lines = ["stateDiagram-v2", f"    [*] --> {State.SUBMITTED.value}"]
    for trigger, sources, dest in TRANSITIONS:
        if trigger is Trigger.WITHDRAW:
            continue
        for source in sources:
            lines.append(f"    {source.value} --> {dest.value}: {trigger.value}")
    lines.append(f"    note right of {State.CLOSED.value}: withdraw (from every open state)")
    for final in (State.CAPITALISED, State.CLOSED):
        lines.append(f"    {final.value} --> [*]")
    return "\n".join(lines)
