"""What `ami demo` leaves for a person, without running the demo: worker logs in a file
with one French note per kind of warning, and an index of the dossiers linked to their files."""

from __future__ import annotations

import logging
from datetime import UTC, datetime
from pathlib import Path

import pytest

from ami.app.demo_output import LOG_NAME, Dossier, eml_path, quiet_logs, write_index
from ami.infra.store import Store
from ami.models.tables import DocumentRow, EmailRow

NOW = datetime(2026, 11, 30, 10, tzinfo=UTC)


def test_worker_logs_go_to_the_file_with_one_note_per_kind(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    notes: list[str] = []
    with quiet_logs(tmp_path, notes.append) as log:
        logger = logging.getLogger("temporalio.activity")
        logger.info("email sent")
        for _ in range(3):
            logger.warning("email bounced ({'activity_id': '7'})")
        logging.getLogger("temporalio.core").warning("Task not found when completing")
    assert log == tmp_path / LOG_NAME
    written = log.read_text(encoding="utf-8")
    assert "email sent" in written and written.count("email bounced") == 3 and "Task not found" in written
    assert len(notes) == 2 and "refusé" in notes[0] and LOG_NAME in notes[0] and "SDK Temporal" in notes[1]
    captured = capsys.readouterr()
    assert "email bounced" not in captured.out + captured.err
    # Once the demo is over, logging is as it was.
    assert not any(getattr(h, "baseFilename", None) == str(log) for h in logging.getLogger().handlers)


def test_the_index_links_each_dossier_to_its_emails_and_documents(tmp_path: Path) -> None:
    store = Store(f"sqlite:///{tmp_path / 'ami.db'}")
    store.upgrade()
    mail = tmp_path / "mail"
    mail.mkdir()
    for mid, wid, purpose, subject, delivered in (
        ("<a1@ami>", "candidature-x-1", "receipt", "Accusé de réception AMI-1", True),
        ("<a2@ami>", "candidature-x-1", "session_invitation", "Invitation : séance 1", False),
        ("<c1@ami>", "campaign-x", "coord_campaign_report", "[AMI] Rapport", True),
    ):
        store.outbox_put(
            EmailRow(
                message_id=mid,
                workflow_id=wid,
                purpose=purpose,
                occurrence="1",
                subject=subject,
                raw=b"",
                status="sent",
                attempts=1,
                created_at=NOW,
            )
        )
        if delivered:
            eml_path(mail, mid).write_bytes(b"Date: Tue, 15 Oct 2024 14:00:00 +0200\r\nSubject: x\r\n\r\nx\r\n")
    pdf = tmp_path / "documents" / "ab" / "abcdef.pdf"
    pdf.parent.mkdir(parents=True)
    pdf.write_bytes(b"%PDF")
    store.record_document(
        DocumentRow(
            workflow_id="candidature-x-1",
            receipt_number="AMI-1",
            kind="certificate",
            filename="attestation-AMI-1.pdf",
            path=str(pdf),
            sha256="abcdef",
            created_at=NOW,
        )
    )
    dossiers = [Dossier("AMI-1", "Communauté urbaine d'Arras", "retenue", "capitalised", "reçue → capitalisée", "candidature-x-1")]
    page = write_index(tmp_path, store, "campaign-x", "AMI 2024", dossiers).read_text(encoding="utf-8")
    assert "AMI-1 — Communauté urbaine d&#x27;Arras" in page and "reçue → capitalisée" in page
    assert 'href="documents/ab/abcdef.pdf">attestation-AMI-1.pdf</a>' in page
    assert f'href="mail/{eml_path(mail, "<a1@ami>").name}">Accusé de réception AMI-1</a>' in page
    assert "15 octobre 2024 à 14 h 00" in page.replace("\u202f", " ").replace("\u00a0", " ")
    assert "Invitation : séance 1 <small>(invitation à une séance — refusé par le serveur, non remis)" in page
    assert "[AMI] Rapport" in page.split("AMI-1 —")[0]  # the campaign's own section comes first
