"""`send_email` against real SMTP servers (aiosmtpd on free local ports): delivery, no duplicates on
retry, TLS modes, credentials, timeouts, 4xx retries, 5xx bounces, header injection, the .ics."""

from __future__ import annotations

import asyncio
import socket
from collections.abc import Iterator
from datetime import datetime
from email import message_from_bytes, policy
from email.message import EmailMessage
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import aiosmtplib
import pytest
from icalendar import Calendar
from temporalio.testing import ActivityEnvironment

from ami.activities.email import EmailActivities
from ami.infra.mail.sink import EmlWriter
from ami.infra.settings import Settings, SmtpTls
from ami.models.activity_payloads import SendEmailInput
from ami.models.values import DocumentRef
from tests.conftest import free_port
from tests.email_fixtures import FlakySink, authenticator, french_context, self_signed, serve, server_context

PARIS = ZoneInfo("Europe/Paris")
TO = ["mairie@example.org"]


def _input(purpose: str = "receipt", to: list[str] | None = None, **context: Any) -> SendEmailInput:
    return SendEmailInput(workflow_id="cand-ami-2024-007", purpose=purpose, to=to or TO, context=french_context(**context))


def _parse(raw: bytes) -> EmailMessage:
    parsed = message_from_bytes(raw, policy=policy.default)
    assert isinstance(parsed, EmailMessage)
    return parsed


async def _run(acts: EmailActivities, input: SendEmailInput) -> Any:
    return await ActivityEnvironment().run(acts.send_email, input)


@pytest.fixture
def certs(tmp_path: Path) -> tuple[Path, Path]:
    return self_signed(tmp_path)


# --- delivery and idempotence ------------------------------------------------------------------


async def test_retry_sends_one_message_with_the_same_id(settings: Settings, sink: EmlWriter, tmp_path: Path) -> None:
    summary = tmp_path / "recapitulatif.pdf"
    summary.write_bytes(b"%PDF-1.7 recapitulatif")
    doc = DocumentRef(kind="summary", filename="récapitulatif-AMI-2024-007.pdf", path=str(summary), sha256="x")
    acts = EmailActivities(settings)
    input = _input().model_copy(update={"attachments": [doc]})
    first, second = await _run(acts, input), await _run(acts, input)
    assert first == second and first.status == "sent"
    assert len(sink.received) == 1
    message = _parse(sink.received[0][1])
    assert message["Message-ID"] == first.message_id
    assert "8 septembre 2024 à 14 h 05" in message.get_body(("plain",)).get_content()  # type: ignore[union-attr]
    attachment = next(message.iter_attachments())
    assert attachment.get_filename() == "récapitulatif-AMI-2024-007.pdf"
    assert attachment.get_content() == b"%PDF-1.7 recapitulatif"
    assert acts.store.outbox_get(first.message_id).status == "sent"  # type: ignore[union-attr]


async def test_crash_after_acceptance_resends_identical_bytes(settings: Settings, sink: EmlWriter, monkeypatch: pytest.MonkeyPatch) -> None:
    acts = EmailActivities(settings)
    mark = acts.store.outbox_mark
    crashed: list[bool] = []

    def crash_once(message_id: str, status: str, detail: str | None = None) -> None:
        if not crashed:
            crashed.append(True)
            raise RuntimeError("le worker s'arrête entre l'envoi et le marquage")
        mark(message_id, status, detail)

    monkeypatch.setattr(acts.store, "outbox_mark", crash_once)
    with pytest.raises(RuntimeError):
        await _run(acts, _input())
    outcome = await _run(acts, _input())
    assert outcome.status == "sent"
    (_, first), (_, again) = sink.received
    assert first == again  # same Message-ID, same Date, same boundaries: byte for byte


# --- safety ------------------------------------------------------------------------------------


