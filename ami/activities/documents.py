"""Make a document, store it under a content-addressed path and record it with the candidature.

Each request carries its document's typed input (`ami/models/document_requests.py`). The campaign report
is the exception to « the workflow sends what the document shows »: it receives the campaign's id
and schedule (`CampaignReportRequest`) and reads every figure from the store
(`ami/infra/campaign_report.py`). The former shape, with the figures computed by the workflow, is still
accepted (`CampaignReportInput`).
"""

from __future__ import annotations

import asyncio
import hashlib
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path

from pydantic import BaseModel
from temporalio import activity

from ami.activities.base import StoreActivities
from ami.activities.heartbeat import heartbeating
from ami.domain.register import load_register
from ami.infra.campaign_report import campaign_report
from ami.infra.documents import pdf
from ami.infra.privacy import notice
from ami.infra.private_files import private_dir, write_private
from ami.models import documents as inputs
from ami.models.document_requests import CampaignReportDocumentRequest, MakeDocumentInput, SummaryRequest
from ami.models.tables import DocumentRow
from ami.models.values import DocumentKind, DocumentRef
from ami.models.workflow_ids import campaign_of

# kind -> (renderer, file name stem)
RENDERERS: dict[DocumentKind, tuple[Callable[..., bytes], str]] = {
    DocumentKind.SUMMARY: (pdf.summary_pdf, "recapitulatif-candidature"),
    DocumentKind.DECISION_LETTER: (pdf.decision_letter_pdf, "lettre-de-decision"),
    DocumentKind.CERTIFICATE: (pdf.certificate_pdf, "attestation-de-participation"),
    DocumentKind.COLLECTIVITE_REPORT: (pdf.collectivite_report_pdf, "rapport-de-capitalisation"),
    DocumentKind.CAMPAIGN_REPORT: (pdf.campaign_report_pdf, "rapport-de-campagne"),
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


class DocumentActivities(StoreActivities):
    def _input(self, request: MakeDocumentInput) -> BaseModel:
        """The document's input; the campaign report's is built from the store."""
        match request:
            case SummaryRequest(data=summary) if not summary.privacy_notice:
                found = notice(campaign_of(request.workflow_id), self.settings.campaigns_dir) or []
                return summary.model_copy(update={"privacy_notice": found})
            case CampaignReportDocumentRequest(data=inputs.CampaignReportRequest() as report):
                code = report.region
                if code is None:
                    row = self.store.campaign(report.campaign_id)
                    code = row.region if row else None
                return campaign_report(self.store, report, load_register().region_name(code) if code else None)
            case CampaignReportDocumentRequest(data=inputs.CampaignReportInput() as old) if old.region_name.isdigit():
                # The former shape carried the region's code (« Région 32 »): print its name.
                return old.model_copy(update={"region_name": load_register().region_name(old.region_name) or old.region_name})
        return request.data

    @activity.defn
    async def make_document(self, input: MakeDocumentInput) -> DocumentRef:
        renderer, stem = RENDERERS[input.kind]
        # Rendering can take seconds on a busy machine: heartbeats let a lost task resume quickly.
        data = await heartbeating(asyncio.to_thread(self._input, input))
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
