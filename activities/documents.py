"""Make a document, store it under a content-addressed path and record it with the candidature.

The campaign report is the exception to « the workflow sends what the document shows »: it receives
the campaign's id and schedule (`CampaignReportRequest`) and reads every figure from the store
(`ami/campaign_report.py`). The former shape, with the figures computed by the workflow, is still
accepted (`CampaignReportInput`, told apart by its `counts`).
"""

from __future__ import annotations

import asyncio
import hashlib
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from pydantic import BaseModel
from temporalio import activity

from activities.heartbeat import heartbeating
from ami.campaign_report import campaign_report
from ami.documents import pdf
from ami.privacy import campaign_of, notice
from ami.private_files import private_dir, write_private
from ami.register import load_register
from ami.settings import Settings, get_settings
from ami.store import Store, store_for
from models import documents as inputs
from models.activity_payloads import MakeDocumentInput
from models.tables import DocumentRow
from models.values import DocumentRef

# kind -> (input model, renderer, file name stem)
RENDERERS: dict[str, tuple[type[BaseModel], Callable[..., bytes], str]] = {
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

    def _input(self, kind: str, data: dict[str, Any]) -> BaseModel:
        """The document's input model; the campaign report's is built from the store."""
        if kind == "campaign_report" and "counts" not in data:
            request = inputs.CampaignReportRequest.model_validate(data)
            code = request.region
            if code is None:
                row = self.store.campaign(request.campaign_id)
                code = row.region if row else None
            return campaign_report(self.store, request, load_register().region_name(code) if code else None)
        if kind == "campaign_report" and str(data.get("region_name", "")).isdigit():
            # The former shape carried the region's code (« Région 32 »): print its name.
            data = {**data, "region_name": load_register().region_name(data["region_name"]) or data["region_name"]}
        model = RENDERERS[kind][0]
        return model.model_validate(data)

    @activity.defn
    async def make_document(self, input: MakeDocumentInput) -> DocumentRef:
        _, renderer, stem = RENDERERS[input.kind]
        raw = input.data
        if input.kind == "summary" and not raw.get("privacy_notice"):
            raw = {**raw, "privacy_notice": notice(campaign_of(input.workflow_id), self.settings.campaigns_dir) or []}
        # Rendering can take seconds on a busy machine: heartbeats let a lost task resume quickly.
        data = await heartbeating(asyncio.to_thread(self._input, input.kind, raw))
        content = await heartbeating(asyncio.to_thread(renderer, data, demo=self.settings.demo))
        path, digest = await heartbeating(asyncio.to_thread(store_content, self.settings.data_dir, content, ".pdf"))
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
