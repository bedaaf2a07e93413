"""Every date a person reads in the demo's output, and those outside the published calendar."""

from __future__ import annotations

import io
import re
from datetime import date
from email import message_from_bytes, policy
from email.message import EmailMessage
from email.utils import parsedate_to_datetime
from pathlib import Path

from pypdf import PdfReader

MONTHS = ["janvier", "février", "mars", "avril", "mai", "juin", "juillet", "août", "septembre", "octobre", "novembre", "décembre"]
_SPACE = r"[\s\u00a0\u202f]+"
_LONG = re.compile(rf"\b(1er|\d{{1,2}}){_SPACE}({'|'.join(MONTHS)}){_SPACE}(\d{{4}})\b", re.IGNORECASE)
_NUMERIC = re.compile(r"\b(\d{1,2})/(\d{1,2})/(\d{4})\b")
_ISO = re.compile(r"\b(\d{4})-(\d{2})-(\d{2})\b")
_YEAR = re.compile(r"(?<![\d-])(19\d{2}|20\d{2})(?![\d-])")  # a year on its own (« novembre 2026 », « oct. 2026 »)

# The 2024 call, from its opening to the capitalisation after the last session.
CALENDAR = (date(2024, 7, 1), date(2025, 12, 31))


def dates_in(text: str) -> list[date]:
    found = [date(int(y), MONTHS.index(m.lower()) + 1, 1 if d == "1er" else int(d)) for d, m, y in _LONG.findall(text)]
    found += [date(int(y), int(m), int(d)) for d, m, y in _NUMERIC.findall(text)]
    found += [date(int(y), int(m), int(d)) for y, m, d in _ISO.findall(text) if 1 <= int(m) <= 12]
    return found


def outside(text: str, calendar: tuple[date, date] = CALENDAR) -> list[str]:
    """The dates (and lone years) of `text` outside `calendar`. Links are left out: a signed portal
    link holds random characters, where « …aB1944x… » is no year."""
    text = re.sub(r"https?://\S+", " ", text)
    wrong = [d.isoformat() for d in dates_in(text) if not calendar[0] <= d <= calendar[1]]
    wrong += [y for y in _YEAR.findall(text) if not calendar[0].year <= int(y) <= calendar[1].year]
    return wrong


def email_text(message: EmailMessage) -> str:
    """Subject, Date and every text part (HTML without its markup), as a reader sees them."""
    parts = [str(message["Subject"]), parsedate_to_datetime(str(message["Date"])).date().isoformat()]
    for part in message.walk():
        if part.get_content_type() in ("text/plain", "text/html"):
            parts.append(re.sub(r"<[^>]*>", " ", str(part.get_content())))
    return "\n".join(parts)


def read_eml(path: Path) -> EmailMessage:
    message = message_from_bytes(path.read_bytes(), policy=policy.default)
    assert isinstance(message, EmailMessage)
    return message


def pdf_text(content: bytes) -> str:
    """The text of every page and the creation date (what a PDF reader shows in its properties)."""
    reader = PdfReader(io.BytesIO(content))
    created = reader.metadata.creation_date if reader.metadata else None
    pages = [page.extract_text() or "" for page in reader.pages]
    return "\n".join([*pages, created.date().isoformat() if created else ""])
