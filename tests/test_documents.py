"""Documents: French text, typography and metadata survive every format; the form round-trips."""

from __future__ import annotations

import csv
import io
import re
import time
from collections.abc import Callable
from datetime import date, datetime
from zoneinfo import ZoneInfo

import pytest
from docx import Document
from openpyxl import load_workbook
from pydantic import ValidationError
from pypdf import PdfReader

from ami.documents.branding import AUTHOR
from ami.documents.form_docx import FormReadError, blank_form_docx, fill_form_docx, read_form_docx
from ami.documents.jury_grid import headings, jury_grid_csv, jury_grid_xlsx
from ami.documents.pdf import (
    campaign_report_pdf,
    certificate_pdf,
    collectivite_report_pdf,
    decision_letter_pdf,
    summary_pdf,
)
from ami.documents.typography import NBSP, NNBSP, date_fr, datetime_fr, french
from models.candidature import CandidatureFile
from models.documents import (
    CampaignReportInput,
    CertificateInput,
    CollectiviteReportInput,
    DecisionLetterInput,
    JuryGridRow,
    SessionAggregate,
    SessionAttended,
    SessionReportLine,
    SummaryDocInput,
)

PARIS = ZoneInfo("Europe/Paris")
A4 = (595.28, 841.89)
MONTHS = [date(2024, 10, 8), date(2024, 11, 12), date(2024, 12, 10), date(2025, 1, 14), date(2025, 2, 11), date(2025, 3, 11)]
CRITERIA = [("motivation", "Motivation et vision des plateformes"), ("binome", "Engagement du binôme élu-technicien")]


def _form() -> CandidatureFile:
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


def _summary() -> SummaryDocInput:
    return SummaryDocInput(
        receipt_number="AMI-2024-0007",
        campaign_name="AMI 2024 — plateformes numériques",
        received_at=datetime(2024, 9, 8, 12, 0, tzinfo=ZoneInfo("UTC")),
        form=_form(),
        official_name="CA d'Hénin-Carvin",
        kind_label="Communauté d'agglomération",
        departement="Pas-de-Calais (62)",
    )


def _decision(decision: str = "selected") -> DecisionLetterInput:
    return DecisionLetterInput.model_validate(
        {
            "receipt_number": "AMI-2024-0007",
            "campaign_name": "AMI 2024",
            "decision": decision,
            "collectivite_name": "Communauté d'agglomération d'Hénin-Carvin",
            "response_date": "2024-09-15",
            "waitlist_position": 2 if decision == "waitlisted" else None,
            "confirmation_deadline": "2024-09-30" if decision == "selected" else None,
        }
    )


def _certificate() -> CertificateInput:
    return CertificateInput(
        receipt_number="AMI-2024-0007",
        campaign_name="AMI 2024",
        collectivite_name="Ville d'Amiens",
        sessions=[SessionAttended(number=i, date=d, theme=f"Séance {i} : les communs", present=i != 3) for i, d in enumerate(MONTHS, 1)],
    )


def _collectivite_report() -> CollectiviteReportInput:
    return CollectiviteReportInput(
        receipt_number="AMI-2024-0007",
        campaign_name="AMI 2024",
        collectivite_name="Ville d'Amiens",
        sessions=[
            SessionReportLine(
                number=i,
                date=d,
                theme=f"Thème {i}",
                elected_present=i != 2,
                technician_present=True,
                others=i % 3,
                satisfaction=4 if i != 5 else None,
                feedback="Très riche ! Merci." if i % 2 else None,
            )
            for i, d in enumerate(MONTHS, 1)
        ],
        experiment="Déployer une plateforme de réemploi à l'échelle de l'agglomération.",
    )


def _campaign_report() -> CampaignReportInput:
    return CampaignReportInput(
        campaign_name="AMI 2024",
        region_name="Hauts-de-France",
        counts={
            "received": 23,
            "eligible": 18,
            "selected": 10,
            "waitlisted": 3,
            "not_selected": 5,
            "enrolled": 10,
            "capitalised": 9,
            "closed": 14,
        },
        sessions=[
            SessionAggregate(
                number=i, date=d, theme=f"Séance {i}", invited=10, present=10 - i % 3, binome_complete=8 - i % 4, mean_satisfaction=4.25
            )
            for i, d in enumerate(MONTHS, 1)
        ],
        quotes=["On a enfin compris ce qu'est un commun !", "Très utile : à refaire."],
    )


def _text(pdf: bytes) -> str:
    """The text layer as one line, with the runs of spaces that justified lines produce collapsed.

    In PDFs every no-break space is the narrow one (U+202F): fpdf2 writes U+00A0 as a plain space.
    """
    text = "\n".join(page.extract_text() for page in PdfReader(io.BytesIO(pdf)).pages)
    return re.sub("[ \n]+", " ", text)


