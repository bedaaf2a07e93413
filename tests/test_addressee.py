"""Letters in the form French administrations expect: the addressee's title and postal
address, the full official name, the signatory from the campaign file."""

from __future__ import annotations

import datetime as dt
import io

import pytest
from pypdf import PdfReader

from ami.infra.documents.addressee import address_lines, addressing, designation, full_name, of_collectivite
from ami.infra.documents.pdf import certificate_pdf, decision_letter_pdf
from ami.models.campaign import load_campaign
from ami.models.campaign_plan import Signatory
from ami.models.candidature import Person
from ami.models.documents import Addressee, CertificateInput, DecisionLetterInput, SessionAttended


def text_of(pdf: bytes) -> str:
    # The PDFs write no-break spaces as narrow ones; compare on ordinary spaces.
    raw = "\n".join(page.extract_text() or "" for page in PdfReader(io.BytesIO(pdf)).pages)
    return raw.replace("\u202f", " ").replace("\u00a0", " ")


def test_the_register_abbreviations_are_written_out() -> None:
    assert full_name("CA du Beauvaisis", "CA") == "Communauté d'agglomération du Beauvaisis"
    assert full_name("CU d'Arras", "CU") == "Communauté urbaine d'Arras"
    assert full_name("CC Pévèle-Carembault", "CC") == "Communauté de communes Pévèle-Carembault"
    assert full_name("Métropole Européenne de Lille", "METRO") == "Métropole Européenne de Lille"
    assert full_name("CAlais", "commune") == "CAlais"  # only the register's own prefix, only for its kind
    assert of_collectivite("Abbeville", "commune") == "d'Abbeville"
    assert of_collectivite("Le Touquet-Paris-Plage", "commune") == "du Touquet-Paris-Plage"
    assert of_collectivite("Communauté urbaine d'Arras", "CU") == "de la Communauté urbaine d'Arras"
    assert designation("Laon", "commune") == "la commune de Laon"
    assert designation("Lomme", "commune_associee") == "la commune associée de Lomme"
    assert designation("CU d'Arras", "CU") == "la Communauté urbaine d'Arras"


def test_an_address_on_one_line_becomes_the_lines_of_a_block() -> None:
    assert address_lines("Hôtel de l'agglomération, 48, rue Desgroux, 60000 Beauvais") == [
        "Hôtel de l'agglomération",
        "48, rue Desgroux",
        "60000 Beauvais",
    ]
    assert address_lines(None) == [] and address_lines(" , ") == []


@pytest.mark.parametrize(
    ("kind", "name", "role", "civility", "first_line", "salutation"),
    [
        (
            "CA",
            "Élodie Brasseur",
            "Présidente",
            None,
            "Madame la Présidente de la Communauté d'agglomération du Beauvaisis",
            "Madame la Présidente,",
        ),
        ("commune", "Bertrand Delcroix", "Maire", "Monsieur", "Monsieur le Maire de Beauvais", "Monsieur le Maire,"),
        ("CA", "Sophie Lambert", "Vice-présidente chargée du numérique", None, "Madame Sophie Lambert", "Madame la Vice-présidente,"),
        # The civility given wins over the form the role was written in.
        ("CA", "Agnès Wattez", "Vice-président au développement", "Madame", "Madame Agnès Wattez", "Madame la Vice-présidente,"),
        ("commune", "Jean Morel", "Adjoint au maire chargé des finances", None, "Monsieur Jean Morel", "Monsieur l'Adjoint au Maire,"),
        ("commune", "Ada Roux", "Conseillère municipale déléguée", None, "Madame Ada Roux", "Madame la Conseillère municipale déléguée,"),
        # « Maire » says nothing of the person: without a civility, no guess (never from a first name).
        ("commune", "Camille Petit", "Maire", None, "Camille Petit", "Madame, Monsieur,"),
        ("commune", "Camille Petit", "Chargée de mission", "Madame", "Madame Camille Petit", "Madame,"),
    ],
)
def test_block_and_salutation(kind: str, name: str, role: str, civility: str | None, first_line: str, salutation: str) -> None:
    collectivite = "CA du Beauvaisis" if kind == "CA" else "Beauvais"
    result = addressing(
        collectivite=collectivite,
        kind=kind,
        address="Hôtel de ville, 60000 Beauvais",
        name=name,
        role=role,
        civility=civility,  # type: ignore[arg-type]
    )
    assert result.block[0] == first_line
    assert result.salutation == salutation
    assert result.block[-2:] == ["Hôtel de ville", "60000 Beauvais"]
    if not first_line.startswith(("Madame la", "Monsieur le")):
        assert role in result.block and ("Mairie de Beauvais" in result.block or full_name(collectivite, kind) in result.block)