async def test_no_header_injection_through_a_name(settings: Settings, sink: EmlWriter) -> None:
    evil = {"name": "Mairie de Lens\r\nBcc: evil@example.org", "official_name": None}
    await _run(EmailActivities(settings), _input("coord_new_candidature", to=["coord@example.org"], collectivite=evil))
    rcpts, raw = sink.received[0]
    assert rcpts == ["coord@example.org"]
    head = raw.split(b"\r\n\r\n", 1)[0]
    assert not any(line.lower().startswith(b"bcc") for line in head.split(b"\r\n"))
    # Applicant text stays out of the subject, where header injection happens: the name is in the body only.
    assert str(_parse(raw)["Subject"]) == "[AMI] Nouvelle candidature AMI-2024-007"


async def test_free_text_is_escaped_in_html(settings: Settings, sink: EmlWriter) -> None:
    await _run(EmailActivities(settings), _input("ineligible"))
    html = _parse(sink.received[0][1]).get_body(("html",)).get_content()  # type: ignore[union-attr]
    assert "<script>" not in html and "&lt;script&gt;" in html and "<b>gras</b>" not in html


# --- the calendar invitation -------------------------------------------------------------------


@pytest.mark.parametrize(("starts_at", "offset_hours"), [("2024-09-12T12:00:00+00:00", 2), ("2024-12-05T13:00:00+00:00", 1)])
async def test_ics_gives_paris_time(settings: Settings, sink: EmlWriter, starts_at: str, offset_hours: int) -> None:
    start = datetime.fromisoformat(starts_at)
    end = start.replace(hour=start.hour + 3)
    calendar = {
        "uid": "ami-2024-session-2-AMI-2024-007@ami.apes-hdf.org",
        "sequence": 1,
        "summary": "Cycle « plateformes » — séance 2",
        "description": "Marchés publics & œuvre",
        "location": "Hôtel de Région, Lille",
        "starts_at": start.isoformat(),
        "ends_at": end.isoformat(),
        "timezone": "Europe/Paris",
    }
    session = {**french_context()["session"], "starts_at": start.isoformat(), "ends_at": end.isoformat()}
    await _run(EmailActivities(settings), _input("session_updated", session=session, calendar=calendar))
    message = _parse(sink.received[0][1])
    assert "de 14 h 00 à 17 h 00" in message.get_body(("plain",)).get_content()  # type: ignore[union-attr]
    part = next(p for p in message.walk() if p.get_content_type() == "text/calendar")
    assert part.get_param("method") == "REQUEST"
    cal = Calendar.from_ical(part.get_content())
    event = cal.walk("VEVENT")[0]
    dtstart = event.decoded("dtstart")
    assert str(dtstart.tzinfo) == "Europe/Paris" and dtstart.hour == 14
    assert dtstart.utcoffset().total_seconds() == offset_hours * 3600
    assert event.decoded("dtend").astimezone(PARIS).hour == 17
    assert event.decoded("sequence") == 1 and str(event["uid"]) == calendar["uid"]
    assert str(event["summary"]) == "Cycle « plateformes » — séance 2" and cal.walk("VTIMEZONE")


# --- retries and bounces -----------------------------------------------------------------------


async def test_451_raises_then_the_retry_succeeds(settings: Settings, tmp_path: Path) -> None:
    flaky = FlakySink(tmp_path / "flaky")
    port = free_port()
    with serve(flaky, port):
        acts = EmailActivities(settings.model_copy(update={"smtp_port": port}))
        with pytest.raises(aiosmtplib.SMTPDataError) as error:
            await _run(acts, _input())
        assert error.value.code == 451
        outcome = await _run(acts, _input())
    assert outcome.status == "sent" and len(flaky.received) == 1


async def test_550_is_a_bounce_recorded_in_the_outbox(settings: Settings, sink: EmlWriter) -> None:
    acts = EmailActivities(settings)
    outcome = await _run(acts, _input(to=["refuse@example.org"]))
    assert outcome.status == "bounced" and "550" in (outcome.detail or "") and "refuse@example.org" in (outcome.detail or "")
    row = acts.store.outbox_get(outcome.message_id)
    assert row is not None and row.status == "bounced" and row.detail == outcome.detail
    assert not sink.received
    assert (await _run(acts, _input(to=["refuse@example.org"]))) == outcome  # a retry does not knock again