def _all_pdfs() -> dict[str, Callable[[], bytes]]:
    return {
        "summary": lambda: summary_pdf(_summary()),
        "selected": lambda: decision_letter_pdf(_decision("selected")),
        "waitlisted": lambda: decision_letter_pdf(_decision("waitlisted")),
        "not_selected": lambda: decision_letter_pdf(_decision("not_selected")),
        "certificate": lambda: certificate_pdf(_certificate()),
        "collectivite_report": lambda: collectivite_report_pdf(_collectivite_report()),
        "campaign_report": lambda: campaign_report_pdf(_campaign_report()),
    }


# -- typography --------------------------------------------------------------------------------
def test_french_spaces() -> None:
    assert french("Objet : test") == f"Objet{NBSP}: test"
    assert french("Attention!") == f"Attention{NNBSP}!"
    assert french("Vraiment ?!") == f"Vraiment{NNBSP}?!"
    assert french("x ; y") == f"x{NNBSP}; y"
    assert french("«bonjour»") == f"«{NBSP}bonjour{NBSP}»"
    assert french("« Vraiment? »") == f"«{NBSP}Vraiment{NNBSP}?{NBSP}»"


def test_french_leaves_urls_times_and_entities() -> None:
    assert french("à 14:00 précises") == "à 14:00 précises"
    assert french("https://ex.org/a?b=1;c=2") == "https://ex.org/a?b=1;c=2"
    assert french("voir https://ex.org/p ! ") == f"voir https://ex.org/p{NNBSP}! "
    assert french("mailto:a@b.fr") == "mailto:a@b.fr"
    assert french("&amp; et") == "&amp; et"
    text = "Objet : « test » ; fin ! https://x.fr?q=1"
    assert french(french(text)) == french(text)


def test_dates() -> None:
    assert date_fr(date(2024, 9, 8)) == "8 septembre 2024"
    assert date_fr(date(2024, 10, 1)) == "1er octobre 2024"
    assert datetime_fr(datetime(2024, 9, 8, 12, 0, tzinfo=ZoneInfo("UTC")), PARIS) == "8 septembre 2024 à 14 h 00"
    assert datetime_fr(datetime(2024, 12, 10, 8, 5, tzinfo=ZoneInfo("UTC")), PARIS) == "10 décembre 2024 à 9 h 05"
    with pytest.raises(ValueError, match="fuseau"):
        datetime_fr(datetime(2024, 9, 8, 12, 0), PARIS)


# -- PDFs --------------------------------------------------------------------------------------
@pytest.mark.parametrize("name", list(_all_pdfs()))
def test_pdf_is_a4_with_metadata_and_french_text(name: str) -> None:
    pdf = _all_pdfs()[name]()
    reader = PdfReader(io.BytesIO(pdf))
    assert reader.metadata is not None
    assert reader.metadata.author == AUTHOR
    assert reader.metadata.title
    assert reader.metadata.subject
    for page in reader.pages:
        assert (float(page.mediabox.width), float(page.mediabox.height)) == pytest.approx(A4, abs=0.1)
    text = _text(pdf)
    assert "Apes Hauts-de-France" in text
    assert f"{NNBSP}:" in text  # French spacing reached the text layer
    assert pdf == _all_pdfs()[name](), "same input, same bytes (a retried activity sends the same file)"


def test_summary_pdf_content() -> None:
    text = _text(summary_pdf(_summary()))
    for expected in [
        "Récapitulatif de candidature",
        "AMI-2024-0007",
        "8 septembre 2024 à 14 h 00",
        "Hénin-Carvin",
        "Françoise Lefèvre",
        "Jérôme Cœur",
        "Lomme",
        "délibération.pdf",
        f"«{NNBSP}faire commun{NNBSP}»{NNBSP}: c'est essentiel{NNBSP}!",
        "l'œuvre",
        "Les référents ci-dessus",
    ]:
        assert expected in text, expected
    assert "https://example.org/a?b=1" in text and "14:00" in text
    metadata = PdfReader(io.BytesIO(summary_pdf(_summary()))).metadata
    assert metadata is not None and str(metadata.title).startswith("Récapitulatif de candidature n°")


def test_decision_letters() -> None:
    selected = _text(decision_letter_pdf(_decision("selected")))
    assert "Le 15 septembre 2024" in selected and "avant le 30 septembre 2024" in selected
    assert f"Objet{NNBSP}:" in selected and "binôme" in selected and f"«{NNBSP}Vers des plateformes" in selected
    assert "au rang 2" in _text(decision_letter_pdf(_decision("waitlisted")))
    assert "n'a pas été retenue" in _text(decision_letter_pdf(_decision("not_selected")))
    with pytest.raises(ValidationError):
        DecisionLetterInput.model_validate({**_decision("selected").model_dump(), "decision": "waitlisted"})


def test_certificate_and_reports() -> None:
    certificate = _text(certificate_pdf(_certificate()))
    assert "Attestation de participation" in certificate and f"5 séances sur 6{NNBSP}:" in certificate
    assert "absente" in certificate and "8 octobre 2024" in certificate
    report = _text(collectivite_report_pdf(_collectivite_report()))
    assert "complet à 5 séances sur 6" in report and f"83{NNBSP}%" in report
    assert "4,0 / 5" in report and f"Très riche{NNBSP}! Merci." in report and "réemploi" in report
    campaign = _text(campaign_report_pdf(_campaign_report()))
    for expected in [
        "Candidatures reçues",
        "23",
        "Région Hauts-de-France",
        "Binôme complet",
        "4,3 / 5",
        "janv. 2025",
        f"«{NNBSP}On a enfin compris ce qu'est un commun{NNBSP}!{NNBSP}»",
    ]:
        assert expected in campaign, expected


