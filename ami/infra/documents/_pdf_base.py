"""What every PDF of the engine shares: A4 page, embedded DejaVu Sans, metadata, header, footer, styles.

Every string a person reads goes through `pdf_text()` (that is, `french()`) here, so no document can
forget its non-breaking spaces. Documents are deterministic (fixed creation date, hence fixed /ID): a retried
activity produces byte-identical attachments.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, date, datetime, time
from functools import cache
from pathlib import Path

from fontTools.ttLib import TTFont  # type: ignore[import-untyped,unused-ignore]  # stubs vary by version
from fpdf import FPDF
from fpdf.enums import Align, TableBordersLayout, XPos, YPos
from fpdf.fonts import FontFace

from ami.infra.documents._fonts import add_cached_font
from ami.infra.documents.branding import AUTHOR, ORGANISATION
from ami.infra.documents.typography import NBSP, NNBSP, french

FAMILY = "DejaVu"
FONTS = Path(__file__).with_name("fonts")

# Colours (RGB): a dark blue for titles, greys for secondary text and rules.
INK = (33, 37, 41)
ACCENT = (31, 78, 121)
MUTED = (108, 117, 125)
RULE = (206, 212, 218)
FILL = (233, 240, 247)

EMPTY = "Non renseigné"
# In the footer of every page of a document made by `ami demo`.
DEMO_MARK = "Document de démonstration (ami demo)"


# The font files, smallest first: a document embeds the first pair that covers all its text.
# fpdf2 subsets the embedded font for every document, and the time that takes grows with the
# glyphs of the file: the French subsets (482 glyphs: Latin-1, Latin Extended-A, punctuation)
# write a summary about twice as fast as the Latin ones (2,174), which are four times smaller than
# the full fonts (6,253). See `_make_font_subsets` and docs/performance.md.
FONT_TIERS = (
    ("DejaVuSans-French.ttf", "DejaVuSans-Bold-French.ttf"),
    ("DejaVuSans-Latin.ttf", "DejaVuSans-Bold-Latin.ttf"),
    ("DejaVuSans.ttf", "DejaVuSans-Bold.ttf"),
)


@cache
def _coverage(regular: str, bold: str) -> frozenset[int]:
    """Code points of a pair of font files (read once per process: only the cmap table is parsed)."""
    cmaps = []
    for name in (regular, bold):
        with TTFont(FONTS / name, lazy=True) as font:
            cmaps.append(set(font.getBestCmap()))
    return frozenset(cmaps[0] & cmaps[1])


def font_files(text: str) -> tuple[Path, Path]:
    """The (regular, bold) files to embed: the smallest subsets that cover `text`, else the full fonts.

    The full fonts keep a Greek name or a Cyrillic quote from turning into empty boxes.
    """
    used = {ord(char) for char in text if char >= " "}
    for regular, bold in FONT_TIERS[:-1]:
        if used <= _coverage(regular, bold):
            return FONTS / regular, FONTS / bold
    regular, bold = FONT_TIERS[-1]
    return FONTS / regular, FONTS / bold


def pdf_text(text: str) -> str:
    """`french(text)` for the PDF text layer: every no-break space becomes a NARROW no-break space.

    fpdf2 keeps a NO-BREAK SPACE from breaking the line but writes it as an ordinary space (and
    stretches it when justifying), so copied text would lose it; U+202F survives both ways.
    """
    return french(text).replace(NBSP, NNBSP)


def stable_instant(day: date) -> datetime:
    """A creation date derived from the document's own data, so that the bytes do not depend on now."""
    return datetime.combine(day, time(12, 0), tzinfo=UTC)


