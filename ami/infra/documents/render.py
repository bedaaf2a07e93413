"""Render a PDF document and write it to the data folder: what `make_document` does with the input
once it has it, in one function that runs the same in a thread of the worker or in a process of the
document pool (`ami/infra/documents/pool.py`).

What goes in is small and picklable (the kind, the input model, two flags); what comes out is the
stored file's path and SHA-256, not the document's bytes.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable
from pathlib import Path

from pydantic import BaseModel

from ami.infra.documents import pdf
from ami.infra.private_files import private_dir, write_private
from ami.models.values import DocumentKind

RENDERERS: dict[DocumentKind, Callable[..., bytes]] = {
    DocumentKind.SUMMARY: pdf.summary_pdf,
    DocumentKind.DECISION_LETTER: pdf.decision_letter_pdf,
    DocumentKind.CERTIFICATE: pdf.certificate_pdf,
    DocumentKind.COLLECTIVITE_REPORT: pdf.collectivite_report_pdf,
    DocumentKind.CAMPAIGN_REPORT: pdf.campaign_report_pdf,
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


def render_to_store(kind: DocumentKind, data: BaseModel, demo: bool, data_dir: Path) -> tuple[str, str]:
    """Render the document of `kind` from `data` and store it: (its path, its SHA-256).

    Documents are deterministic, so the same input gives the same bytes, hence the same path,
    in whichever process it runs.
    """
    content = RENDERERS[kind](data, demo=demo)
    path, digest = store_content(data_dir, content, ".pdf")
    return str(path), digest


def warm_up() -> None:
    """Parse the font files most documents use (the French subsets: about 30 ms), as a render would."""
    from ami.infra.documents._fonts import _template
    from ami.infra.documents._pdf_base import FAMILY, FONT_TIERS, FONTS, _coverage

    regular, bold = FONT_TIERS[0]
    _coverage(regular, bold)
    _template(FONTS / regular, FAMILY, "")
    _template(FONTS / bold, FAMILY, "B")
