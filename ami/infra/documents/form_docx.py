"""The Apes's candidature form for the 2024 call as a DOCX (blank or filled), and its reader.

Every section is a table whose first row is the section's title and whose other rows are
« label | answer ». The reader finds sections and rows by those labels (compared without spaces,
case or typographic variants), not by position, so a collectivité that adds a paragraph, or Word
that re-saves the file, does not break the import. Multi-line answers are one paragraph per line.
"""

from __future__ import annotations

import io
import unicodedata
import zipfile
from collections.abc import Sequence

from docx import Document
from docx.document import Document as DocxDocument
from docx.enum.table import WD_TABLE_ALIGNMENT
from docx.oxml import OxmlElement
from docx.oxml.ns import qn
from docx.shared import Cm, Pt, RGBColor
from docx.table import Table, _Cell, _Row

from ami.infra.documents.branding import AUTHOR
from ami.infra.documents.form_labels import (
    ATTACHMENTS_SECTION,
    COLLECTIVITE_ROWS,
    COLLECTIVITE_SECTION,
    FORM_TITLE,
    LETTER_INTRO,
    LETTER_QUESTIONS,
    PARTNER_COLUMNS,
    PARTNERS_SECTION,
    PERSON_ROWS,
    PERSON_SECTIONS,
    QUESTIONS,
    REFERENTS_INTRO,
)
from ami.infra.documents.typography import french
from ami.models.candidature import CandidatureFile, Person

KEYWORD = "ami-formulaire-candidature"
_ACCENT = RGBColor(0x1F, 0x4E, 0x79)
_SHADE = "E9F0F7"
_BLANK_ROWS = 3  # empty rows offered in the partners and attachments tables


class FormReadError(ValueError):
    """The file is not a readable candidature form; the message (French) says why."""


# -- writing ---------------------------------------------------------------------------------
def _shade(cell: _Cell) -> None:
    properties = cell._tc.get_or_add_tcPr()
    shading = OxmlElement("w:shd")
    shading.set(qn("w:val"), "clear")
    shading.set(qn("w:fill"), _SHADE)
    properties.append(shading)


def _write(cell: _Cell, text: str | None, *, bold: bool = False) -> None:
    """Fill a cell, one paragraph per line, so Word users see ordinary paragraphs."""
    lines = (text or "").split("\n")
    paragraph = cell.paragraphs[0]
    for index, line in enumerate(lines):
        if index:
            paragraph = cell.add_paragraph()
        run = paragraph.add_run(line)
        run.bold = bold


def _add_row(table: Table) -> _Row:
    # python-docx leaves Table.add_row unannotated.
    row: _Row = table.add_row()  # type: ignore[no-untyped-call]
    return row


def _table(doc: DocxDocument, title: str, columns: int) -> Table:
    table: Table = doc.add_table(rows=1, cols=columns)
    table.style = "Table Grid"
    table.alignment = WD_TABLE_ALIGNMENT.CENTER
    head = table.rows[0].cells
    cell = head[0].merge(head[-1]) if columns > 1 else head[0]
    _write(cell, french(title), bold=True)
    _shade(cell)
    return table


def _labelled(doc: DocxDocument, title: str, rows: Sequence[tuple[str, str | None]]) -> None:
    table = _table(doc, title, 2)
    for label, value in rows:
        cells = _add_row(table).cells
        _write(cells[0], label, bold=True)
        _write(cells[1], value)
        cells[0].width, cells[1].width = Cm(5.5), Cm(11)
    doc.add_paragraph()


def _question(doc: DocxDocument, question: str, answer: str | None) -> None:
    table = _table(doc, question, 1)
    _write(_add_row(table).cells[0], answer)
    table.rows[1].height = Cm(4 if answer is None else 0.8)
    doc.add_paragraph()


def _person_rows(person: Person | None) -> list[tuple[str, str | None]]:
    return [(label, getattr(person, key) if person else None) for key, label in PERSON_ROWS]


