"""Every eligibility rule with its stable code and French message, and the campaign's submission window."""

from __future__ import annotations

import copy
from datetime import UTC, date, datetime, timedelta, timezone
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import pytest
import yaml

from ami.domain.eligibility import REASON_CODES, assess
from ami.domain.register import load_register
from ami.models.activity_payloads import EligibilityRules
from ami.models.campaign import CampaignFile, load_campaign
from ami.models.campaign_plan import CampaignPlan
from ami.models.candidature import CandidatureFile, luhn_valid

EXAMPLES = Path(__file__).resolve().parent.parent / "ami" / "data" / "examples"
PARIS = ZoneInfo("Europe/Paris")
IN_WINDOW = datetime(2024, 8, 1, 12, 0, tzinfo=PARIS)


def base() -> dict[str, Any]:
    raw: dict[str, Any] = yaml.safe_load((EXAMPLES / "01-henin-carvin.yaml").read_text(encoding="utf-8"))
    return raw


def plan() -> CampaignPlan:
    return load_campaign("ami-2024").plan()


def rules_of(p: CampaignPlan) -> EligibilityRules:
    return EligibilityRules(region=p.region, timezone=p.timezone, opens_at=p.opens_at, deadline_at=p.deadline_at)


def with_(changes: dict[str, Any]) -> CandidatureFile:
    raw = base()
    for dotted, value in changes.items():
        *parents, last = dotted.split(".")
        target = raw
        for key in parents:
            target = target[key]
        target[last] = value
    return CandidatureFile.model_validate(raw)


def codes(form: CandidatureFile, at: datetime = IN_WINDOW) -> list[str]:
    return [r.code for r in assess(form, at, rules_of(plan())).reasons]


# -- départements and region: the hand-checked SIREN table -------------------------------------------
UPPER_TIER = {
    "220200026": ("departement", "02", "Aisne"),
    "225900018": ("departement", "59", "Nord"),
    "226000016": ("departement", "60", "Oise"),
    "226200012": ("departement", "62", "Pas-de-Calais"),
    "228000014": ("departement", "80", "Somme"),
    "200053742": ("region", None, "Hauts-de-France"),
}


@pytest.mark.parametrize("siren", sorted(UPPER_TIER))
def test_upper_tier_sirens_are_luhn_valid_and_resolve(siren: str) -> None:
    kind, dep, name = UPPER_TIER[siren]
    assert luhn_valid(siren)
    entry = load_register().by_siren(siren)
    assert entry is not None
    assert (entry.kind, entry.departement, entry.name, entry.region, entry.siren) == (kind, dep, name, "32", siren)
    assert not entry.is_commune_or_epci
    # INSEE numbers département councils 22 + code: the table follows that pattern.
    if kind == "departement":
        assert siren.startswith(f"22{dep}")


