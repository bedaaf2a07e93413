"""Findings of the security review: header injection in depth, sandboxed templates, no address in
retry errors. Each test failed on the code before the fix."""

from __future__ import annotations

from datetime import UTC, datetime
from email import policy
from pathlib import Path
from typing import Any

import aiosmtplib
import pytest
from aiosmtpd.smtp import SMTP, Envelope, Session
from temporalio.exceptions import ApplicationError
from temporalio.testing import ActivityEnvironment

from ami.activities.email import EmailActivities
from ami.infra.mail.guard import HeaderMismatch, interpreter_vulnerable, interpreter_warning, verify
from ami.infra.mail.message import build, envelope
from ami.infra.mail.render import TEMPLATE_ERROR, Rendered, TemplateCheckError, check_templates, render
from ami.infra.mail.sample import sample_context
from ami.infra.mail.sink import EmlWriter
from ami.infra.mail.smtp import TemporaryRefusal, deliver
from ami.infra.settings import Settings
from ami.models.activity_payloads import SendEmailInput
from tests.conftest import free_port
from tests.email_fixtures import serve

SENDER = "Apes <ami@example.org>"
ENCODED_WORD = "Mairie =?utf-8?q?=0D=0ACc:_attacker@evil.example?="


def _message(subject: str, to: list[str]) -> tuple[bytes, Any]:
    rendered = Rendered(subject=subject, text="Bonjour\n", html="<p>Bonjour</p>")
    message = build(rendered, sender=SENDER, to=to, msg_id="<id@example.org>", created=datetime(2024, 9, 1, tzinfo=UTC), attachments=[])
    return message.as_bytes(policy=policy.SMTP), message


# --- 1. the interpreter, the re-parse, the subjects ---------------------------------------------------


@pytest.mark.parametrize(
    ("version", "vulnerable"),
    [((3, 11, 7), True), ((3, 11, 9), True), ((3, 11, 10), False), ((3, 12, 4), True), ((3, 12, 5), False), ((3, 13, 0), False)],
)
def test_interpreter_check(version: tuple[int, int, int], vulnerable: bool) -> None:
    assert interpreter_vulnerable(version) is vulnerable
    warning = interpreter_warning(version)
    assert (warning is not None) is vulnerable
    if warning:
        assert "CVE-2024-6923" in warning and ".".join(map(str, version)) in warning


def test_worker_warns_but_runs_on_a_vulnerable_interpreter(monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]) -> None:
    from ami.app.cli import cmd_runtime
    from ami.app.cli.main import main

    monkeypatch.setattr(cmd_runtime, "worker_command", lambda args: 0)
    monkeypatch.setattr("ami.infra.mail.guard.interpreter_vulnerable", lambda version=None: True)
    assert main(["worker"]) == 0  # warned, never refused: the README's commands keep working
    assert "CVE-2024-6923" in capsys.readouterr().err
    assert main(["diagram"]) == 0 and "CVE" not in capsys.readouterr().err  # only where emails are built


def test_reparse_catches_an_added_header() -> None:
    raw, message = _message("Accusé de réception", ["mairie@example.org"])
    head, _, body = raw.partition(b"\r\n\r\n")
    tampered = head + b"\r\nCc: attacker@evil.example\r\n\r\n" + body
    verify(raw, message, "ami@example.org", ["mairie@example.org"])  # the message as built reads back
    with pytest.raises(HeaderMismatch, match="cc") as error:
        verify(tampered, message, "ami@example.org", ["mairie@example.org"])
    assert "attacker" not in str(error.value)  # header names, never addresses


def test_encoded_word_never_reaches_an_extra_recipient() -> None:
    """On a vulnerable interpreter the standard library itself adds the Cc; the re-parse refuses it."""
    raw, message = _message(ENCODED_WORD, ["coord@example.org"])
    injected = "attacker@evil.example" in envelope(raw)[1]
    if injected:
        with pytest.raises(HeaderMismatch, match="destinataires|cc"):
            verify(raw, message, "ami@example.org", ["coord@example.org"])
    else:
        verify(raw, message, "ami@example.org", ["coord@example.org"])
    assert injected is interpreter_vulnerable()


