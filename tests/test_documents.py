"""PDF documents: French text, typography and metadata survive; dates in French. The .docx form and
the jury grid are tested in test_documents_office.py."""

from __future__ import annotations

import io
import re
import time
from collections.abc import Callable
from datetime import date, datetime
from zoneinfo import ZoneInfo

import pytest
from pydantic import ValidationError
from pypdf import PdfReader

from ami.infra.documents.branding import AUTHOR
from ami.infra.documents.form_docx import fill_form_docx, read_form_docx
from ami.infra.documents.jury_grid import jury_grid_xlsx
from ami.infra.documents.pdf import (
    campaign_report_pdf,
    certificate_pdf,
    collectivite_report_pdf,
    decision_letter_pdf,
    summary_pdf,
)
from ami.infra.documents.typography import NBSP, NNBSP, date_fr, datetime_fr, french
from ami.models.documents import (
    CampaignReportInput,
    CertificateInput,
    CollectiviteReportInput,
    DecisionLetterInput,
    SessionAggregate,
    SessionAttended,
    SessionReportLine,
    SummaryDocInput,
)
from tests.document_fixtures import CRITERIA, french_form, jury_rows

PARIS = ZoneInfo("Europe/Paris")
A4 = (595.28, 841.89)
MONTHS = [date(2024, 10, 8), date(2024, 11, 12), date(2024, 12, 10), date(2025, 1, 14), date(2025, 2, 11), date(2025, 3, 11)]


def _summary() -> SummaryDocInput:
    return SummaryDocInput(
        receipt_number="AMI-2024-0007",
        campaign_name="AMI 2024 — plateformes numériques",
        received_at=datetime(2024, 9, 8, 12, 0, tzinfo=ZoneInfo("UTC")),
        form=french_form(),
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
        read_form_docx(fill_form_docx(french_form(), "AMI 2024"))
        jury_grid_xlsx(jury_rows() * 10, CRITERIA)
    office_rate = 20 / (time.perf_counter() - start)
    with capsys.disabled():
        print(f"\n[documents] PDF : {pdf_rate:.1f}/s ; DOCX et XLSX : {office_rate:.1f}/s")