def test_a_form_may_give_a_civility_in_usual_spellings() -> None:
    assert Person.model_validate({"civility": "Mme", "name": "A"}).civility == "Madame"
    assert Person.model_validate({"civility": "m.", "name": "A"}).civility == "Monsieur"
    assert Person.model_validate({"civility": " ", "name": "A"}).civility is None
    with pytest.raises(ValueError, match="civility"):
        Person.model_validate({"civility": "Docteur", "name": "A"})


SIGNATORY = Signatory(name="Claire Duval", role="Coordinatrice du cycle de qualification")


def letter(**changes: object) -> DecisionLetterInput:
    base = DecisionLetterInput(
        receipt_number="AMI-2024-0008",
        campaign_name="AMI 2024 — Vers des plateformes de l'économie solidaire",
        collectivite_name="CA du Beauvaisis",
        collectivite_kind="CA",
        addressee=Addressee(civility="Madame", name="Élodie Brasseur", role="Présidente", address="48 rue Desgroux, 60000 Beauvais"),
        signatory=SIGNATORY,
        decision="selected",
        response_date=dt.date(2024, 9, 15),
        confirmation_deadline=dt.date(2024, 9, 25),
    )
    return DecisionLetterInput.model_validate({**base.model_dump(), **changes})  # validated: a decision string becomes its enum


def test_every_letter_carries_title_address_and_signatory() -> None:
    for decision, extra in (("selected", {}), ("waitlisted", {"waitlist_position": 2}), ("not_selected", {})):
        text = text_of(decision_letter_pdf(letter(decision=decision, **extra)))
        flat = " ".join(text.split())
        assert "Madame la Présidente de la Communauté d'agglomération du Beauvaisis" in flat
        assert "48 rue Desgroux" in text and "60000 Beauvais" in text
        assert "Madame la Présidente," in flat and "Nous vous prions d'agréer, Madame la Présidente" in flat
        assert "Claire Duval" in text and "Coordinatrice du cycle de qualification" in text
        assert "la candidature de la Communauté d'agglomération du Beauvaisis" in flat
        assert "CA du Beauvaisis" not in flat
        assert "Madame, Monsieur" not in flat


def test_a_letter_without_the_new_fields_still_renders() -> None:
    text = " ".join(text_of(decision_letter_pdf(letter(addressee=None, signatory=None, collectivite_kind=None))).split())
    assert "Madame, Monsieur," in text and "L'équipe de l'Apes Hauts-de-France" in text


def test_the_certificate_names_the_collectivite_in_full_and_is_signed() -> None:
    data = CertificateInput(
        receipt_number="AMI-2024-0008",
        campaign_name="AMI 2024",
        collectivite_name="CU d'Arras",
        collectivite_kind="CU",
        signatory=SIGNATORY,
        sessions=[SessionAttended(number=1, date=dt.date(2024, 10, 15), theme="Thème", present=True)],
    )
    text = " ".join(text_of(certificate_pdf(data)).split())
    assert (
        "atteste que la Communauté urbaine d'Arras a participé" in text and "Claire Duval" in text and "Pour l'Apes Hauts-de-France" in text
    )


def test_the_shipped_campaign_names_its_signatory() -> None:
    plan = load_campaign("ami-2024").plan()
    assert plan.signatory is not None and plan.signatory.name and plan.signatory.role


def test_a_demo_document_is_marked() -> None:
    assert "démonstration" in text_of(decision_letter_pdf(letter(), demo=True))
    assert "démonstration" not in text_of(decision_letter_pdf(letter()))
