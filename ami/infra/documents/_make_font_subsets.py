"""Regenerate the Latin and French subsets of the bundled DejaVu fonts (developer tool, not used at run time).

Why: fpdf2 parses the whole TTF for every document; DejaVu Sans has ~6 000 glyphs, and a subset
covering Latin scripts, punctuation and common symbols renders each PDF about twice as fast. The
full fonts stay bundled and are used whenever a document holds a character the subset lacks.
The French subsets (482 glyphs, no layout tables: fpdf2 drops them anyway) are tried first: fpdf2
subsets the embedded font again for every document, in a time that grows with the file's glyphs.
The DejaVu (Bitstream Vera) licence allows modified copies whose names contain neither "Bitstream"
nor "Vera"; the copyright notices are kept in the font's name table and in LICENSE.txt.

    .venv/bin/python -m ami.infra.documents._make_font_subsets
"""

from __future__ import annotations

from pathlib import Path

from fontTools import subset  # type: ignore[import-untyped,unused-ignore]  # stubs vary by version

FONTS = Path(__file__).with_name("fonts")
UNICODES = (
    "U+0020-007E,U+00A0-024F,U+02B0-02FF,U+0300-036F,U+1E00-1EFF,U+2000-206F,U+20A0-20CF,"
    "U+2100-218F,U+2190-21FF,U+2200-22FF,U+25A0-25FF,U+2600-26FF,U+2700-27BF,U+FB00-FB06,U+FFFD"
)

# Latin-1, Latin Extended-A (œ, Œ, ÿ…), the general punctuation block (typographic quotes and
# spaces, dashes, ellipsis), euro, numero, a few arrows and symbols.
FRENCH_UNICODES = "U+0020-007E,U+00A0-017F,U+0192,U+02C6-02DC,U+2000-206F,U+20AC,U+2116,U+2122,U+2190-2193,U+2212,U+2713,U+2714,U+FFFD"


def main() -> None:
    for name in ("DejaVuSans", "DejaVuSans-Bold"):
        subset.main(
            [
                str(FONTS / f"{name}.ttf"),
                f"--unicodes={UNICODES}",
                "--layout-features=*",
                "--glyph-names",
                "--notdef-outline",
                "--name-IDs=*",
                "--name-languages=*",
                f"--output-file={FONTS / f'{name}-Latin.ttf'}",
            ]
        )
        subset.main(
            [
                str(FONTS / f"{name}.ttf"),
                f"--unicodes={FRENCH_UNICODES}",
                "--layout-features=",
                "--drop-tables+=GSUB,GPOS,GDEF,MATH,kern,FFTM",
                "--glyph-names",
                "--notdef-outline",
                "--name-IDs=*",
                "--name-languages=*",
                f"--output-file={FONTS / f'{name}-French.ttf'}",
            ]
        )


if __name__ == "__main__":
    main()
