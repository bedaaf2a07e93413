"""Every subject decodes to exactly the text rendered: a long non-ASCII subject, folded
over several lines, used to lose the space between two encoded-words (« 0007 —Communauté »)."""

from __future__ import annotations

from datetime import UTC, datetime
from email import message_from_bytes, policy

import pytest

from ami.domain.register import load_register
from ami.infra.mail.message import SMTP_POLICY, build
from ami.infra.mail.render import Rendered, purposes, render
from tests.email_fixtures import french_context

ISSUE = "[AMI] Nouvelle candidature AMI-2024-ami-2024-demo-101010-0007 — Communauté urbaine d'Arras"
# The region's longest names: the most folding, with é, è, ç, œ and apostrophes.
LONG_NAMES = sorted({e.name for e in load_register().in_region("32")}, key=len, reverse=True)[:40]


def round_trip(subject: str) -> str:
    message = build(
        Rendered(subject=subject, text="x\n", html="<p>x</p>"),
        sender="Apes Hauts-de-France <ami@example.org>",
        to=["a@example.org"],
        msg_id="<id@ami.example.org>",
        created=datetime(2024, 9, 15, 7, tzinfo=UTC),
        attachments=[],
    )
    raw = message.as_bytes(policy=SMTP_POLICY)
    head = raw.split(b"\r\n\r\n", 1)[0]
    assert all(len(line) <= 78 for line in head.split(b"\r\n")), head  # still folded as RFC 5322 asks
    return str(message_from_bytes(raw, policy=policy.default)["Subject"])


def test_the_subject_of_the_issue_keeps_its_spaces() -> None:
    assert round_trip(ISSUE) == ISSUE


def test_the_standard_folding_lost_them() -> None:
    """What the test above guards against (if Python fixes it, this test says the policy may go)."""
    message = build(
        Rendered(subject=ISSUE, text="x\n", html="<p>x</p>"),
        sender="ami@example.org",
        to=["a@example.org"],
        msg_id="<id@ami.example.org>",
        created=datetime(2024, 9, 15, 7, tzinfo=UTC),
        attachments=[],
    )
    assert str(message_from_bytes(message.as_bytes(policy=policy.SMTP), policy=policy.default)["Subject"]) != ISSUE


@pytest.mark.parametrize("purpose", purposes())
def test_every_subject_round_trips(purpose: str) -> None:
    for name in ("Lomme", *LONG_NAMES[:8]):
        context = french_context(collectivite={"name": name, "official_name": name}, receipt_number="AMI-2024-ami-2024-demo-101010-0007")
        subject = render(purpose, context).subject
        assert round_trip(subject) == subject, purpose


def test_long_names_round_trip_in_a_subject() -> None:
    for name in LONG_NAMES:
        subject = f"[AMI] Nouvelle candidature AMI-2024-0007 — {name} « test » : réponse"
        assert round_trip(subject) == subject
    assert round_trip("Invitation : séance 1") == "Invitation : séance 1"
    assert round_trip("Plain ASCII subject " * 6) == ("Plain ASCII subject " * 6).strip()
