"""The office documents: the .docx form round-trips and reads blank as empty, unreadable files give
French errors, and the jury grid holds every answer in XLSX and CSV, formulas neutralised."""

from __future__ import annotations

import csv
import io

import pytest
from docx import Document
from openpyxl import load_workbook
from pydantic import ValidationError

from ami.infra.documents.form_docx import FormReadError, blank_form_docx, fill_form_docx, read_form_docx
from ami.infra.documents.jury_grid import headings, jury_grid_csv, jury_grid_xlsx
from ami.models.candidature import CandidatureFile
from tests.document_fixtures import CRITERIA, french_form, jury_rows


# -- DOCX form ---------------------------------------------------------------------------------
def test_form_round_trip() -> None:
    form = french_form()
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
def test_jury_grid_xlsx() -> None:
    book = load_workbook(io.BytesIO(jury_grid_xlsx(jury_rows(), CRITERIA)))
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
    assert values[1][6] == french_form().motivations
    assert values[2][6] == '=HYPERLINK("http://x")' and sheet.cell(3, 7).data_type == "s"
    assert values[2][9] is None and values[1][-3:] == [None, None, None]
    assert sheet.freeze_panes == "C2" and sheet.cell(2, 7).alignment.wrap_text
    assert book["Critères"].cell(2, 1).value == "motivation"


def test_jury_grid_csv() -> None:
    text = jury_grid_csv(jury_rows(), CRITERIA)
    decoded = text.encode("utf-8-sig").decode("utf-8-sig")
    rows = list(csv.reader(io.StringIO(decoded, newline=""), delimiter=";"))
    assert rows[0] == headings(CRITERIA)
    assert len(rows) == 3 and all(len(row) == len(rows[0]) for row in rows)
    assert rows[1][1] == "Communauté d'agglomération d'Hénin-Carvin" and rows[1][6] == french_form().motivations
    assert rows[1][8] == "'- Une coopérative de livraison\n- Un annuaire des artisans"  # not a formula in Excel
    assert rows[2][6].startswith("'=")
