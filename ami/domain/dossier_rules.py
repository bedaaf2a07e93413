"""What coordinators may do on one dossier, pure and tested without a server: confirm the binôme,
forget a contact (the right to erasure), record an attendance, a feedback, an experiment.

Each check raises a `Refusal` with a French message; the candidature workflow's update validators
call them. Messages never quote an address: they end up in logs and in the history's failures.
"""

from __future__ import annotations

from datetime import datetime

from ami.domain.refusal import Refusal
from ami.models.candidature import CandidatureFile, Person
from ami.models.candidature_messages import ConfirmBinomeInput, DecisionInput
from ami.models.lifecycle import STATE_LABELS, State
from ami.models.values import Decision, ScheduledSession

IN_CYCLE = (State.ENROLLED, State.SESSION_TRACKED)
_ROLES = ("political_referent", "technical_referent", "contact_point")


def check_confirmation(decision: DecisionInput | None, promoted: bool, input: ConfirmBinomeInput) -> None:
    if decision is None or (decision.decision is not Decision.SELECTED and not promoted):
        raise Refusal("Seule une collectivité retenue (ou promue depuis la liste d'attente) confirme son binôme.")
    if not (input.political_referent.complete and input.technical_referent.complete):
        raise Refusal("Le binôme confirmé doit indiquer le nom, la qualité et le courriel de l'élu et du technicien.")


def _same(address: str, email: str | None) -> bool:
    return (email or "").lower() == address.strip().lower()


def check_forget(closed: bool, form: CandidatureFile, address: str) -> None:
    if closed:
        raise Refusal("Le dossier est clos : il est effacé par la purge, pas par cette action.")
    if _same(address, form.collectivite.email):
        raise Refusal("Cette adresse est celle de la collectivité, exigée par le formulaire : elle se change par une correction.")
    if not any(p is not None and _same(address, p.email) for p in (getattr(form, role) for role in _ROLES)):
        raise Refusal("Cette adresse ne figure pas parmi les contacts du dossier.")


def forget(form: CandidatureFile, address: str) -> tuple[CandidatureFile, int]:
    """The form without the person at `address` (a referent becomes an empty one, the contact point
    goes), and how many roles it held."""
    updates: dict[str, Person | None] = {}
    for role in _ROLES:
        person = getattr(form, role)
        if person is not None and _same(address, person.email):
            updates[role] = None if role == "contact_point" else Person()
    return form.model_copy(update=updates), len(updates)


def has_referent(form: CandidatureFile) -> bool:
    """Whether a referent's address is left to write to."""
    return any(p is not None and p.email for p in (form.political_referent, form.technical_referent))


def check_attendance(session: ScheduledSession | None, number: int, now: datetime) -> None:
    if session is None:
        raise Refusal(f"La séance {number} n'a pas encore de date : impossible d'y enregistrer une présence.")
    if now < session.starts_at:
        raise Refusal(f"La séance {number} n'a pas encore eu lieu.")


def check_feedback(state: State, attended: bool, number: int) -> None:
    if state not in IN_CYCLE:
        raise Refusal(f"Questionnaire refusé : la candidature est « {STATE_LABELS[state]} ».")
    if not attended:
        raise Refusal(f"Aucune présence enregistrée pour la séance {number} : enregistrez-la d'abord.")


def check_experiment(state: State) -> None:
    if state not in IN_CYCLE:
        raise Refusal("L'expérimentation s'enregistre pendant le cycle.")