def _build(form: CandidatureFile | None, campaign_name: str, notice: Sequence[str] = ()) -> bytes:
    doc = Document()
    normal = doc.styles["Normal"]
    normal.font.name = "Calibri"
    normal.font.size = Pt(10.5)
    props = doc.core_properties
    props.title, props.author, props.subject, props.keywords = FORM_TITLE, AUTHOR, campaign_name, KEYWORD
    props.language = "fr-FR"

    heading = doc.add_heading(french(FORM_TITLE), level=1)
    for run in heading.runs:
        run.font.color.rgb = _ACCENT
    doc.add_paragraph(french(campaign_name))
    doc.add_paragraph(
        french(
            "Complétez ce formulaire dans les cases prévues, sans modifier les intitulés : il est lu "
            "automatiquement. Une case peut contenir plusieurs paragraphes."
        )
    )

    c = form.collectivite if form else None
    _labelled(doc, COLLECTIVITE_SECTION, [(label, getattr(c, key) if c else None) for key, label in COLLECTIVITE_ROWS])
    doc.add_paragraph(french(REFERENTS_INTRO + " :"))
    for key, title in PERSON_SECTIONS:
        _labelled(doc, title, _person_rows(getattr(form, key) if form else None))
    for key, question in QUESTIONS:
        _question(doc, question, getattr(form, key) if form else None)
    doc.add_paragraph(french(LETTER_INTRO))
    letter = form.letter if form else None
    for key, question in LETTER_QUESTIONS:
        _question(doc, question, getattr(letter, key) if letter else None)

    partners = _table(doc, PARTNERS_SECTION, len(PARTNER_COLUMNS))
    for cell, (_, label) in zip(_add_row(partners).cells, PARTNER_COLUMNS, strict=True):
        _write(cell, label, bold=True)
    for partner in form.partners if form else []:
        for cell, (key, _) in zip(_add_row(partners).cells, PARTNER_COLUMNS, strict=True):
            _write(cell, getattr(partner, key))
    for _ in range(_BLANK_ROWS if not (form and form.partners) else 0):
        _add_row(partners)
    doc.add_paragraph()

    attachments = _table(doc, ATTACHMENTS_SECTION, 1)
    for attachment in form.attachments if form else []:
        _write(_add_row(attachments).cells[0], attachment.path)
    for _ in range(_BLANK_ROWS if not (form and form.attachments) else 0):
        _add_row(attachments)
    doc.add_paragraph(
        french(
            "N'hésitez pas à nous transmettre éventuellement des documents complémentaires que vous "
            "jugerez utiles pour l'étude de votre candidature. Formulaire à renvoyer complété à l'Apes, "
            "en version électronique (.docx et PDF)."
        )
    )
    if notice:
        # The privacy notice (RGPD art. 13): paragraphs, not a table, so the reader never mistakes it for a section.
        notice_title = doc.add_paragraph()
        notice_title.add_run(french("Vos données personnelles")).bold = True
        for text in notice:
            paragraph = doc.add_paragraph()
            paragraph.add_run(french(text)).font.size = Pt(8.5)

    out = io.BytesIO()
    doc.save(out)
    return out.getvalue()


def blank_form_docx(campaign_name: str, notice: Sequence[str] = ()) -> bytes:
    """The empty form the Apes sends with the call, ending with the campaign's privacy notice."""
    return _build(None, campaign_name, notice)


def fill_form_docx(form: CandidatureFile, campaign_name: str, notice: Sequence[str] = ()) -> bytes:
    """The same form with a candidature's answers (round-trip tests, demos)."""
    return _build(form, campaign_name, notice)


# -- reading ---------------------------------------------------------------------------------
def _key(label: str) -> str:
    """Compare labels without spaces of any kind, case, apostrophe or ellipsis variants, or a final colon."""
    text = unicodedata.normalize("NFC", label).casefold().replace("’", "'").replace("...", "…")
    return "".join(ch for ch in text if not ch.isspace()).rstrip(":")


def _value(cell: _Cell) -> str | None:
    text = "\n".join(p.text for p in cell.paragraphs).strip()
    return text or None


_NOT_DOCX = "Ce fichier n'est pas un document Word (.docx) lisible."
# A filled form is a few hundred kB once uncompressed; images pasted in it do not compress. Above
# these, the archive is refused before anything is inflated (a zip bomb of 83 kB used 830 MB).
MAX_UNCOMPRESSED_BYTES = 10 * 1024 * 1024
MAX_ENTRIES = 1000


def _check_archive(data: bytes) -> None:
    """Refuse an archive whose declared content is too large, before python-docx inflates it.

    zipfile never returns more than the size an entry declares (and checks its CRC), so the
    declared sizes are a real bound on what is read.
    """
    try:
        with zipfile.ZipFile(io.BytesIO(data)) as archive:
            entries = archive.infolist()
    except (zipfile.BadZipFile, zipfile.LargeZipFile, ValueError, EOFError, OSError) as error:
        raise FormReadError(f"{_NOT_DOCX} ({type(error).__name__})") from None
    if len(entries) > MAX_ENTRIES:
        raise FormReadError(
            french(f"Ce document contient trop d'éléments ({len(entries)}, {MAX_ENTRIES} au plus) : ce n'est pas un formulaire.")
        )
    total = sum(entry.file_size for entry in entries)
    if total > MAX_UNCOMPRESSED_BYTES:
        raise FormReadError(
            french(f"Ce document décompressé ferait {total} octets ({MAX_UNCOMPRESSED_BYTES} au plus) : ce n'est pas un formulaire.")
        )


