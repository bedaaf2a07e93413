"""French typography shared by the documents and the email templates.

`french` puts the non-breaking spaces French requires (Imprimerie nationale usage): a NO-BREAK SPACE
before « : » and inside guillemets, a NARROW NO-BREAK SPACE before « ; ! ? ». Apply it to text, never
to markup: it leaves URLs, email addresses, HTML entities and clock times (14:00) alone, and it is
idempotent, so a template may run it over text that already went through it.
"""

from __future__ import annotations

import re
from datetime import date, datetime, tzinfo
from decimal import ROUND_HALF_UP, Decimal

from babel.dates import format_date
from babel.numbers import format_decimal

NBSP = "\u00a0"
NNBSP = "\u202f"

# Horizontal spaces only: a line break before a « ? » is the writer's choice, not ours to undo.
_SPACES = f"[ \t{NBSP}{NNBSP}]*"
# Tokens where « : ; ! ? » are syntax, not punctuation.
# A URL's trailing punctuation belongs to the sentence: « voir https://apes-hdf.org ! ».
_URL_END = r"(?=[.,;:!?»)\]]*(?:\s|$))"
_PROTECTED = re.compile(
    rf"(?:(?:https?|ftp)://|www\.|mailto:)\S+?{_URL_END}|[\w.+-]+@[\w-]+(?:\.[\w-]+)+|&#?\w+;",
    re.IGNORECASE,
)
# A colon is punctuation only when a space or the end follows it: "14:00", "C:/x", ":)" stay.
_COLON = re.compile(rf"(?<=\S){_SPACES}:(?=\s|$)")
# « ; ! ? » (or a run such as « ?! ») followed by a space, the end or closing punctuation.
_HIGH = re.compile(rf"(?<=[^\s;!?]){_SPACES}([;!?]+)(?=\s|$|[»)\].,…\"”’'])")
# Supplementary Private Use Area-A: 65 534 code points no French text uses.
_PLACEHOLDER = 0xF0000
_OPEN_QUOTE = re.compile(rf"«{_SPACES}")
_CLOSE_QUOTE = re.compile(rf"{_SPACES}»")


def _fix(segment: str) -> str:
    segment = _COLON.sub(f"{NBSP}:", segment)
    segment = _HIGH.sub(lambda m: NNBSP + m.group(1), segment)
    segment = _OPEN_QUOTE.sub(f"«{NBSP}", segment)
    return _CLOSE_QUOTE.sub(f"{NBSP}»", segment)


def french(text: str) -> str:
    """Return `text` with French non-breaking spaces before « : ; ! ? » and inside « »."""
    # Protected tokens become one private-use character each while the rules run, so that the
    # space after a URL still sees a word before it (« voir https://… ! »); then they come back.
    tokens: list[str] = []

    def hide(match: re.Match[str]) -> str:
        tokens.append(match.group(0))
        return chr(_PLACEHOLDER + len(tokens) - 1)

    fixed = _fix(_PROTECTED.sub(hide, text))
    if not tokens:
        return fixed
    return re.sub(
        f"[{chr(_PLACEHOLDER)}-{chr(_PLACEHOLDER + len(tokens) - 1)}]",
        lambda m: tokens[ord(m.group(0)) - _PLACEHOLDER],
        fixed,
    )


def date_fr(d: date) -> str:
    """« 8 septembre 2024 », « 1er octobre 2024 » (French writes the first day as an ordinal)."""
    if isinstance(d, datetime):
        d = d.date()
    text = str(format_date(d, format="long", locale="fr_FR"))
    if d.day == 1:
        text = "1er" + text[1:]
    return text


def datetime_fr(dt: datetime, tz: tzinfo) -> str:
    """« 8 septembre 2024 à 14 h 00 », in the time zone `tz` (the campaign's)."""
    if dt.tzinfo is None or dt.utcoffset() is None:
        raise ValueError("date et heure sans fuseau horaire : impossible de les écrire sans ambiguïté")
    local = dt.astimezone(tz)
    return f"{date_fr(local.date())} à {local.hour} h {local.minute:02d}"


def decimal_fr(value: float, digits: int = 1) -> str:
    """« 4,2 », « 1 234,5 » — French decimal comma and narrow no-break thousands separator."""
    # Round half up as people do (babel would round 4,25 to the even 4,2).
    rounded = Decimal(str(value)).quantize(Decimal(1).scaleb(-digits), rounding=ROUND_HALF_UP)
    pattern = "#,##0" + ("." + "0" * digits if digits else "")
    return str(format_decimal(rounded, format=pattern, locale="fr_FR"))


def percent_fr(part: int, whole: int) -> str:
    """« 83 % » with the no-break space French puts before the sign; « — » when `whole` is 0."""
    if whole == 0:
        return "—"
    return f"{round(100 * part / whole)}{NBSP}%"