async def test_partial_refusal_delivers_to_the_others_and_reports(settings: Settings, sink: EmlWriter) -> None:
    outcome = await _run(EmailActivities(settings), _input(to=["mairie@example.org", "refuse@example.org"]))
    assert outcome.status == "bounced" and "refuse@example.org" in (outcome.detail or "")
    assert [rcpts for rcpts, _ in sink.received] == [["mairie@example.org"]]


# --- TLS, credentials, timeouts ----------------------------------------------------------------


async def test_starttls_required_refuses_a_server_without_it(settings: Settings, sink: EmlWriter) -> None:
    acts = EmailActivities(settings.model_copy(update={"smtp_tls": SmtpTls.STARTTLS}))
    with pytest.raises(aiosmtplib.SMTPException, match="STARTTLS"):
        await _run(acts, _input())
    assert not sink.received
    row = acts.store.outbox_get(acts.store.emails()[0].message_id)
    assert row is not None and row.status == "pending"  # Temporal retries; nothing marked


async def test_starttls_with_credentials(settings: Settings, tmp_path: Path, certs: tuple[Path, Path]) -> None:
    handler = EmlWriter(tmp_path / "tls")
    port = free_port()
    with serve(
        handler,
        port,
        tls_context=server_context(*certs),
        require_starttls=True,
        authenticator=authenticator("ami", "s3cret"),
        auth_required=True,
    ):
        base = {"smtp_port": port, "smtp_tls": SmtpTls.STARTTLS, "smtp_username": "ami", "smtp_ca_file": certs[0]}
        wrong = EmailActivities(settings.model_copy(update={**base, "smtp_password": "faux"}))
        with pytest.raises(aiosmtplib.SMTPAuthenticationError):  # a 535 is our problem, not a bounce
            await _run(wrong, _input())
        outcome = await _run(EmailActivities(settings.model_copy(update={**base, "smtp_password": "s3cret"})), _input())
    assert outcome.status == "sent" and len(handler.received) == 1


@pytest.mark.parametrize("trust", ["validate_certs_false", "ca_file", "default"])
async def test_implicit_tls_with_a_self_signed_certificate(
    settings: Settings, tmp_path: Path, certs: tuple[Path, Path], trust: str
) -> None:
    handler = EmlWriter(tmp_path / "implicit")
    port = free_port()
    update: dict[str, Any] = {"smtp_port": port, "smtp_tls": SmtpTls.IMPLICIT}
    if trust == "validate_certs_false":
        update["smtp_validate_certs"] = False
    elif trust == "ca_file":
        update["smtp_ca_file"] = certs[0]
    with serve(handler, port, ssl_context=server_context(*certs)):
        acts = EmailActivities(settings.model_copy(update=update))
        if trust == "default":  # an unknown certificate is refused, and nothing leaves
            with pytest.raises(aiosmtplib.SMTPConnectError):
                await _run(acts, _input())
            assert not handler.received
            return
        outcome = await _run(acts, _input())
    assert outcome.status == "sent" and len(handler.received) == 1


@pytest.fixture
def silent_server() -> Iterator[int]:
    """Accepts connections and never says a word."""
    server = socket.socket()
    server.bind(("127.0.0.1", 0))
    server.listen()
    try:
        yield int(server.getsockname()[1])
    finally:
        server.close()


async def test_a_silent_server_times_out(settings: Settings, silent_server: int) -> None:
    acts = EmailActivities(settings.model_copy(update={"smtp_port": silent_server, "smtp_timeout": 0.3}))
    with pytest.raises(aiosmtplib.SMTPTimeoutError):
        await asyncio.wait_for(_run(acts, _input()), 10)


async def test_credentials_never_go_in_clear_to_a_remote_relay(settings: Settings) -> None:
    acts = EmailActivities(settings.model_copy(update={"smtp_host": "smtp.example.org", "smtp_username": "ami", "smtp_password": "x"}))
    with pytest.raises(RuntimeError, match="en clair"):
        await _run(acts, _input())
