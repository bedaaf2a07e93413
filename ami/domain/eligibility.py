"""The eligibility rules of the call (register, binôme, letter, window), as one pure function.

Used by the workflow's activity, by `ami check` and by the tests, so all three give the same verdict
on the same file. Reason codes are stable (coordinators filter on them); messages are French and
explain themselves: the register's name, kind, département and region beside the name the
applicant wrote, and instants in the campaign's time zone with their UTC offset.
"""

from __future__ import annotations

from datetime import UTC, datetime, time, timedelta
from zoneinfo import ZoneInfo

from ami.domain.register import Register, RegisterEntry, load_register
from ami.models.activity_payloads import EligibilityRules
from ami.models.candidature import CandidatureFile, Person
from ami.models.values import Reason, RegisterView, Verdict

# Stable reason codes, in the order the rules are checked.
UNKNOWN_COLLECTIVITE = "unknown_collectivite"
NOT_COMMUNE_OR_EPCI = "not_commune_or_epci"
OUTSIDE_REGION = "outside_region"
INCOMPLETE_BINOME = "incomplete_binome"
INCOMPLETE_LETTER = "incomplete_letter"
BEFORE_OPENING = "before_opening"
AFTER_DEADLINE = "after_deadline"
REASON_CODES = (
    UNKNOWN_COLLECTIVITE,
    NOT_COMMUNE_OR_EPCI,
    OUTSIDE_REGION,
    INCOMPLETE_BINOME,
    INCOMPLETE_LETTER,
    BEFORE_OPENING,
    AFTER_DEADLINE,
)

_ZONE_NAMES = {"Europe/Paris": "heure de Paris"}


def _zone_label(zone: ZoneInfo, local: datetime) -> str:
    offset = local.strftime("%z")
    offset = f"UTC{offset[:3]}:{offset[3:]}" if offset else "UTC"
    return f"{_ZONE_NAMES.get(zone.key, zone.key)}, {offset}"


def _when(instant: datetime, zone: ZoneInfo) -> str:
    """« 09/09/2024 à 00:30 (heure de Paris, UTC+02:00) »."""
    local = instant.astimezone(zone)
    return f"{local:%d/%m/%Y à %H:%M} ({_zone_label(zone, local)})"


def _deadline(deadline_at: datetime, zone: ZoneInfo) -> str:
    """The deadline as published: « 08/09/2024 à minuit » for the end of the 8th, else its time."""
    local = deadline_at.astimezone(zone)
    if local.time() == time(0, 0):
        last_day = local - timedelta(days=1)
        return f"le {last_day:%d/%m/%Y}, fin de journée ({_zone_label(zone, local)})"
    return f"le {_when(deadline_at, zone)}"


def _thousands(value: int) -> str:
    return f"{value:,}".replace(",", "\u202f")


def describe_entry(entry: RegisterEntry, register: Register) -> str:
    """« Reims (commune, département 51 — Marne, région 44 — Grand Est) »."""
    parts = [entry.kind_label]
    if entry.departement and entry.kind != "region":
        name = register.departement_name(entry.departement)
        parts.append(f"département {entry.departement}" + (f" — {name}" if name else ""))
    if entry.region:
        name = register.region_name(entry.region)
        parts.append(f"région {entry.region}" + (f" — {name}" if name else ""))
    return f"{entry.name} ({', '.join(parts)})"


def _binome_reasons(form: CandidatureFile) -> list[str]:
    missing = []
    for label, person in (("référent politique (élu)", form.political_referent), ("référent technique", form.technical_referent)):
        if person is None:
            missing.append(f"le {label} est absent")
        elif not isinstance(person, Person) or not person.complete:
            absent = [name for name, value in (("nom", person.name), ("qualité", person.role), ("courriel", person.email)) if not value]
            plural = "s" if len(absent) > 1 else ""
            missing.append(f"le {label} est incomplet ({', '.join(absent)} manquant{plural})")
    return missing


def _letter_reasons(form: CandidatureFile) -> list[str]:
    letter = form.letter
    questions = {
        "platforms_place": "la place accordée aux plateformes dans le projet politique",
        "objective": "l'objectif recherché en participant au cycle",
        "contribution": "ce que la collectivité pense apporter",
    }
    return [label for key, label in questions.items() if not (letter and getattr(letter, key))]


