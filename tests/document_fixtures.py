"""Documents' inputs shared by the PDF tests and the office documents' tests: a form full of French
typography, two jury criteria, and the jury grid's rows for that form."""

from __future__ import annotations

from datetime import datetime
from zoneinfo import ZoneInfo

from ami.models.candidature import CandidatureFile
from ami.models.documents import JuryGridRow

CRITERIA = [("motivation", "Motivation et vision des plateformes"), ("binome", "Engagement du binôme élu-technicien")]


def french_form() -> CandidatureFile:
    return CandidatureFile.model_validate(
        {
            "collectivite": {
                "name": "Communauté d'agglomération d'Hénin-Carvin",
                "siren": "246200299",
                "address": "242 boulevard Albert Schweitzer, 62110 Hénin-Beaumont",
                "email": "contact@example.org",
                "phone": "+33 3 21 00 00 00",
            },
            "political_referent": {
                "name": "Françoise Lefèvre",
                "role": "Vice-présidente chargée du numérique",
                "email": "f.lefevre@example.org",
            },
            "technical_referent": {
                "name": "Jérôme Cœur",
                "role": "Chargé de mission économie sociale et solidaire",
                "email": "j.coeur@example.org",
                "phone": "03 21 00 00 01",
            },
            "contact_point": None,
            "motivations": "Notre territoire veut « faire commun » : c'est essentiel !\nDeuxième ligne ; l'œuvre "
            "commence.\n\nUn paragraphe après une ligne vide, à 14:00, voir https://example.org/a?b=1.",
            "actions": "Plateforme de réemploi lancée en 2023 ; marché de producteurs en ligne.",
            "work_tracks": "- Une coopérative de livraison\n- Un annuaire des artisans",
            "needs": "Former les agents et les élus.",
            "letter": {
                "platforms_place": "Centrale dans le projet de mandat.",
                "objective": "Passer à l'action ?",
                "contribution": "Notre expérience du réemploi.",
            },
            "partners": [{"name": "Commune de Lomme", "insee": "59355"}, {"name": "Ville de Hénin-Beaumont", "siren": "216204271"}],
            "attachments": [{"path": "pièces/délibération.pdf"}],
        }
    )


def jury_rows() -> list[JuryGridRow]:
    form = french_form()
    letter = form.letter
    assert letter is not None
    first = JuryGridRow(
        receipt_number="AMI-2024-0007",
        collectivite_name=form.collectivite.name,
        siren_or_insee="246200299",
        departement="62",
        kind_label="Communauté d'agglomération",
        received_at=datetime(2024, 9, 8, 12, 0, tzinfo=ZoneInfo("UTC")),
        motivations=form.motivations,
        actions=form.actions,
        work_tracks=form.work_tracks,
        needs=form.needs,
        platforms_place=letter.platforms_place,
        objective=letter.objective,
        contribution=letter.contribution,
    )
    second = first.model_copy(
        update={
            "receipt_number": "AMI-2024-0008",
            "collectivite_name": "Lomme",
            "siren_or_insee": "59355",
            "motivations": '=HYPERLINK("http://x")',
            "needs": None,
        }
    )
    return [first, second]
