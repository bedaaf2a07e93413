"""Build the MIME message: text + HTML alternatives, attachments, a stable Message-ID, safe headers."""

from __future__ import annotations

import hashlib
from email.headerregistry import Address
from email.message import EmailMessage
from email.utils import format_datetime, formataddr, parseaddr
from datetime import datetime
from pathlib import Path

from ami.mail.render import Rendered
from models.messages import DocumentRef


def message_id(workflow_id: str, purpose: str, occurrence: str, domain: str) -> str:
    """Derived from the workflow, the purpose and its occurrence: the same email always has the same id."""
    digest = hashlib.sha256(f"{workflow_id}\x1f{purpose}\x1f{occurrence}".encode()).hexdigest()[:40]
    return f"<{digest}@{domain}>"


def _header_safe(value: str) -> str:
    # A name or subject from a form must never add a header: line breaks become spaces.
    return " ".join(value.replace("\r", " ").replace("\n", " ").split())


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
    message["From"] = formataddr((_header_safe(name), address)) if name else address
    message["To"] = ", ".join(str(Address(addr_spec=_header_safe(a))) for a in to)
    message["Subject"] = _header_safe(rendered.subject)
    message["Message-ID"] = msg_id
    message["Date"] = format_datetime(created)
    message["Content-Language"] = "fr"
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