def view_of(entry: RegisterEntry) -> RegisterView:
    """What the verdict shows of the register's entry: its fields of the same names, `kind_label` included."""
    return RegisterView.model_validate(entry, from_attributes=True)


def _register_reason(form: CandidatureFile, entry: RegisterEntry | None, rules: EligibilityRules, register: Register) -> Reason | None:
    written = form.collectivite.name
    if entry is None:
        c = form.collectivite
        ident = " ni ".join(x for x in (c.siren and f"le SIREN {c.siren}", c.insee and f"le code INSEE {c.insee}") if x)
        return Reason(
            code=UNKNOWN_COLLECTIVITE,
            message=(
                f"« {written} » : {ident} ne figure pas au répertoire officiel des collectivités "
                "(communes, communes associées ou déléguées, EPCI à fiscalité propre). Vérifiez l'identifiant."
            ),
        )
    official = describe_entry(entry, register)
    if not entry.is_commune_or_epci:
        return Reason(
            code=NOT_COMMUNE_OR_EPCI,
            message=(
                f"« {written} » est au répertoire officiel : {official}. L'appel s'adresse aux communes "
                "et aux EPCI à fiscalité propre (communautés de communes, d'agglomération, urbaines, métropoles)."
            ),
        )
    if entry.region != rules.region:
        region = register.region_name(rules.region) or rules.region
        why = ""
        if entry.is_epci and entry.siren:
            by_region = register.epci_population_by_region(entry.siren)
            total = sum(by_region.values())
            here = by_region.get(entry.region or "", 0)
            if total and len(by_region) > 1:
                why = (
                    f" ; un EPCI relève de la région où vit la majorité de sa population : "
                    f"{_thousands(here)} de ses {_thousands(total)} habitants vivent en "
                    f"{register.region_name(entry.region or '') or 'dehors de la région'}"
                )
        return Reason(
            code=OUTSIDE_REGION,
            message=(
                f"« {written} » est au répertoire officiel : {official}{why}. L'appel est réservé à la région {region} ({rules.region})."
            ),
        )
    return None


def assess(form: CandidatureFile, received_at: datetime, rules: EligibilityRules, register: Register | None = None) -> Verdict:
    """The verdict on `form` received at `received_at` (aware), with every reason that applies."""
    if received_at.tzinfo is None or received_at.utcoffset() is None:
        raise ValueError("received_at doit porter son fuseau horaire")
    register = register or load_register()
    zone = ZoneInfo(rules.timezone)
    reasons: list[Reason] = []

    entry = register.lookup(form.collectivite.siren, form.collectivite.insee)
    view = view_of(entry) if entry else None
    if (reason := _register_reason(form, entry, rules, register)) is not None:
        reasons.append(reason)

    for problem in _binome_reasons(form):
        reasons.append(Reason(code=INCOMPLETE_BINOME, message=f"Binôme incomplet : {problem}."))
    missing = _letter_reasons(form)
    if missing:
        reasons.append(Reason(code=INCOMPLETE_LETTER, message="Lettre de motivation incomplète : précisez " + " ; ".join(missing) + "."))

    # Compared in UTC: two datetimes sharing a zone would be compared by wall-clock time.
    received, opens, deadline = (t.astimezone(UTC) for t in (received_at, rules.opens_at, rules.deadline_at))
    # Compared on the plan's instants, written on the published calendar (a shifted plan's differ).
    tm = rules.time_map
    shown_received, shown_opens, shown_deadline = (tm.for_reader(t) if tm else t for t in (received_at, rules.opens_at, rules.deadline_at))
    if received < opens:
        reasons.append(
            Reason(
                code=BEFORE_OPENING,
                message=f"Reçue le {_when(shown_received, zone)}, avant l'ouverture de l'appel le {_when(shown_opens, zone)}.",
            )
        )
    elif received >= deadline:
        reasons.append(
            Reason(
                code=AFTER_DEADLINE,
                message=f"Reçue le {_when(shown_received, zone)}, après la date limite, {_deadline(shown_deadline, zone)}.",
            )
        )
    return Verdict(eligible=not reasons, collectivite=view, reasons=reasons)
