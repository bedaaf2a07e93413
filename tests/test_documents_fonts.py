"""The fonts of the PDFs: parsed once per process, the smallest subset that covers the text, and the
same bytes as fpdf2's own `add_font`. No time is asserted: speed figures are in bench/."""

from __future__ import annotations

import io
import re
from datetime import date
from pathlib import Path

from fpdf import FPDF
from fpdf.enums import XPos, YPos
from pypdf import PdfReader

from ami.infra.documents import _fonts
from ami.infra.documents._pdf_base import FAMILY, FONT_TIERS, FONTS, AmiPdf, font_files, stable_instant
from ami.infra.documents.typography import NNBSP

FRENCH = "Récapitulatif : « L'œuvre de Noël » — 12 000 € ; ÇA, déjà vu… ‘quote’ “quote” n° 3"


def _make(pdf: FPDF, text: str) -> bytes:
    pdf.add_page()
    pdf.set_font(FAMILY, "", 11)
    pdf.multi_cell(0, 6, text, new_x=XPos.LMARGIN, new_y=YPos.NEXT)
    pdf.set_font(FAMILY, "B", 11)
    pdf.multi_cell(0, 6, text.upper(), new_x=XPos.LMARGIN, new_y=YPos.NEXT)
    return bytes(pdf.output())


def _plain(regular: Path, bold: Path, text: str) -> bytes:
    pdf = FPDF()
    pdf.set_creation_date(stable_instant(date(2024, 7, 12)))
    pdf.add_font(FAMILY, "", regular)
    pdf.add_font(FAMILY, "B", bold)
    return _make(pdf, text)


def _cached(regular: Path, bold: Path, text: str) -> bytes:
    pdf = FPDF()
    pdf.set_creation_date(stable_instant(date(2024, 7, 12)))
    _fonts.add_cached_font(pdf, FAMILY, "", regular)
    _fonts.add_cached_font(pdf, FAMILY, "B", bold)
    return _make(pdf, text)


def test_french_text_takes_the_smallest_subset_and_others_fall_back() -> None:
    assert font_files(FRENCH) == (FONTS / FONT_TIERS[0][0], FONTS / FONT_TIERS[0][1])
    assert font_files(FRENCH + " ẞ ǅ") == (FONTS / FONT_TIERS[1][0], FONTS / FONT_TIERS[1][1])  # Latin Extended
    assert font_files(FRENCH + " Αθήνα") == (FONTS / "DejaVuSans.ttf", FONTS / "DejaVuSans-Bold.ttf")


def test_the_french_subset_covers_every_character_it_is_chosen_for() -> None:
    text = FRENCH + NNBSP + "\u00a0"
    data = _cached(*font_files(text), text)
    layer = "\n".join(page.extract_text() for page in PdfReader(io.BytesIO(data)).pages)
    for word in ("Récapitulatif", "L'œuvre", "Noël", "12", "€", "ÇA", "déjà", "vu…", "‘quote’", "“quote”"):
        assert word in re.sub(r"\s+", " ", layer), word


def test_a_cached_font_writes_what_the_text_needs_in_every_document() -> None:
    """Two documents from the one parsed template: each embeds its own glyphs, none leaks into the next."""
    regular, bold = font_files("abc xyz")
    first = _cached(regular, bold, "abc")
    second = _cached(regular, bold, "xyz")
    again = _cached(regular, bold, "abc")
    assert first == again
    assert "xyz" in PdfReader(io.BytesIO(second)).pages[0].extract_text()
    assert "abc" not in PdfReader(io.BytesIO(second)).pages[0].extract_text()


def test_a_cached_font_renders_the_same_page_as_add_font() -> None:
    for text in (FRENCH, FRENCH + " Αθήνα — Киев"):
        regular, bold = font_files(text)
        plain = PdfReader(io.BytesIO(_plain(regular, bold, text)))
        cached = PdfReader(io.BytesIO(_cached(regular, bold, text)))
        assert plain.pages[0].extract_text() == cached.pages[0].extract_text()
        assert plain.pages[0].get_contents().get_data() == cached.pages[0].get_contents().get_data()  # same glyph codes, positions


def test_the_engine_parses_each_font_file_once() -> None:
    _fonts._template.cache_clear()
    for _ in range(3):
        AmiPdf(title="t", subject="s", running_head="r", created=stable_instant(date(2024, 7, 12)), content=FRENCH).render()
    assert _fonts._template.cache_info().misses == 2 and _fonts._template.cache_info().hits == 4
