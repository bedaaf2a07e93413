"""The message's bytes, written directly: the same bytes as `build(...).as_bytes(policy=SMTP_POLICY)`.

`build` (ami/infra/mail/message.py) makes an `EmailMessage` and the standard library serializes it;
most of an email's CPU went there (docs/performance.md, "Emails"): every `msg[...] = ...`, every
`set_param` and every `get` of a header parses it again with the header registry, `add_alternative`
and `add_attachment` move the headers between parts, the attachment is base64-encoded 57 bytes at a
time. Here the standard library still makes and folds every header whose text depends on the message
(sender, recipients, subject, dates, boundaries, attachment names) and encodes the text parts with
its own heuristics (`_encode_text`: 7bit, 8bit, quoted-printable or base64); what is written directly
is the layout around them, exactly as `BytesGenerator` writes it, and the attachment's base64 (one C
call). tests/test_mail_compose.py compares both, byte for byte, over purposes, attachments, invites,
names and subjects.

What `build` also does and these bytes reproduce: `set_content` drops the `Content-Language` header set
before it (the standard library clears every `Content-*` header), the HTML and attachment parts carry
their own `MIME-Version`, and the boundaries are drawn from `random` in the generator's order (inner
first) and checked against the parts' text the same way.
"""

from __future__ import annotations

import base64
import random
import re
import sys
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from email import policy
from email.contentmanager import _encode_text  # type: ignore[attr-defined]  # the heuristics set_content uses
from email.headerregistry import Address
from email.message import EmailMessage, _formatparam  # type: ignore[attr-defined]  # what set_param writes
from email.utils import format_datetime, formataddr, parseaddr
from functools import cache
from pathlib import Path

from ami.infra.mail.message import SMTP_POLICY, header_safe
from ami.infra.mail.render import Rendered
from ami.models.values import DocumentRef

# The policy `EmailMessage()` builds with (header objects, text encodings); SMTP_POLICY serializes.
_BUILD = policy.default
_NL = b"\r\n"
_LINE_ENDS = re.compile(r"\r\n|\r|\n")
_WIDTH = len(repr(sys.maxsize - 1))  # email.generator's boundary token width
# A boundary as `_boundary` draws it: its folded Content-Type is the same for every token.
_PLACEHOLDER = "=" * 15 + "0" * _WIDTH + "=="


@dataclass(frozen=True)
class Composed:
    raw: bytes
    # The top-level headers as built (name, value: header objects but the Content-Type), for the guard.
    headers: list[tuple[str, str]]


def _fold(name: str, header: str) -> bytes:
    return SMTP_POLICY.fold_binary(name, header)  # a header object (a str), as the generator passes it


def _header(name: str, value: str) -> tuple[str, str]:
    # What `msg[name] = value` stores (it refuses a value with a line break).
    stored = _BUILD.header_store_parse(name, value)
    return stored[0], stored[1]


@cache
def _constant_header(name: str, value: str) -> tuple[str, str]:
    # Header objects are immutable: one per process for the values that never vary (or rarely: the sender).
    return _header(name, value)


@cache
def _constant(name: str, value: str) -> bytes:
    """A header whose text never varies (content types of the text parts, MIME-Version)."""
    return _fold(*_header(name, value))


def _lines(payload: str) -> bytes:
    """A part's payload as `BytesGenerator._write_lines` writes it: CRLF line ends."""
    return _LINE_ENDS.sub("\r\n", payload).encode("ascii", "surrogateescape")


def _text_part(text: str, subtype: str, mime_version: bool) -> bytes:
    cte, payload = _encode_text(text, "utf-8", None, _BUILD)
    head = _constant("Content-Type", f'text/{subtype}; charset="utf-8"') + _constant("Content-Transfer-Encoding", cte)
    if mime_version:
        head += _constant("MIME-Version", "1.0")
    return head + _NL + _lines(payload)


