"""A grouped bar chart drawn with fpdf2's own primitives: vector, selectable labels, no matplotlib."""

from __future__ import annotations

import math
from collections.abc import Sequence

from fpdf.enums import Align

from ami.infra.documents._pdf_base import FAMILY, INK, MUTED, RULE, AmiPdf, pdf_text

Colour = tuple[int, int, int]


def _nice_step(maximum: int) -> int:
    """A readable gridline step (1, 2, 5, 10, 20, 50…) giving about five lines."""
    if maximum <= 5:
        return 1
    raw = maximum / 5
    power = 10 ** math.floor(math.log10(raw))
    return int(next(m * power for m in (1, 2, 5, 10) if m * power >= raw))


def bar_chart(
    pdf: AmiPdf,
    categories: Sequence[str],
    series: Sequence[tuple[str, Colour, Sequence[int]]],
    *,
    height: float = 70,
) -> None:
    """Draw `series` (label, colour, one value per category) as grouped bars at the current y."""
    if not categories:
        return
    if pdf.will_page_break(height + 22):
        pdf.add_page()
    maximum = max((v for _, _, values in series for v in values), default=0)
    step = _nice_step(max(maximum, 1))
    top = step * math.ceil(max(maximum, 1) / step)

    axis_w = 10.0
    left = pdf.l_margin + axis_w
    width = pdf.epw - axis_w
    y0 = pdf.get_y() + 4
    base = y0 + height

    # Gridlines and their values, light so the bars carry the reading.
    pdf.set_font(FAMILY, "", 7)
    pdf.set_text_color(*MUTED)
    pdf.set_line_width(0.15)
    for tick in range(0, top + 1, step):
        y = base - height * tick / top
        pdf.set_draw_color(*RULE)
        pdf.line(left, y, left + width, y)
        pdf.set_xy(pdf.l_margin, y - 2)
        pdf.cell(axis_w - 1.5, 4, str(tick), align=Align.R)

    group_w = width / len(categories)
    bar_w = min(12.0, group_w * 0.8 / len(series))
    for index, category in enumerate(categories):
        start = left + index * group_w + (group_w - bar_w * len(series)) / 2
        for number, (_, colour, values) in enumerate(series):
            value = values[index]
            bar_h = height * value / top
            x = start + number * bar_w
            pdf.set_fill_color(*colour)
            if bar_h > 0:
                pdf.rect(x, base - bar_h, bar_w - 0.6, bar_h, style="F")
            pdf.set_text_color(*INK)
            pdf.set_xy(x - 1, base - bar_h - 4)
            pdf.cell(bar_w + 1.4, 4, str(value), align=Align.C)
        pdf.set_text_color(*MUTED)
        pdf.set_xy(left + index * group_w, base + 1)
        pdf.multi_cell(group_w, 3.4, pdf_text(category), align=Align.C)

    pdf.set_draw_color(*INK)
    pdf.set_line_width(0.3)
    pdf.line(left, base, left + width, base)

    # Legend, centred under the chart.
    pdf.set_y(base + 10)
    pdf.set_font(FAMILY, "", 8)
    items = [(pdf_text(label), colour) for label, colour, _ in series]
    total = sum(pdf.get_string_width(label) + 10 for label, _ in items)
    x = pdf.l_margin + (pdf.epw - total) / 2
    for label, colour in items:
        pdf.set_fill_color(*colour)
        pdf.rect(x, pdf.get_y() + 1, 3.5, 3.5, style="F")
        pdf.set_xy(x + 5, pdf.get_y())
        pdf.set_text_color(*INK)
        pdf.cell(pdf.get_string_width(label) + 2, 5.5, label)
        x += pdf.get_string_width(label) + 10
    pdf.set_line_width(0.2)
    pdf.ln(10)
