"""The DejaVu fonts parsed once per process instead of once per document.

`FPDF.add_font` builds a `TTFFont` from the file for every document: it opens the TrueType file and
reads its tables, the width of every character and the glyph of every code point, about 20 % of
the time of a summary (profile in docs/performance.md). `add_cached_font` does the same for a
document from a template parsed once per process, and gives each document what it changes: its
own subset map (the glyphs it uses), its own font descriptor, and a fresh fontTools object over the
file's bytes (fpdf2 subsets it in place when the document is written). The bytes of the document
are the same as with `add_font`.
"""

from __future__ import annotations

import copy
from functools import cache
from io import BytesIO
from pathlib import Path

from fontTools import ttLib  # type: ignore[import-untyped,unused-ignore]  # stubs vary by version
from fpdf import FPDF
from fpdf.fonts import SubsetMap, TTFFont


@cache
def _template(path: Path, family: str, style: str) -> tuple[TTFFont, bytes]:
    """The font as `add_font` builds it for a document, and the file's bytes."""
    holder = FPDF()
    holder.add_font(family, style, path)
    template = holder.fonts[next(iter(holder.fonts))]
    assert isinstance(template, TTFFont)
    template.ttfont.close()  # its tables are read; each document opens its own copy
    return template, path.read_bytes()


def add_cached_font(pdf: FPDF, family: str, style: str, path: Path) -> None:
    """`pdf.add_font(family, style, path)` for one of the engine's own TrueType fonts, from the parsed template."""
    style = "".join(sorted(style.upper()))
    fontkey = f"{family.lower()}{style}"
    if fontkey in pdf.fonts:
        raise ValueError(f"font {fontkey!r} already added")
    template, data = _template(path, family, style)
    font: TTFFont = copy.copy(template)  # the parsed tables (cmap, widths, glyph ids) are shared: read only
    font.i = len(pdf.fonts) + 1
    font.fontkey = fontkey
    font.ttfont = ttLib.TTFont(BytesIO(data), recalcTimestamp=False, recalcBBoxes=False, lazy=True)
    font.desc = copy.copy(template.desc)  # the output names and numbers it
    font.missing_glyphs = []
    font.biggest_size_pt = 0
    font.subset = SubsetMap(font)
    pdf.fonts[fontkey] = font