def test_pdf_falls_back_to_full_font_for_other_scripts() -> None:
    data = _certificate().model_copy(update={"collectivite_name": "Ville d'Amiens — Αθήνα — Киев"})
    assert "Αθήνα — Киев" in _text(certificate_pdf(data))


# -- DOCX form ---------------------------------------------------------------------------------
def test_form_round_trip() -> None:
    form = _form()
    raw = read_form_docx(fill_form_docx(form, "AMI 2024"))
    assert CandidatureFile.model_validate(raw) == form


def test_blank_form_has_every_question_and_reads_as_empty() -> None:
    data = blank_form_docx("AMI 2024")
    text = "\n".join(cell.text for table in Document(io.BytesIO(data)).tables for row in table.rows for cell in row.cells)
    for label in [
        "Nom de la collectivité",
        "SIREN",
        "Code INSEE",
        "Référent politique",
        "Référent technique",
        "Point contact",
        "Qualité",
        "Motivations de la collectivité",
        "Actions déjà réalisées",
        "Pistes de travail",
        "Principaux besoins",
        "aux plateformes dans",
        "Quel objectif",
        "apporter",
        "partenaires",
    ]:
        assert label in text, label
    raw = read_form_docx(data)
    assert raw["political_referent"] is None and raw["motivations"] is None and raw["partners"] == []
    with pytest.raises(ValidationError):
        CandidatureFile.model_validate(raw)


def test_unreadable_files_raise_french_errors() -> None:
    with pytest.raises(FormReadError, match="n'est pas un document Word"):
        read_form_docx(b"ceci n'est pas un docx")
    with pytest.raises(FormReadError, match="Word 97-2003"):
        read_form_docx(b"\xd0\xcf\x11\xe0" + b"\0" * 100)
    other = io.BytesIO()
    Document().save(other)
    with pytest.raises(FormReadError, match="introuvable.*Référent politique"):
        read_form_docx(other.getvalue())


# -- jury grid ---------------------------------------------------------------------------------
def _rows() -> list[JuryGridRow]:
    form = _form()
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


def test_jury_grid_xlsx() -> None:
    book = load_workbook(io.BytesIO(jury_grid_xlsx(_rows(), CRITERIA)))
    sheet = book["Grille du jury"]
    values = [[cell.value for cell in row] for row in sheet.iter_rows()]
    assert values[0] == headings(CRITERIA)
    assert values[0][-3:] == ["Motivation et vision des plateformes", "Engagement du binôme élu-technicien", "Commentaire"]
    assert len(values) == 3
    assert values[1][:6] == [
        "AMI-2024-0007",
        "Communauté d'agglomération d'Hénin-Carvin",
        "246200299",
        "62",
        "Communauté d'agglomération",
        "08/09/2024 14:00",
    ]
    assert values[1][6] == _form().motivations
    assert values[2][6] == '=HYPERLINK("http://x")' and sheet.cell(3, 7).data_type == "s"
    assert values[2][9] is None and values[1][-3:] == [None, None, None]
    assert sheet.freeze_panes == "C2" and sheet.cell(2, 7).alignment.wrap_text
    assert book["Critères"].cell(2, 1).value == "motivation"


def test_jury_grid_csv() -> None:
    text = jury_grid_csv(_rows(), CRITERIA)
    decoded = text.encode("utf-8-sig").decode("utf-8-sig")
    rows = list(csv.reader(io.StringIO(decoded, newline=""), delimiter=";"))
    assert rows[0] == headings(CRITERIA)
    assert len(rows) == 3 and all(len(row) == len(rows[0]) for row in rows)
    assert rows[1][1] == "Communauté d'agglomération d'Hénin-Carvin" and rows[1][6] == _form().motivations
    assert rows[1][8] == "'- Une coopérative de livraison\n- Un annuaire des artisans"  # not a formula in Excel
    assert rows[2][6].startswith("'=")


# -- speed (informative) -----------------------------------------------------------------------
def test_documents_per_second(capsys: pytest.CaptureFixture[str]) -> None:
    makers = list(_all_pdfs().values())
    start = time.perf_counter()
    count = 0
    while time.perf_counter() - start < 2 or count < len(makers):
        makers[count % len(makers)]()
        count += 1
    pdf_rate = count / (time.perf_counter() - start)
    start = time.perf_counter()
    for _ in range(10):
        read_form_docx(fill_form_docx(_form(), "AMI 2024"))
        jury_grid_xlsx(_rows() * 10, CRITERIA)
    office_rate = 20 / (time.perf_counter() - start)
    with capsys.disabled():
        print(f"\n[documents] PDF : {pdf_rate:.1f}/s ; DOCX et XLSX : {office_rate:.1f}/s")
