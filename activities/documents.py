"""Make a document, store it under a content-addressed path and record it with the candidature."""

from __future__ import annotations

import asyncio
import hashlib
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from pydantic import BaseModel
from temporalio import activity

from ami.documents import pdf
from ami.private_files import private_dir, write_private
from ami.settings import Settings, get_settings
from ami.store import Store, store_for
from models import documents as inputs
from models.messages import DocumentRef, MakeDocumentInput
from models.tables import DocumentRow

# kind -> (input model, renderer, file name stem)
RENDERERS: dict[str, tuple[type[BaseModel], Callable[[Any], bytes], str]] = {
    "summary": (inputs.SummaryDocInput, pdf.summary_pdf, "recapitulatif-candidature"),
    "decision_letter": (inputs.DecisionLetterInput, pdf.decision_letter_pdf, "lettre-de-decision"),
    "certificate": (inputs.CertificateInput, pdf.certificate_pdf, "attestation-de-participation"),
    "collectivite_report": (inputs.CollectiviteReportInput, pdf.collectivite_report_pdf, "rapport-de-capitalisation"),
    "campaign_report": (inputs.CampaignReportInput, pdf.campaign_report_pdf, "rapport-de-campagne"),
}


def store_content(data_dir: Path, content: bytes, suffix: str) -> tuple[Path, str]:
    """Write `content` under documents/<aa>/<sha256><suffix>; the same bytes land on the same path."""
    digest = hashlib.sha256(content).hexdigest()
    path = data_dir / "documents" / digest[:2] / f"{digest}{suffix}"
    if not path.exists():
        private_dir(path.parent)
        partial = path.with_suffix(path.suffix + ".part")
        write_private(partial, content)
        partial.replace(path)  # atomic: a crash never leaves a half-written document
    return path, digest


class DocumentActivities:
    def __init__(self, settings: Settings | None = None, store: Store | None = None) -> None:
        self.settings = settings or get_settings()
        self.store = store or store_for(self.settings.resolved_database_url())

    @activity.defn
    async def make_document(self, input: MakeDocumentInput) -> DocumentRef:
        model, renderer, stem = RENDERERS[input.kind]
        data = model.model_validate(input.data)
        content = await asyncio.to_thread(renderer, data)
        path, digest = await asyncio.to_thread(store_content, self.settings.data_dir, content, ".pdf")
        filename = f"{stem}-{input.receipt_number}.pdf" if input.receipt_number else f"{stem}.pdf"
        ref = DocumentRef(kind=input.kind, filename=filename, path=str(path), sha256=digest)
        await asyncio.to_thread(
            self.store.record_document,
            DocumentRow(
                workflow_id=input.workflow_id,
                receipt_number=input.receipt_number,
                kind=input.kind,
                filename=filename,
                path=str(path),
                sha256=digest,
                created_at=datetime.now(UTC),
            ),
        )
        return ref
