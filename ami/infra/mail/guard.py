"""Defence in depth against header injection (CVE-2024-6923).

Python before 3.11.10 / 3.12.5 folds a header that holds an RFC 2047 encoded word without
re-checking what the word decodes to: `=?utf-8?q?=0D=0ACc:_x@evil.example?=` in a subject came out
as a real `Cc:` line. ami keeps that from happening at three levels: one-line fields of the form
refuse `=?` (ami/models/candidature.py), applicant text stays out of subjects (templates), and every
message is parsed again once built: its headers and recipients must be exactly the ones intended,
or it is not sent (`verify`). The interpreter is only warned about, never refused, so the README's
commands keep working with an older `python3`.
"""

from __future__ import annotations

import re
import sys
from collections.abc import Iterable, Sequence
from email.message import EmailMessage

from ami.infra.mail.message import ReadHeaders, envelope_of

# The releases that carry the fix of CVE-2024-6923 (gh-121650).
_FIXED = {(3, 11): (3, 11, 10), (3, 12): (3, 12, 5)}
_WHITESPACE = re.compile(r"\s+")

INTERPRETER_WARNING = (
    "Attention : Python {version} est touché par la CVE-2024-6923 (injection d'en-têtes dans les courriels). "
    "ami s'en protège lui-même (champs vérifiés, courriels relus avant envoi), mais mettez Python à jour "
    "(3.11.10, 3.12.5 ou plus récent)."
)


def interpreter_vulnerable(version: tuple[int, int, int] | None = None) -> bool:
    """True on a release of the standard library's email package without the fix."""
    major, minor, micro = version or sys.version_info[:3]
    fixed = _FIXED.get((major, minor))
    if fixed is not None:
        return (major, minor, micro) < fixed
    return (major, minor) < (3, 11)  # 3.13 and later were released with the fix


def interpreter_warning(version: tuple[int, int, int] | None = None) -> str | None:
    """The French warning to show, or None on a fixed interpreter."""
    version = version or (sys.version_info[0], sys.version_info[1], sys.version_info[2])
    if not interpreter_vulnerable(version):
        return None
    return INTERPRETER_WARNING.format(version=".".join(map(str, version)))


class HeaderMismatch(ValueError):
    """A built message does not read back as intended. The message names headers, never values
    (they hold addresses)."""


def _names(names: Iterable[str]) -> list[str]:
    return sorted(name.lower() for name in names)


def _flat(value: str) -> str:
    # Folding may move whitespace around (the standard library's folding of a subject can even drop a
    # space between two encoded words, which is why ami/infra/mail/message.py folds subjects itself); an
    # injection adds characters or headers, which this comparison still sees.
    return _WHITESPACE.sub("", value)


def verify(raw: bytes, intended: EmailMessage | Sequence[tuple[str, object]], sender: str, recipients: list[str]) -> tuple[str, list[str]]:
    """Parse `raw` (the bytes about to be sent) and compare it with the message as built: an
    `EmailMessage`, or its top-level headers as (name, value) pairs (ami/infra/mail/compose.py).

    Raises HeaderMismatch when a header appeared, vanished or changed, or when the envelope read
    back (what the SMTP conversation will use) differs from the intended sender and recipients.
    Returns that envelope, as read back (what `envelope(raw)` gives).
    """
    parsed = ReadHeaders(raw)
    problems: list[str] = []
    headers = list(intended.items()) if isinstance(intended, EmailMessage) else list(intended)
    built, read = _names(name for name, _ in headers), _names(parsed.names)
    # The first header of a name, as `Message.get` gives it.
    values = {name.lower(): value for name, value in reversed(headers)}
    if built != read:
        added = sorted(set(read) - set(built)) or sorted({n for n in read if read.count(n) > built.count(n)})
        missing = sorted(set(built) - set(read))
        if added:
            problems.append("en-têtes ajoutés : " + ", ".join(added))
        if missing:
            problems.append("en-têtes disparus : " + ", ".join(missing))
    for name in ("From", "To", "Subject", "Message-ID", "Date"):
        value = values.get(name.lower())
        if value is not None and _flat(str(parsed.get(name) or "")) != _flat(str(value)):
            problems.append(f"en-tête {name} modifié")
    read_sender, read_recipients = envelope_of(parsed)
    if read_sender.lower() != sender.lower():
        problems.append("expéditeur modifié")
    if [r.lower() for r in read_recipients] != [r.lower() for r in recipients]:
        problems.append(f"destinataires modifiés ({len(recipients)} prévus, {len(read_recipients)} relus)")
    if problems:
        raise HeaderMismatch("courriel non envoyé, il ne se relit pas comme il a été construit : " + " ; ".join(problems))
    return read_sender, read_recipients