def _attachment(doc: DocumentRef) -> bytes:
    maintype, subtype = doc.media_type.split("/", 1)
    # The headers as `add_attachment` makes them (the filename quoted or RFC 2231-encoded by the
    # standard library); the base64 as `_encode_base64` writes it: 76 characters a line.
    head = (
        _constant("Content-Type", f"{maintype}/{subtype}")
        + _constant("Content-Transfer-Encoding", "base64")
        + _fold(*_header("Content-Disposition", "attachment; " + _formatparam("filename", doc.filename, True)))
        + _constant("MIME-Version", "1.0")
    )
    encoded = base64.b64encode(Path(doc.path).read_bytes())
    # 57 bytes (76 characters) a line, each line ended: `_encode_base64` with the policy's 78.
    body = b"".join(encoded[i : i + 76] + _NL for i in range(0, len(encoded), 76))
    return head + _NL + body


def _calendar(calendar: bytes) -> bytes:
    # Rare (session invitations) and small: the standard library's own part.
    part = EmailMessage()
    part.set_content(calendar.decode("utf-8"), subtype="calendar", charset="utf-8", filename="seance.ics", params={"method": "REQUEST"})
    return part.as_bytes(policy=SMTP_POLICY)


def _boundary(text: bytes) -> str:
    """`Generator._make_boundary`: a random token, suffixed while the parts hold a line that is it.

    The same test as the generator's, so the same bytes; with CRLF line ends it never matches (`$`
    stops before the `\n`, after the `\r`), there as here: a 63-bit random token is what keeps a part
    from holding it."""
    boundary = "=" * 15 + f"{random.randrange(sys.maxsize):0{_WIDTH}d}" + "=="
    candidate, counter = boundary, 0
    # (The substring test first: the pattern is compiled afresh for every token.)
    while b"--" + candidate.encode("ascii") in text and re.search(
        ("^--" + re.escape(candidate) + "(--)?$").encode("ascii"), text, re.MULTILINE
    ):
        candidate = f"{boundary}.{counter}"
        counter += 1
    return candidate


def _multipart(subtype: str, parts: Sequence[bytes]) -> tuple[str, bytes, bytes]:
    """The Content-Type header's value and folded line, and the body of a multipart over `parts`, as
    the generator writes them."""
    boundary = _boundary(_NL.join(parts))
    dash = b"--" + boundary.encode("ascii")
    body = dash + _NL + (_NL + dash + _NL).join(parts) + _NL + dash + b"--" + _NL
    value = f'multipart/{subtype}; boundary="{boundary}"'
    if len(boundary) == len(_PLACEHOLDER):
        folded = _constant("Content-Type", f'multipart/{subtype}; boundary="{_PLACEHOLDER}"').replace(
            _PLACEHOLDER.encode("ascii"), boundary.encode("ascii")
        )
    else:  # a token that had to be suffixed
        folded = _fold(*_header("Content-Type", value))
    return value, folded, body


def compose(
    rendered: Rendered,
    *,
    sender: str,
    to: list[str],
    msg_id: str,
    created: datetime,
    attachments: list[DocumentRef],
    calendar: bytes | None = None,
) -> Composed:
    """The bytes `build(...)` serializes to with SMTP_POLICY (same arguments)."""
    name, address = parseaddr(sender)
    headers: list[tuple[str, str]] = [
        _constant_header("From", formataddr((header_safe(name), address)) if name else address),
        # Address() refuses anything that is not one addr-spec, so a "name <x>\nBcc: y" cannot slip in.
        _header("To", ", ".join(str(Address(addr_spec=header_safe(a))) for a in to)),
        _header("Subject", header_safe(rendered.subject)),
        _header("Message-ID", msg_id),
        _header("Date", format_datetime(created)),
        # Out-of-office replies must not answer an automatic message (RFC 3834).
        _constant_header("Auto-Submitted", "auto-generated"),
        _constant_header("MIME-Version", "1.0"),
    ]
    alternatives = [_text_part(rendered.text, "plain", False), _text_part(rendered.html, "html", True)]
    content_type, folded, body = _multipart("alternative", alternatives)
    if calendar is not None or attachments:
        mixed = [folded + _NL + body]
        if calendar is not None:
            mixed.append(_calendar(calendar))
        mixed.extend(_attachment(doc) for doc in attachments)
        content_type, folded, body = _multipart("mixed", mixed)
    head = b"".join(_fold(n, v) for n, v in headers) + folded
    return Composed(raw=head + _NL + body, headers=[*headers, ("Content-Type", content_type)])