# -- the rules, table-driven ----------------------------------------------------------------------
RULES: list[tuple[str, dict[str, Any], datetime, list[str], list[str]]] = [
    # id, changes to the Hénin-Carvin example, received at, expected codes, words the message must contain
    ("eligible", {}, IN_WINDOW, [], []),
    ("eligible_commune_associee_by_insee", {"collectivite.siren": None, "collectivite.insee": "59355"}, IN_WINDOW, [], []),
    (
        "unknown_siren",
        {"collectivite.siren": "123456782"},
        IN_WINDOW,
        ["unknown_collectivite"],
        ["« Communauté d'agglomération d'Hénin-Carvin »", "SIREN 123456782", "ne figure pas au répertoire officiel"],
    ),
    (
        "unknown_insee",
        {"collectivite.siren": None, "collectivite.insee": "59999"},
        IN_WINDOW,
        ["unknown_collectivite"],
        ["code INSEE 59999", "ne figure pas"],
    ),
    (
        "departement_du_nord",
        {"collectivite.siren": "225900018", "collectivite.name": "Conseil départemental du Nord"},
        IN_WINDOW,
        ["not_commune_or_epci"],
        ["« Conseil départemental du Nord »", "Nord (département", "département 59", "Hauts-de-France", "communes"],
    ),
    (
        "region_hauts_de_france",
        {"collectivite.siren": "200053742", "collectivite.name": "Région"},
        IN_WINDOW,
        ["not_commune_or_epci"],
        ["Hauts-de-France (région", "EPCI"],
    ),
    (
        "commune_outside_region",
        {"collectivite.siren": "215104217", "collectivite.name": "Ville de Reims"},
        IN_WINDOW,
        ["outside_region"],
        ["« Ville de Reims »", "Reims (commune", "département 51 — Marne", "Grand Est", "réservé à la région Hauts-de-France (32)"],
    ),
    (
        "epci_mostly_in_normandie",
        {"collectivite.siren": "247600588", "collectivite.name": "Villes Sœurs"},
        IN_WINDOW,
        ["outside_region"],
        ["CC des Villes Soeurs (communauté de communes", "Normandie", "majorité de sa population", "21\u202f716", "35\u202f390"],
    ),
    ("no_political_referent", {"political_referent": None}, IN_WINDOW, ["incomplete_binome"], ["référent politique (élu) est absent"]),
    (
        "technical_referent_without_email",
        {"technical_referent.email": None},
        IN_WINDOW,
        ["incomplete_binome"],
        ["référent technique est incomplet", "courriel manquant"],
    ),
    (
        "technical_referent_empty_email_is_ineligible_not_malformed",
        {"technical_referent.email": ""},
        IN_WINDOW,
        ["incomplete_binome"],
        ["courriel"],
    ),
    ("no_letter", {"letter": None}, IN_WINDOW, ["incomplete_letter"], ["place accordée aux plateformes", "objectif", "apporter"]),
    ("empty_objective", {"letter.objective": "   "}, IN_WINDOW, ["incomplete_letter"], ["l'objectif recherché"]),
    (
        "before_opening",
        {},
        datetime(2024, 7, 9, 23, 59, tzinfo=PARIS),
        ["before_opening"],
        ["09/07/2024 à 23:59 (heure de Paris, UTC+02:00)", "avant l'ouverture", "10/07/2024 à 00:00"],
    ),
    (
        "after_deadline",
        {},
        datetime(2024, 9, 9, 0, 30, tzinfo=PARIS),
        ["after_deadline"],
        ["09/09/2024 à 00:30 (heure de Paris, UTC+02:00)", "après la date limite", "08/09/2024, fin de journée"],
    ),
    (
        "several_reasons_in_rule_order",
        {"collectivite.siren": "225900018", "political_referent": None, "letter": None},
        datetime(2025, 1, 1, tzinfo=UTC),
        ["not_commune_or_epci", "incomplete_binome", "incomplete_letter", "after_deadline"],
        [],
    ),
]


@pytest.mark.parametrize(("changes", "at", "expected", "words"), [r[1:] for r in RULES], ids=[r[0] for r in RULES])
def test_rule(changes: dict[str, Any], at: datetime, expected: list[str], words: list[str]) -> None:
    verdict = assess(with_(changes), at, rules_of(plan()))
    assert [r.code for r in verdict.reasons] == expected
    assert verdict.eligible is (not expected)
    assert all(r.code in REASON_CODES for r in verdict.reasons)
    text = " ".join(r.message for r in verdict.reasons)
    for word in words:
        assert word in text, (word, text)


def test_every_code_is_exercised_by_the_table() -> None:
    assert {code for r in RULES for code in r[3]} == set(REASON_CODES)


def test_verdict_names_the_register_entry_beside_the_written_name() -> None:
    verdict = assess(with_({"collectivite.name": "Agglo Hénin"}), IN_WINDOW, rules_of(plan()))
    assert verdict.collectivite is not None
    assert verdict.collectivite.model_dump() == {
        "name": "CA d'Hénin-Carvin",
        "kind": "CA",
        "kind_label": "communauté d'agglomération",
        "departement": "62",
        "region": "32",
    }


def test_unknown_collectivite_has_no_register_view() -> None:
    verdict = assess(with_({"collectivite.siren": "123456782"}), IN_WINDOW, rules_of(plan()))
    assert verdict.collectivite is None


def test_naive_instant_is_refused() -> None:
    with pytest.raises(ValueError, match="fuseau"):
        assess(with_({}), datetime(2024, 8, 1), rules_of(plan()))


