"""The eligibility rules of SPEC §5, as one pure function.

Used by the workflow's activity, by `ami check` and by the tests, so all three give the same verdict
on the same file. Reason codes are stable (coordinators filter on them); messages are French.
"""

from __future__ import annotations

from datetime import datetime
from zoneinfo import ZoneInfo

from ami.register import Register, RegisterEntry, load_register
from models.candidature import CandidatureFile, Person
from models.messages import EligibilityRules, Reason, RegisterView, Verdict


def _when(instant: datetime, zone: ZoneInfo) -> str:
    local = instant.astimezone(zone)
    return local.strftime("%d/%m/%Y à %H:%M")


def _binome_reasons(form: CandidatureFile) -> list[str]:
    missing = []
    for label, person in (("référent politique (élu)", form.political_referent), ("référent technique", form.technical_referent)):
        if person is None:
            missing.append(f"le {label} est absent")
        elif not isinstance(person, Person) or not person.complete:
            absent = [name for name, value in (("nom", person.name), ("qualité", person.role), ("courriel", person.email)) if not value]
            missing.append(f"le {label} est incomplet ({', '.join(absent)} manquant)")
    return missing


def _letter_reasons(form: CandidatureFile) -> list[str]:
    letter = form.letter
    questions = {
        "platforms_place": "la place accordée aux plateformes dans le projet politique",
        "objective": "l'objectif recherché en participant au cycle",
        "contribution": "ce que la collectivité pense apporter",
    }
    return [label for key, label in questions.items() if not (letter and getattr(letter, key))]


def view_of(entry: RegisterEntry, register: Register) -> RegisterView:
    return RegisterView(
        name=entry.name,
        kind=entry.kind,
        kind_label=entry.kind_label,
        departement=entry.departement,
        region=entry.region,
    )


def assess(form: CandidatureFile, received_at: datetime, rules: EligibilityRules, register: Register | None = None) -> Verdict:
    """The verdict on `form` received at `received_at` (aware), with every reason that applies."""
    if received_at.tzinfo is None:
        raise ValueError("received_at doit porter son fuseau horaire")
    register = register or load_register()
    zone = ZoneInfo(rules.timezone)
    reasons: list[Reason] = []

    entry = register.lookup(form.collectivite.siren, form.collectivite.insee)
    view = view_of(entry, register) if entry else None
    ident = form.collectivite.siren and f"SIREN {form.collectivite.siren}" or f"code INSEE {form.collectivite.insee}"
    if entry is None:
        reasons.append(Reason(code="unknown_collectivite", message=f"Le {ident} ne figure pas au répertoire officiel des collectivités."))
    elif not entry.is_commune_or_epci:
        reasons.append(
            Reason(
                code="not_commune_or_epci",
                message=f"{entry.name} est un(e) {entry.kind_label} : l'appel s'adresse aux communes et aux EPCI.",
            )
        )
    elif entry.region != rules.region:
        region = register.region_name(rules.region) or rules.region
        where = register.region_name(entry.region) if entry.region else None
        reasons.append(
            Reason(
                code="outside_region",
                message=f"{entry.name} ({entry.kind_label}) est située en {where or 'dehors de la région'} : l'appel est réservé à la région {region}.",
            )
        )

    for problem in _binome_reasons(form):
        reasons.append(Reason(code="incomplete_binome", message=f"Binôme incomplet : {problem}."))
    missing = _letter_reasons(form)
    if missing:
        reasons.append(
            Reason(code="incomplete_letter", message="Lettre de motivation incomplète : précisez " + " ; ".join(missing) + ".")
        )

    if received_at < rules.opens_at:
        reasons.append(
            Reason(
                code="before_opening",
                message=f"Reçue le {_when(received_at, zone)}, avant l'ouverture de l'appel le {_when(rules.opens_at, zone)}.",
            )
        )
    elif received_at >= rules.deadline_at:
        reasons.append(
            Reason(
                code="after_deadline",
                message=f"Reçue le {_when(received_at, zone)}, après la date limite ({_when(rules.deadline_at, zone)}).",
            )
        )
    return Verdict(eligible=not reasons, collectivite=view, reasons=reasons)
