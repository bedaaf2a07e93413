"""Personal data without a server: the privacy notice on every email to a collectivité, the blank form and
the summary PDF; the retention arithmetic; `ami rgpd erase --email` on the store and the outbox."""

from __future__ import annotations

import io
from datetime import UTC, datetime
from pathlib import Path

import pytest
from docx import Document
from pypdf import PdfReader

from ami.app.cli.main import main
from ami.app.erase_person import erase_person
from ami.app.examples import example
from ami.infra.documents.form_docx import blank_form_docx, read_form_docx
from ami.infra.documents.pdf_summary import summary_pdf
from ami.infra.mail.render import purposes, render
from ami.infra.privacy import email_notice
from ami.infra.store import Store, store_for
from ami.models.campaign import CAMPAIGNS_DIR, load_campaign
from ami.models.documents import SummaryDocInput
from ami.models.privacy import DataKind, add_months, notice_paragraphs
from ami.models.tables import CandidatureRow, DocumentRow, EmailRow
from ami.models.workflow_ids import campaign_of
from tests.conftest import free_port
from tests.email_fixtures import french_context

CAMPAIGN = load_campaign("ami-2024")
NOTICE = notice_paragraphs(CAMPAIGN.privacy, CAMPAIGN.retention)


def flat(text: str) -> str:
    return " ".join(text.replace("\u00a0", " ").replace("\u202f", " ").split())


def test_the_notice_says_who_why_on_which_basis_how_long_and_whom_to_ask() -> None:
    text = flat(" ".join(NOTICE))
    for needle in ("Apes Hauts-de-France", "Finalité", "6.1.f", "6 mois après la réponse", "2 ans après la capitalisation", "CNIL"):
        assert needle in text
    assert str(CAMPAIGN.privacy.contact) in text


@pytest.mark.parametrize("purpose", purposes())
def test_every_email_to_a_collectivite_ends_with_the_notice(purpose: str) -> None:
    context = french_context()
    notice = email_notice(purpose, context, CAMPAIGNS_DIR)
    rendered = render(purpose, {**context, "privacy": notice})
    if purpose.startswith("coord_"):
        assert notice is None and "Vos données personnelles" not in rendered.text
        return
    assert notice == NOTICE
    for part in (rendered.text, rendered.html.replace("&#39;", "'")):
        assert "Vos données personnelles" in part and "donnees-personnelles@example.org" in part
        assert flat(part).index("Vos données personnelles") > flat(part).index("Message envoyé automatiquement")


def test_no_campaign_file_no_notice(tmp_path: Path) -> None:
    assert email_notice("receipt", french_context(), tmp_path) is None


def test_blank_form_and_summary_carry_the_notice() -> None:
    docx = blank_form_docx(CAMPAIGN.name, NOTICE)
    text = flat("\n".join(p.text for p in Document(io.BytesIO(docx)).paragraphs))
    assert "Vos données personnelles" in text and flat(NOTICE[0]) in text
    assert read_form_docx(docx)["collectivite"]  # the reader still finds its sections
    data = SummaryDocInput(
        receipt_number="AMI-2024-0001",
        campaign_name=CAMPAIGN.name,
        received_at=datetime(2024, 8, 1, 10, tzinfo=UTC),
        form=example("01-henin-carvin"),
        privacy_notice=NOTICE,
    )
    pdf = flat("\n".join(page.extract_text() for page in PdfReader(io.BytesIO(summary_pdf(data))).pages))
    assert "Vos données personnelles" in pdf and "donnees-personnelles@example.org" in pdf


def test_form_template_command_writes_the_notice(tmp_path: Path) -> None:
    out = tmp_path / "formulaire.docx"
    assert main(["form", "template", "--out", str(out)]) == 0
    assert "Vos données personnelles" in "\n".join(p.text for p in Document(str(out)).paragraphs)


