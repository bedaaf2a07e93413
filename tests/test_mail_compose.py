"""The bytes the email activity writes (ami/infra/mail/compose.py) are the standard library's own:
`build(...).as_bytes(policy=SMTP_POLICY)`, byte for byte, boundaries included (the same draws from
`random`), over every purpose, attachments, invitations, senders, recipients, subjects and bodies that
take each of the four transfer encodings."""

from __future__ import annotations

import random
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest

from ami.domain.register import load_register
from ami.infra.mail import calendar as ics
from ami.infra.mail.compose import compose
from ami.infra.mail.guard import HeaderMismatch, verify
from ami.infra.mail.message import SMTP_POLICY, build, envelope
from ami.infra.mail.render import Rendered, purposes, render
from ami.models.values import DocumentRef
from tests.email_fixtures import french_context

CREATED = datetime(2024, 9, 15, 7, 30, tzinfo=UTC)
TO = ["contact.henin-carvin@example.org", "elu.henin-carvin@example.org", "technique.henin-carvin@example.org"]
LONG_NAME = max((e.name for e in load_register().in_region("32")), key=len)
INVITE = {
    "uid": "ami-2024-session-2-AMI-2024-007@ami.apes-hdf.org",
    "sequence": 1,
    "summary": "Cycle « plateformes » — séance 2",
    "description": "Marchés publics & œuvre",
    "location": "Hôtel de Région, Lille",
    "starts_at": "2024-09-12T12:00:00+00:00",
    "ends_at": "2024-09-12T15:00:00+00:00",
    "timezone": "Europe/Paris",
}


def _doc(tmp_path: Path, filename: str, size: int, media_type: str = "application/pdf") -> DocumentRef:
    path = tmp_path / f"{len(list(tmp_path.iterdir()))}.bin"
    path.write_bytes(random.Random(size).randbytes(size))
    return DocumentRef(kind="summary", filename=filename, path=str(path), sha256="0" * 64, media_type=media_type)


def _both(rendered: Rendered, **kw: Any) -> tuple[bytes, bytes]:
    args: dict[str, Any] = {"sender": "Apes Hauts-de-France <ami@example.org>", "to": TO, "msg_id": "<id@ami.example.org>"}
    args |= {"created": CREATED, "attachments": []} | kw
    random.seed(20241)
    old = build(rendered, **args).as_bytes(policy=SMTP_POLICY)
    random.seed(20241)
    new = compose(rendered, **args).raw
    return old, new


@pytest.mark.parametrize("purpose", purposes())
def test_every_purpose_with_an_attachment(purpose: str, tmp_path: Path) -> None:
    context = french_context(collectivite={"name": LONG_NAME, "official_name": LONG_NAME})
    old, new = _both(render(purpose, context), attachments=[_doc(tmp_path, "recapitulatif-candidature-AMI-2024-007.pdf", 33_001)])
    assert new == old


@pytest.mark.parametrize(
    "attachments",
    [
        [],
        [("a.pdf", 0, "application/pdf")],
        [("a.pdf", 57, "application/pdf")],
        [("récapitulatif « été » de la candidature de la communauté d'agglomération.pdf", 4_000, "application/pdf")],
        [
            ("decision.pdf", 20_000, "application/pdf"),
            ("lettre.docx", 9_999, "application/vnd.openxmlformats-officedocument.wordprocessingml.document"),
        ],
    ],
)
@pytest.mark.parametrize("invite", [False, True])
def test_attachments_and_invitations(attachments: list[tuple[str, int, str]], invite: bool, tmp_path: Path) -> None:
    docs = [_doc(tmp_path, name, size, media) for name, size, media in attachments]
    calendar = ics.session_ics(INVITE, "ami@example.org") if invite else None
    old, new = _both(render("session_updated", french_context()), attachments=docs, calendar=calendar)
    assert new == old


@pytest.mark.parametrize(
    ("text", "html"),
    [
        ("Bonjour\n", "<p>Bonjour</p>"),  # 7bit
        ("Numéro de dossier : AMI-2024-007\n", "<p>Reçu</p>\n"),  # 8bit: short lines
        ("é" * 200 + "\r\nfin\rmilieu\n\n\n", "<p>" + "à" * 120 + "</p>"),  # quoted-printable, every line end
        ("Привет мир, " * 30 + "\n", "<p>" + "Ωμέγα " * 40 + "</p>"),  # base64
        ("From the start\n.\n", ""),  # a line that mbox would mangle, a lone dot, an empty part
    ],
)
def test_every_transfer_encoding(text: str, html: str) -> None:
    old, new = _both(Rendered(subject="Accusé de réception", text=text, html=html))
    assert new == old


@pytest.mark.parametrize(
    ("sender", "subject", "to"),
    [
        ("ami@example.org", "x", ["a@example.org"]),
        ("Région Hauts-de-France — AMI <ami@example.org>", f"[AMI] Nouvelle candidature AMI-2024-0007 — {LONG_NAME}", TO * 4),
        ('"Apes, Hauts-de-France" <ami@example.org>', "Un sujet ASCII assez long pour être plié sur plusieurs lignes " * 3, TO),
    ],
)
def test_headers(sender: str, subject: str, to: list[str]) -> None:
    old, new = _both(Rendered(subject=subject, text="x\n", html="<p>x</p>"), sender=sender, to=to)
    assert new == old


def test_a_part_holding_the_boundary_gives_the_generators_bytes() -> None:
    random.seed(20241)  # as `_both` seeds it: its first draw is the inner boundary
    inner = "=" * 15 + f"{random.randrange(2**63 - 1):019d}" + "=="
    old, new = _both(Rendered(subject="x", text=f"--{inner}\n", html="<p>x</p>"))
    assert f"--{inner}".encode() in new and new == old


def test_the_guard_reads_back_a_composed_message() -> None:
    message = compose(
        Rendered(subject="Accusé", text="x\n", html="<p>x</p>"),
        sender="Apes <ami@example.org>",
        to=TO,
        msg_id="<i@x>",
        created=CREATED,
        attachments=[],
    )
    assert verify(message.raw, message.headers, "ami@example.org", TO) == envelope(message.raw) == ("ami@example.org", TO)
    head, _, body = message.raw.partition(b"\r\n\r\n")
    with pytest.raises(HeaderMismatch, match="bcc"):
        verify(head + b"\r\nBcc: attacker@evil.example\r\n\r\n" + body, message.headers, "ami@example.org", TO)
    with pytest.raises(HeaderMismatch, match="Subject"):
        verify(message.raw.replace(b"Subject: =?utf-8?q?Accus=C3=A9?=", b"Subject: Autre"), message.headers, "ami@example.org", TO)
