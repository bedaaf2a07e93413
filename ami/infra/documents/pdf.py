"""The engine's PDF documents (receipt, convocation, certificate, jury grid): pure functions from
an input model to the file's bytes.

Each document lives in its own module; this one is the public entry point.
"""

from __future__ import annotations

from ami.infra.documents.pdf_letters import certificate_pdf, decision_letter_pdf
from ami.infra.documents.pdf_reports import campaign_report_pdf, collectivite_report_pdf
from ami.infra.documents.pdf_summary import summary_pdf

__all__ = [
    "campaign_report_pdf",
    "certificate_pdf",
    "collectivite_report_pdf",
    "decision_letter_pdf",
    "summary_pdf",
]
