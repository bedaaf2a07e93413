"""Make a document, store it under a content-addressed path and record it with the candidature.

Each request carries its document's typed input (`ami/models/document_requests.py`). The campaign report
is the exception to « the workflow sends what the document shows »: it receives the campaign's id
and schedule (`CampaignReportRequest`) and reads every figure from the store
(`ami/infra/campaign_report.py`). The former shape, with the figures computed by the workflow, is still
accepted (`CampaignReportInput`).
"""

from __future__ import annotations

from datetime import UTC, datetime

from pydantic import BaseModel
from temporalio import activity

from ami.activities.base import StoreActivities
from ami.activities.heartbeat import heartbeating
from ami.activities.store_calls import store_call
from ami.domain.register import load_register
from ami.infra.campaign_report import campaign_report
from ami.infra.documents.pool import DocumentPool
from ami.infra.documents.render import store_content
from ami.infra.privacy import notice
from ami.infra.settings import Settings
from ami.infra.store import Store
from ami.models import documents as inputs
from ami.models.document_requests import CampaignReportDocumentRequest, MakeDocumentInput, SummaryRequest
from ami.models.tables import DocumentRow
from ami.models.values import DocumentKind, DocumentRef
from ami.models.workflow_ids import campaign_of

__all__ = ["STEMS", "DocumentActivities", "store_content"]

# kind -> the file name's stem (the renderers are in ami/infra/documents/render.py)
STEMS: dict[DocumentKind, str] = {
    DocumentKind.SUMMARY: "recapitulatif-candidature",
    DocumentKind.DECISION_LETTER: "lettre-de-decision",
    DocumentKind.CERTIFICATE: "attestation-de-participation",
    DocumentKind.COLLECTIVITE_REPORT: "rapport-de-capitalisation",
    DocumentKind.CAMPAIGN_REPORT: "rapport-de-campagne",
}


class DocumentActivities(StoreActivities):
    """`documents` is where the PDFs are rendered: the worker's process pool (ami/worker/runner.py),
    or, when not given, a thread of this process."""

    def __init__(self, settings: Settings | None = None, store: Store | None = None, documents: DocumentPool | None = None) -> None:
        super().__init__(settings, store)
        self.documents = documents or DocumentPool(0)

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
        stem = STEMS[input.kind]
        # Rendering can take seconds on a busy machine: heartbeats let a lost task resume quickly.
        data = await store_call(self._input, input)
        # In a document process when the worker has them: the PDF is written there, only its path comes back.
        path, digest = await heartbeating(self.documents.render(input.kind, data, demo=self.settings.demo, data_dir=self.settings.data_dir))
        filename = f"{stem}-{input.receipt_number}.pdf" if input.receipt_number else f"{stem}.pdf"
        ref = DocumentRef(kind=input.kind, filename=filename, path=path, sha256=digest)
        await store_call(
            self.store.record_document,
            DocumentRow(
                workflow_id=input.workflow_id,
                receipt_number=input.receipt_number,
                kind=input.kind,
                filename=filename,
                path=path,
                sha256=digest,
                created_at=datetime.now(UTC),
            ),
        )
        return ref
