"""What the `make_document` activity is asked to make: one model per document, told apart by `kind`,
each carrying its document's typed input, so the activity dispatches on the type.

The JSON is the one the workflows have always written (`kind` beside `data`). The campaign report
is the exception to « the workflow sends what the document shows »: it sends the campaign's id and
schedule (`CampaignReportRequest`) and the activity reads every figure from the store; the former
shape, with the figures computed by the workflow (`CampaignReportInput`, with its `counts`), is
still accepted.
"""

from __future__ import annotations

from typing import Annotated, Literal

from pydantic import BaseModel, Field

from ami.models.documents import (
    CampaignReportInput,
    CampaignReportRequest,
    CertificateInput,
    CollectiviteReportInput,
    DecisionLetterInput,
    SummaryDocInput,
)
from ami.models.tagged import DataT, KindT, Tagged
from ami.models.values import DocumentKind


class _For(BaseModel):
    workflow_id: str
    receipt_number: str | None


class _Request(Tagged[KindT, DataT], _For): ...


class SummaryRequest(_Request[Literal[DocumentKind.SUMMARY], SummaryDocInput]): ...


class DecisionLetterRequest(_Request[Literal[DocumentKind.DECISION_LETTER], DecisionLetterInput]): ...


class CertificateRequest(_Request[Literal[DocumentKind.CERTIFICATE], CertificateInput]): ...


class CollectiviteReportRequest(_Request[Literal[DocumentKind.COLLECTIVITE_REPORT], CollectiviteReportInput]): ...


class CampaignReportDocumentRequest(_Request[Literal[DocumentKind.CAMPAIGN_REPORT], CampaignReportRequest | CampaignReportInput]): ...


MakeDocumentInput = Annotated[
    SummaryRequest | DecisionLetterRequest | CertificateRequest | CollectiviteReportRequest | CampaignReportDocumentRequest,
    Field(discriminator="kind"),
]


DocumentInput = SummaryDocInput | DecisionLetterInput | CertificateInput | CollectiviteReportInput | CampaignReportRequest


def document_request(workflow_id: str, receipt_number: str | None, data: DocumentInput) -> MakeDocumentInput:
    """The request that makes the document `data` is the input of."""
    match data:
        case SummaryDocInput():
            return SummaryRequest(workflow_id=workflow_id, receipt_number=receipt_number, data=data)
        case DecisionLetterInput():
            return DecisionLetterRequest(workflow_id=workflow_id, receipt_number=receipt_number, data=data)
        case CertificateInput():
            return CertificateRequest(workflow_id=workflow_id, receipt_number=receipt_number, data=data)
        case CollectiviteReportInput():
            return CollectiviteReportRequest(workflow_id=workflow_id, receipt_number=receipt_number, data=data)
        case CampaignReportRequest():
            return CampaignReportDocumentRequest(workflow_id=workflow_id, receipt_number=receipt_number, data=data)
