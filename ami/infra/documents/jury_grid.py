"""The jury's grid: one row per eligible candidature with every answer, then a column per criterion.

Answers come from applicants, so nothing they wrote may become a spreadsheet formula: the XLSX
stores every answer as a string cell, and the CSV prefixes an apostrophe to a cell that Excel would
otherwise evaluate (« =… », « +… », « -… », « @… »), as OWASP advises against CSV injection.
"""

from __future__ import annotations

import csv
import io
import re
from collections.abc import Sequence
from zoneinfo import ZoneInfo

from openpyxl import Workbook
from openpyxl.styles import Alignment, Font, PatternFill
from openpyxl.utils import get_column_letter
from openpyxl.worksheet.datavalidation import DataValidation

from ami.infra.documents.branding import AUTHOR
from ami.models.documents import JuryGridRow

SCORE_MAX = 5  # each criterion is scored from 0 to 5, as the jury's portal and `ami jury score` accept

# (JuryGridRow attribute, column heading, width in characters)
COLUMNS: tuple[tuple[str, str, int], ...] = (
    ("receipt_number", "N° de dépôt", 14),
    ("collectivite_name", "Collectivité", 28),
    ("siren_or_insee", "SIREN ou code INSEE", 13),
    ("departement", "Département", 14),
    ("kind_label", "Nature", 18),
    ("received_at", "Reçue le", 17),
    ("motivations", "Motivations", 60),
    ("actions", "Actions réalisées ou prévues", 50),
    ("work_tracks", "Pistes de travail envisagées", 50),
    ("needs", "Principaux besoins identifiés", 50),
    ("platforms_place", "Place des plateformes dans le projet politique", 50),
    ("objective", "Objectif recherché", 45),
    ("contribution", "Ce que la collectivité pense apporter", 45),
)
COMMENT = "Commentaire"
_FORMULA_START = ("=", "+", "-", "@", "\t", "\r")
# Control characters (but tab and line breaks) and lone surrogates: a store written before they were
# refused must not make the whole export fail (openpyxl refuses them, UTF-8 cannot encode them).
_UNWRITABLE = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f\ud800-\udfff]")


def clean(text: str) -> str:
    """A cell as a spreadsheet can hold it: each unwritable character becomes U+FFFD."""
    return _UNWRITABLE.sub("\ufffd", text)


def headings(criteria: Sequence[tuple[str, str]]) -> list[str]:
    return [title for _, title, _ in COLUMNS] + [label for _, label in criteria] + [COMMENT]


def _cells(row: JuryGridRow, tz: ZoneInfo) -> list[str]:
    values: list[str] = []
    for key, _, _ in COLUMNS:
        if key == "received_at":
            # French order, campaign time zone: Excel in French reads it back as a date.
            values.append(row.received_at.astimezone(tz).strftime("%d/%m/%Y %H:%M"))
        else:
            value = getattr(row, key)
            values.append("" if value is None else clean(str(value)))
    return values


def jury_grid_xlsx(rows: list[JuryGridRow], criteria: list[tuple[str, str]], tz: str = "Europe/Paris") -> bytes:
    zone = ZoneInfo(tz)
    book = Workbook()
    sheet = book.active
    assert sheet is not None  # a new workbook always has one sheet
    sheet.title = "Grille du jury"
    book.properties.creator = AUTHOR
    book.properties.title = "Grille d'évaluation du jury"
    book.properties.language = "fr-FR"

    titles = headings(criteria)
    sheet.append(titles)
    bold, fill = Font(bold=True), PatternFill("solid", fgColor="E9F0F7")
    wrap = Alignment(wrap_text=True, vertical="top")
    for cell in sheet[1]:
        cell.font, cell.fill = bold, fill
        cell.alignment = Alignment(wrap_text=True, vertical="center")

    for row in rows:
        sheet.append([""] * len(titles))
        line = sheet.max_row
        for column, text in enumerate(_cells(row, zone), start=1):
            cell = sheet.cell(row=line, column=column)
            # Assigned after the fact so openpyxl cannot take « =… » for a formula.
            cell.value = text or None
            cell.data_type = "s"
            cell.alignment = wrap

    widths = [w for _, _, w in COLUMNS] + [16] * len(criteria) + [40]
    for index, width in enumerate(widths, start=1):
        sheet.column_dimensions[get_column_letter(index)].width = width
    sheet.freeze_panes = "C2"  # headings and the collectivité's name stay in view
    last = get_column_letter(len(titles))
    sheet.auto_filter.ref = f"A1:{last}{max(sheet.max_row, 2)}"

    if criteria and rows:
        first = get_column_letter(len(COLUMNS) + 1)
        final = get_column_letter(len(COLUMNS) + len(criteria))
        check = DataValidation(
            type="whole",
            operator="between",
            formula1="0",
            formula2=str(SCORE_MAX),
            showErrorMessage=True,
            errorTitle="Note invalide",
            error=f"Notez chaque critère par un entier de 0 à {SCORE_MAX}.",
        )
        check.add(f"{first}2:{final}{len(rows) + 1}")
        sheet.add_data_validation(check)

    legend = book.create_sheet("Critères")
    legend.append(["Identifiant", "Critère", "Barème"])
    for cell in legend[1]:
        cell.font = bold
    for ident, label in criteria:
        legend.append([ident, label, f"0 à {SCORE_MAX}"])
    legend.column_dimensions["A"].width, legend.column_dimensions["B"].width = 20, 80

    out = io.BytesIO()
    book.save(out)
    return out.getvalue()


def _safe(text: str) -> str:
    return "'" + text if text.startswith(_FORMULA_START) else text


def jury_grid_csv(rows: list[JuryGridRow], criteria: list[tuple[str, str]], tz: str = "Europe/Paris") -> str:
    """The same grid as CSV for French Excel: « ; » separator; encode the result with utf-8-sig."""
    zone = ZoneInfo(tz)
    out = io.StringIO()
    writer = csv.writer(out, delimiter=";", lineterminator="\r\n", quoting=csv.QUOTE_MINIMAL)
    writer.writerow(headings(criteria))
    for row in rows:
        writer.writerow([_safe(v) for v in _cells(row, zone)] + [""] * (len(criteria) + 1))
    return out.getvalue()