async def test_activity_never_sends_a_message_that_does_not_read_back(settings: Settings, sink: EmlWriter, tmp_path: Path) -> None:
    override = tmp_path / "modeles"
    override.mkdir()
    # A coordinator's subject quoting the name: the model refuses `=?` today, this name comes from elsewhere.
    (override / "coord_new_candidature.j2").write_text(
        '{% extends "_base.j2" %}{% block subject %}Nouvelle : {{ collectivite.name }}{% endblock %}', encoding="utf-8"
    )
    acts = EmailActivities(settings.model_copy(update={"templates_dir": override}))
    context = {**sample_context(), "collectivite": {"name": ENCODED_WORD, "official_name": None}}
    request = SendEmailInput(workflow_id="w", purpose="coord_new_candidature", to=["coord@example.org"], context=context)
    outcome = await ActivityEnvironment().run(acts.send_email, request)
    # The outbox folds subjects itself (ami/infra/mail/message.py SMTP_POLICY), which leaves the encoded
    # word as text; should a folding ever turn it into a header, the re-reading refuses the message.
    if outcome.status == "bounced":
        assert "relit" in (outcome.detail or "") and not sink.received
    else:
        assert outcome.status == "sent"
    assert all("attacker@evil.example" not in rcpts for rcpts, _ in sink.received)


@pytest.mark.parametrize("purpose", ["coord_new_candidature", "coord_bounce"])
def test_coordinators_subjects_hold_no_applicant_text(purpose: str) -> None:
    context = {**sample_context(), "collectivite": {"name": "NOM-DU-CANDIDAT", "official_name": None}}
    rendered = render(purpose, context)
    assert "NOM-DU-CANDIDAT" not in rendered.subject
    assert "NOM-DU-CANDIDAT" in rendered.text  # still in the body


# --- 3. templates: sandbox, start-up check, non-retryable ---------------------------------------------


def _override(tmp_path: Path, body: str, purpose: str = "receipt") -> Path:
    folder = tmp_path / "modeles"
    folder.mkdir(exist_ok=True)
    (folder / f"{purpose}.j2").write_text('{% extends "_base.j2" %}{% block subject %}' + body + "{% endblock %}", encoding="utf-8")
    return folder


def test_template_override_cannot_run_code(tmp_path: Path) -> None:
    marker = tmp_path / "executed"
    folder = _override(tmp_path, "{{ cycler.__init__.__globals__.os.popen('touch " + str(marker) + "').read() }}")
    with pytest.raises(Exception, match="unsafe|not safely|attribute"):
        render("receipt", sample_context(), folder)
    assert not marker.exists()


def test_template_override_cannot_change_the_context(tmp_path: Path) -> None:
    folder = _override(tmp_path, "{{ campaign.update({'name': 'x'}) }}{{ campaign.name }}")
    context = sample_context()
    with pytest.raises(Exception, match="unsafe|not safely|modif|immutable"):
        render("receipt", context, folder)
    assert context["campaign"]["name"] != "x"


def test_worker_refuses_to_start_with_a_broken_template(tmp_path: Path) -> None:
    from ami.worker.runner import build_worker

    folder = _override(tmp_path, "{{ champ_inconnu.nom }}", purpose="decision_selected")
    with pytest.raises(TemplateCheckError, match="decision_selected"):
        check_templates(folder)
    with pytest.raises(TemplateCheckError):
        build_worker(None, Settings(templates_dir=folder, data_dir=tmp_path / "var"))  # type: ignore[arg-type]
    assert check_templates(None) == len(list((Path(__file__).parent.parent / "ami" / "data" / "templates" / "email").glob("[!_]*.j2")))


async def test_template_failing_at_run_time_is_not_retried(settings: Settings, sink: EmlWriter, tmp_path: Path) -> None:
    folder = _override(tmp_path, "{{ reasons[5].message }}")  # passes with the sample, fails on a real dossier
    acts = EmailActivities(settings.model_copy(update={"templates_dir": folder}))
    request = SendEmailInput(workflow_id="w", purpose="receipt", to=["mairie@example.org"], context={**sample_context(), "reasons": []})
    with pytest.raises(ApplicationError) as error:
        await ActivityEnvironment().run(acts.send_email, request)
    assert error.value.non_retryable and error.value.type == TEMPLATE_ERROR
    assert "receipt" in str(error.value) and not sink.received


# --- 10. no address in the exceptions Temporal retries ------------------------------------------------


class _Busy(EmlWriter):
    async def handle_RCPT(self, server: SMTP, session: Session, envelope: Envelope, address: str, rcpt_options: list[str]) -> str:
        return "450 4.2.0 mailbox busy <" + address + ">"


async def test_retry_errors_hold_no_address(tmp_path: Path) -> None:
    port = free_port()
    raw, _ = _message("Accusé", ["sophie.lambert@example.org"])
    with serve(_Busy(tmp_path / "mail"), port), pytest.raises(TemporaryRefusal) as error:
        await deliver(raw, Settings(smtp_port=port, data_dir=tmp_path))
    failure = error.value
    assert "@" not in str(failure) and "450" in str(failure)
    assert failure.__cause__ is None and failure.__suppress_context__  # no chained SMTP error quoting it
    assert isinstance(failure.__context__, aiosmtplib.SMTPRecipientsRefused)