class AmiPdf(FPDF):
    """An A4 document of the Apes with the engine's styles; `content` is every text it may print."""

    def __init__(self, *, title: str, subject: str, running_head: str, created: datetime, content: str, demo: bool = False) -> None:
        super().__init__(orientation="portrait", unit="mm", format="A4")
        self._demo = demo
        self._running_head = pdf_text(running_head)
        self._doc_title = pdf_text(title)
        regular, bold = font_files(content + title + subject + running_head)
        add_cached_font(self, FAMILY, "", regular)  # parsed once per process (ami/infra/documents/_fonts.py)
        add_cached_font(self, FAMILY, "B", bold)
        self.set_title(self._doc_title)
        self.set_author(AUTHOR)
        self.set_subject(pdf_text(subject))
        self.set_creator("moteur ami (fpdf2)")
        if demo:
            self.set_keywords(DEMO_MARK)
        self.set_lang("fr-FR")
        self.set_creation_date(created)
        self.set_margins(20, 22, 20)
        self.set_auto_page_break(auto=True, margin=20)
        self.set_text_color(*INK)
        self.add_page()

    # -- page furniture ---------------------------------------------------------------------
    def header(self) -> None:
        self.set_font(FAMILY, "", 8)
        self.set_text_color(*MUTED)
        self.set_xy(self.l_margin, 10)
        self.cell(0, 5, ORGANISATION, align=Align.L)
        self.set_xy(self.l_margin, 10)
        self.cell(0, 5, self._running_head, align=Align.R)
        self.set_draw_color(*RULE)
        self.line(self.l_margin, 16, self.w - self.r_margin, 16)
        self.set_text_color(*INK)
        self.set_y(self.t_margin)

    def footer(self) -> None:
        self.set_y(-14)
        self.set_font(FAMILY, "", 8)
        self.set_text_color(*MUTED)
        mark = f"{DEMO_MARK} — " if self._demo else ""
        self.cell(0, 5, f"{mark}{self._doc_title} — page {self.page_no()} sur {{nb}}", align=Align.C)

    # -- text blocks --------------------------------------------------------------------------
    def title_block(self, title: str, subtitle: str | None = None) -> None:
        self.set_font(FAMILY, "B", 18)
        self.set_text_color(*ACCENT)
        self.multi_cell(0, 9, pdf_text(title), align=Align.L, new_x=XPos.LMARGIN, new_y=YPos.NEXT)
        if subtitle:
            self.set_font(FAMILY, "", 11)
            self.set_text_color(*MUTED)
            self.multi_cell(0, 6, pdf_text(subtitle), align=Align.L, new_x=XPos.LMARGIN, new_y=YPos.NEXT)
        self.set_text_color(*INK)
        self.ln(4)

    def heading(self, text: str) -> None:
        # Keep a heading with at least a few lines of what follows it.
        if self.will_page_break(24):
            self.add_page()
        self.ln(3)
        self.set_font(FAMILY, "B", 12.5)
        self.set_text_color(*ACCENT)
        self.multi_cell(0, 7, pdf_text(text), align=Align.L, new_x=XPos.LMARGIN, new_y=YPos.NEXT)
        self.set_draw_color(*RULE)
        self.line(self.l_margin, self.get_y(), self.w - self.r_margin, self.get_y())
        self.set_text_color(*INK)
        self.ln(2.5)

    def label(self, text: str) -> None:
        self.set_font(FAMILY, "B", 10)
        self.multi_cell(0, 5.5, pdf_text(text), align=Align.L, new_x=XPos.LMARGIN, new_y=YPos.NEXT)
        self.ln(0.5)

    def para(self, text: str | None, *, size: float = 10, align: Align = Align.L, muted: bool = False) -> None:
        """A paragraph; an empty answer is printed « Non renseigné », in grey, rather than omitted."""
        empty = not (text and text.strip())
        self.set_font(FAMILY, "", size)
        if empty or muted:
            self.set_text_color(*MUTED)
        self.multi_cell(0, size * 0.52, pdf_text(EMPTY if empty else str(text)), align=align, new_x=XPos.LMARGIN, new_y=YPos.NEXT)
        self.set_text_color(*INK)
        self.ln(2)

    # -- tables -------------------------------------------------------------------------------
    def fields(self, rows: Sequence[tuple[str, str | None]], widths: tuple[float, float] = (0.3, 0.7)) -> None:
        """A two-column label / value table (values « Non renseigné » when empty)."""
        self.set_font(FAMILY, "", 9.5)
        with self.table(
            col_widths=widths,
            first_row_as_headings=False,
            num_heading_rows=0,
            text_align=Align.L,
            borders_layout=TableBordersLayout.HORIZONTAL_LINES,
            line_height=5.2,
            padding=1.6,
            v_align="TOP",
        ) as table:
            for name, value in rows:
                row = table.row()
                row.cell(pdf_text(name), style=FontFace(emphasis="BOLD", color=ACCENT))
                if value and value.strip():
                    row.cell(pdf_text(value))
                else:
                    row.cell(EMPTY, style=FontFace(color=MUTED))
        self.ln(3)

    def grid(
        self, headings: Sequence[str], rows: Sequence[Sequence[str]], widths: Sequence[float], aligns: Sequence[Align] | None = None
    ) -> None:
        """A table with a shaded heading row, repeated on every page it spans."""
        self.set_font(FAMILY, "", 9)
        heading_style = FontFace(emphasis="BOLD", color=INK, fill_color=FILL, size_pt=8)
        with self.table(
            col_widths=tuple(widths),
            text_align=Align.L,
            headings_style=heading_style,
            line_height=5,
            padding=1.4,
            v_align="MIDDLE",
            repeat_headings=1,
        ) as table:
            head = table.row()
            for text in headings:
                head.cell(pdf_text(text))
            for values in rows:
                row = table.row()
                for index, value in enumerate(values):
                    row.cell(pdf_text(value), align=aligns[index] if aligns else None)
        self.ln(3)

    def render(self) -> bytes:
        return bytes(self.output())