def _open(data: bytes) -> DocxDocument:
    if data.startswith(b"\xd0\xcf\x11\xe0"):  # OLE2: Word 97-2003
        raise FormReadError(
            french("Ce fichier est au format Word 97-2003 (.doc) : enregistrez-le au format .docx, puis envoyez-le de nouveau.")
        )
    if data.startswith(b"%PDF"):
        raise FormReadError(french("Ce fichier est un PDF : seul le formulaire au format Word (.docx) peut être importé."))
    if not zipfile.is_zipfile(io.BytesIO(data)):
        raise FormReadError(_NOT_DOCX)
    _check_archive(data)
    try:
        return Document(io.BytesIO(data))
    except Exception as error:  # python-docx raises several unrelated types for a broken package
        raise FormReadError(f"{_NOT_DOCX} ({type(error).__name__})") from error


def _sections(doc: DocxDocument) -> dict[str, Table]:
    found: dict[str, Table] = {}
    for table in doc.tables:
        if table.rows:
            found.setdefault(_key(table.cell(0, 0).text), table)
    return found


def _rows(table: Table) -> dict[str, str | None]:
    values: dict[str, str | None] = {}
    for row in table.rows[1:]:
        cells = row.cells
        if len(cells) >= 2:
            values[_key(cells[0].text)] = _value(cells[-1])
    return values


def _fields(table: Table, labels: Sequence[tuple[str, str]]) -> dict[str, str | None]:
    rows = _rows(table)
    return {key: rows.get(_key(label)) for key, label in labels}


def read_form_docx(data: bytes) -> dict[str, object]:
    """The raw candidature (the keys of `CandidatureFile`) from a filled form; the caller validates it.

    Raises FormReadError, and nothing else: a mutated archive may break python-docx anywhere.
    """
    try:
        return _read(data)
    except FormReadError:
        raise
    except Exception as error:
        raise FormReadError(f"{_NOT_DOCX} ({type(error).__name__})") from None


def _read(data: bytes) -> dict[str, object]:
    sections = _sections(_open(data))
    required = [COLLECTIVITE_SECTION, *(t for _, t in PERSON_SECTIONS), *(q for _, q in QUESTIONS), *(q for _, q in LETTER_QUESTIONS)]
    missing = [title for title in required if _key(title) not in sections]
    if missing:
        names = " ; ".join(f"« {title} »" for title in missing)
        plural = "s" if len(missing) > 1 else ""
        raise FormReadError(
            french(f"Ce document n'est pas le formulaire de candidature attendu : section{plural} introuvable{plural} : {names}.")
        )

    def section(title: str) -> Table:
        return sections[_key(title)]

    def answer(title: str) -> str | None:
        table = section(title)
        return "\n".join(v for row in table.rows[1:] if (v := _value(row.cells[0]))) or None

    result: dict[str, object] = {"collectivite": _fields(section(COLLECTIVITE_SECTION), COLLECTIVITE_ROWS)}
    for key, title in PERSON_SECTIONS:
        person = _fields(section(title), PERSON_ROWS)
        result[key] = person if any(person.values()) else None
    for key, question in QUESTIONS:
        result[key] = answer(question)
    letter = {key: answer(question) for key, question in LETTER_QUESTIONS}
    result["letter"] = letter if any(letter.values()) else None

    partners: list[dict[str, str | None]] = []
    if (table := sections.get(_key(PARTNERS_SECTION))) is not None:
        for row in table.rows[2:]:  # after the title and the column headings
            values = [_value(cell) for cell in row.cells[: len(PARTNER_COLUMNS)]]
            if any(values):
                partners.append({key: v for (key, _), v in zip(PARTNER_COLUMNS, values, strict=False)})
    result["partners"] = partners
    attachments: list[dict[str, str]] = []
    if (table := sections.get(_key(ATTACHMENTS_SECTION))) is not None:
        attachments = [{"path": v} for row in table.rows[1:] if (v := _value(row.cells[0]))]
    result["attachments"] = attachments
    return result