def test_retention_arithmetic() -> None:
    start = datetime(2024, 8, 31, 12, tzinfo=UTC)
    assert add_months(start, 6) == datetime(2025, 2, 28, 12, tzinfo=UTC)
    assert CAMPAIGN.retention.expires(DataKind.COMPLETED, start) == datetime(2026, 8, 31, 12, tzinfo=UTC)
    assert campaign_of("candidature-ami-2024-246200299") == "ami-2024" == campaign_of("campaign-ami-2024")
    assert campaign_of("candidature-ami-2024-2A004") == "ami-2024"


def _dossier(store: Store, tmp_path: Path, siren: str, form: dict[str, object], state: str) -> str:
    wid = f"candidature-ami-2024-{siren}"
    now = datetime(2024, 9, 1, tzinfo=UTC)
    summary = tmp_path / f"{siren}.pdf"
    summary.write_bytes(b"%PDF summary")
    with store.sessions.begin() as session:
        session.add(CandidatureRow(workflow_id=wid, campaign_id="ami-2024", receipt_number=siren, state=state, form=form, updated_at=now))
        to = form["political_referent"]["email"]  # type: ignore[index]
        session.add(
            EmailRow(
                message_id=f"<{siren}>",
                workflow_id=wid,
                purpose="receipt",
                occurrence="1",
                subject="Accusé",
                raw=f"To: {to}\r\n\r\nBonjour".encode(),
                status="sent",
                created_at=now,
            )
        )
        session.add(DocumentRow(workflow_id=wid, kind="summary", filename="r.pdf", path=str(summary), sha256=siren, created_at=now))
    return wid


def test_erase_one_person_across_every_dossier(tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch) -> None:
    url = f"sqlite:///{tmp_path / 'ami.db'}"
    store = store_for(url)
    leaver = "Elu.Commun@example.org"
    shared = {
        "collectivite": {"name": "X", "email": "contact@example.org"},
        "political_referent": {"name": "Jeanne Commune", "email": leaver},
        "technical_referent": {"name": "Paul Reste", "email": "reste@example.org"},
    }
    alone = {
        "collectivite": {"name": "Y", "email": leaver.lower()},
        "political_referent": {"name": "Jeanne Commune", "email": leaver.lower()},
        "technical_referent": None,
    }
    other = {"collectivite": {"name": "Z", "email": "z@example.org"}, "political_referent": {"name": "Autre", "email": "autre@example.org"}}
    running = _dossier(store, tmp_path, "246200299", shared, "enrolled")
    closed = _dossier(store, tmp_path, "200093201", alone, "closed")
    untouched = _dossier(store, tmp_path, "200041960", other, "closed")

    monkeypatch.setenv("AMI_DATABASE_URL", url)
    # No Temporal server there: the store is erased, and the running dossier is named, exit 4.
    monkeypatch.setenv("AMI_TEMPORAL_ADDRESS", f"127.0.0.1:{free_port()}")
    from ami.infra.settings import get_settings

    get_settings.cache_clear()
    try:
        assert main(["rgpd", "erase", "--email", leaver]) == 4
    finally:
        get_settings.cache_clear()
    output = capsys.readouterr()
    assert "2 dossier(s)" in output.out and f"{running} : dossier en cours" in output.out
    assert f"{closed} : plus aucune adresse de contact" in output.err

    rows = {c.workflow_id: c for c in store.candidatures("ami-2024")}
    assert leaver.lower() not in str(rows[running].form).lower() and "Paul Reste" in str(rows[running].form)
    assert "Jeanne" not in str(rows[closed].form) and rows[untouched].form == other
    emails = {e.workflow_id: e for e in store.emails()}
    assert emails[running].raw == b"" and emails[closed].raw == b"" and emails[untouched].raw != b""
    assert not (tmp_path / "246200299.pdf").exists() and (tmp_path / "200041960.pdf").exists()
    assert erase_person(store, leaver, datetime.now(UTC)).dossiers == []  # nothing left to find
    with pytest.raises(SystemExit) as exit_:
        main(["rgpd", "erase", "--email", "pas une adresse"])
    assert exit_.value.code == 2
