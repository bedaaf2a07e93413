"""Build the MIME message: text + HTML alternatives, attachments, a stable Message-ID, safe headers."""

from __future__ import annotations

import hashlib
import re
import unicodedata
from datetime import datetime
from email import policy
from email.header import Header
from email.headerregistry import Address
from email.message import EmailMessage
from email.parser import BytesParser
from email.utils import format_datetime, formataddr, getaddresses, parseaddr
from pathlib import Path
from typing import Any

from ami.infra.mail.render import Rendered
from ami.models.values import DocumentRef

_SPACES = re.compile(r" {2,}")


class _SmtpPolicy(policy.EmailPolicy):
    """`policy.SMTP`, except for the subject, folded here so that it decodes to exactly its text.

    The standard library folds a long non-ASCII subject into encoded-words separated by spaces, and
    RFC 2047 readers drop the whitespace between two encoded-words: « 0007 — Communauté » came back
    as « 0007 —Communauté » in every client; a long ASCII subject came back with a leading space.
    Here a non-ASCII subject is cut into encoded-words that carry their own spaces, and an ASCII
    one is folded at its spaces (tests/test_email_subjects.py).
    """

    def _subject(self, name: str, value: str) -> str:
        text = str(value)
        charset = "us-ascii" if text.isascii() else "utf-8"
        return f"{name}: {Header(text, charset, header_name=name).encode(linesep=self.linesep)}{self.linesep}"

    def fold(self, name: str, value: str) -> str:
        return self._subject(name, value) if name.lower() == "subject" else super().fold(name, value)

    def fold_binary(self, name: str, value: str) -> bytes:
        return self._subject(name, value).encode("ascii") if name.lower() == "subject" else super().fold_binary(name, value)


# What the outbox stores and SMTP sends: CRLF line ends, subjects that round-trip exactly.
SMTP_POLICY = _SmtpPolicy(linesep="\r\n")


def message_id(workflow_id: str, purpose: str, occurrence: str, domain: str, run_id: str = "") -> str:
    """Derived from the workflow (its id and the first run of its chain), the purpose and its
    occurrence: a retried activity or a run continued as new finds the same id, while a new
    execution under a reused workflow id gets ids of its own, so it sends its own mail."""
    # 128 bits are plenty, and short enough that the header is not folded over two lines.
    digest = hashlib.sha256(f"{workflow_id}\x1f{run_id}\x1f{purpose}\x1f{occurrence}".encode()).hexdigest()[:32]
    return f"<{digest}@{domain}>"


def header_safe(value: str) -> str:
    """A name or subject from a form must never add a header: every control or line-separator
    character (CR, LF, but also VT, FF, NEL, U+2028…) becomes a space. Non-breaking spaces stay:
    they are French typography, not line breaks."""
    cleaned = "".join(" " if unicodedata.category(c) in ("Cc", "Zl", "Zp") else c for c in value)
    return _SPACES.sub(" ", cleaned).strip()


class ReadHeaders:
    """The top-level headers of a message's bytes, as the standard library's parser reads them.

    Only the header section is handed to the parser: with `headersonly` it would still read the whole
    body (the attachment's base64, 45 KB) line by line, only to keep it as an unparsed payload; the
    headers end at the first empty line either way, so what is parsed is the same. A value is parsed
    (by the header registry) when first asked for, once: the names alone need no parsing, and a
    parsed message parses a header again at every `get`.
    """

    def __init__(self, raw: bytes) -> None:
        end = raw.find(b"\r\n\r\n")
        self._message = BytesParser(policy=policy.default).parsebytes(raw if end < 0 else raw[: end + 4], headersonly=True)
        self.names = [name.lower() for name in self._message]
        self._values: dict[str, list[Any]] = {}

    def get_all(self, name: str) -> list[Any]:
        key = name.lower()
        if key not in self._values:
            self._values[key] = self._message.get_all(name) or []
        return self._values[key]

    def get(self, name: str) -> Any:
        values = self.get_all(name)
        return values[0] if values else None


def envelope(raw: bytes) -> tuple[str, list[str]]:
    """Sender and recipients read back from a stored message, so a resend needs nothing else."""
    return envelope_of(ReadHeaders(raw))


def envelope_of(head: ReadHeaders) -> tuple[str, list[str]]:
    sender = parseaddr(str(head.get("From") or ""))[1]
    recipients = [addr for _, addr in getaddresses([str(v) for v in head.get_all("To") + head.get_all("Cc")]) if addr]
    return sender, recipients


def build(
    rendered: Rendered,
    *,
    sender: str,
    to: list[str],
    msg_id: str,
    created: datetime,
    attachments: list[DocumentRef],
    calendar: bytes | None = None,
) -> EmailMessage:
    message = EmailMessage()
    name, address = parseaddr(sender)
    message["From"] = formataddr((header_safe(name), address)) if name else address
    # Address() refuses anything that is not one addr-spec, so a "name <x>\nBcc: y" cannot slip in.
    message["To"] = ", ".join(str(Address(addr_spec=header_safe(a))) for a in to)
    message["Subject"] = header_safe(rendered.subject)
    message["Message-ID"] = msg_id
    message["Date"] = format_datetime(created)
    message["Content-Language"] = "fr"
    # Out-of-office replies must not answer an automatic message (RFC 3834).
    message["Auto-Submitted"] = "auto-generated"
    message.set_content(rendered.text, charset="utf-8")
    message.add_alternative(rendered.html, subtype="html", charset="utf-8")
    if calendar is not None:
        message.add_attachment(
            calendar.decode("utf-8"), subtype="calendar", charset="utf-8", filename="seance.ics", params={"method": "REQUEST"}
        )
    for doc in attachments:
        maintype, subtype = doc.media_type.split("/", 1)
        message.add_attachment(Path(doc.path).read_bytes(), maintype=maintype, subtype=subtype, filename=doc.filename)
    return message