# -- the window, in UTC and in Paris time ------------------------------------------------------------
SUMMER_OFFSETS = [timezone(timedelta(hours=2)), UTC, timezone(timedelta(hours=-5))]


def test_window_limits_in_utc_and_paris() -> None:
    p = plan()
    assert p.opens_at == datetime(2024, 7, 9, 22, 0, tzinfo=UTC)  # 10 July 00:00 CEST
    assert p.deadline_at == datetime(2024, 9, 8, 22, 0, tzinfo=UTC)  # end of 8 September, CEST
    assert p.opens_at.astimezone(PARIS).replace(tzinfo=None) == datetime(2024, 7, 10)
    assert p.deadline_at.astimezone(PARIS).replace(tzinfo=None) == datetime(2024, 9, 9)
    assert p.deadline_at.astimezone(PARIS).utcoffset() == timedelta(hours=2)


@pytest.mark.parametrize("offset", SUMMER_OFFSETS, ids=["+02:00", "Z", "-05:00"])
@pytest.mark.parametrize(
    ("paris_wall", "expected"),
    [
        (datetime(2024, 9, 8, 23, 30), []),
        (datetime(2024, 9, 8, 23, 59, 59, 999999), []),
        (datetime(2024, 9, 9, 0, 0), ["after_deadline"]),
        (datetime(2024, 9, 9, 0, 30), ["after_deadline"]),
        (datetime(2024, 7, 9, 23, 30), ["before_opening"]),
        (datetime(2024, 7, 10, 0, 0), []),
        (datetime(2024, 7, 10, 0, 30), []),
    ],
)
def test_window_whatever_the_offset(offset: timezone, paris_wall: datetime, expected: list[str]) -> None:
    instant = paris_wall.replace(tzinfo=PARIS).astimezone(offset)  # the same instant, written another way
    assert codes(with_({}), instant) == expected


def winter_plan() -> CampaignPlan:
    """The 2024 campaign moved to a December deadline (CET, UTC+01:00)."""
    campaign = load_campaign("ami-2024")
    raw = campaign.model_dump()
    raw["calendar"].update(opening=date(2024, 11, 4), deadline=date(2024, 12, 8), response=date(2024, 12, 15))
    months = ["2025-01", "2025-02", "2025-03", "2025-04", "2025-05", "2025-06"]
    for session, month in zip(raw["sessions"], months, strict=True):
        session["month"] = month
    return CampaignFile.model_validate(raw).plan()


@pytest.mark.parametrize("offset", [timezone(timedelta(hours=1)), UTC, timezone(timedelta(hours=-5))], ids=["+01:00", "Z", "-05:00"])
@pytest.mark.parametrize(
    ("paris_wall", "expected"),
    [
        (datetime(2024, 12, 8, 23, 30), []),
        (datetime(2024, 12, 9, 0, 30), ["after_deadline"]),
        (datetime(2024, 11, 3, 23, 30), ["before_opening"]),
        (datetime(2024, 11, 4, 0, 30), []),
    ],
)
def test_winter_time_window(offset: timezone, paris_wall: datetime, expected: list[str]) -> None:
    p = winter_plan()
    assert p.deadline_at == datetime(2024, 12, 8, 23, 0, tzinfo=UTC)  # CET: one hour, not two
    assert p.opens_at == datetime(2024, 11, 3, 23, 0, tzinfo=UTC)
    instant = paris_wall.replace(tzinfo=PARIS).astimezone(offset)
    assert [r.code for r in assess(with_({}), instant, rules_of(p)).reasons] == expected


def test_winter_message_shows_the_winter_offset() -> None:
    p = winter_plan()
    verdict = assess(with_({}), datetime(2024, 12, 9, 0, 30, tzinfo=PARIS), rules_of(p))
    assert "09/12/2024 à 00:30 (heure de Paris, UTC+01:00)" in verdict.reasons[0].message


def test_an_example_is_not_modified_by_assess() -> None:
    form = with_({})
    before = copy.deepcopy(form.model_dump())
    assess(form, IN_WINDOW, rules_of(plan()))
    assert form.model_dump() == before
