"""Personal data in the campaign file: how long each kind is kept, and the privacy notice.

Both sections are required: a campaign cannot run without saying how long it keeps the data of the
people it concerns and without telling them (RGPD articles 5.1.e and 13). The shipped values and
their reasons are in docs/privacy.md. Pure rules, no I/O: the purge and the documents use them.
"""

from __future__ import annotations

import calendar
from datetime import datetime
from enum import StrEnum

from pydantic import BaseModel, ConfigDict, Field

from ami.models.candidature import Email

_FILE = ConfigDict(extra="forbid", frozen=True)
_MONTHS = Field(ge=1, le=120)

DEFAULT_RIGHTS = (
    "Vous disposez d'un droit d'accès, de rectification, d'effacement et de limitation du traitement de vos données, "
    "ainsi que d'un droit d'opposition. Vous pouvez introduire une réclamation auprès de la CNIL (www.cnil.fr)."
)


class DataKind(StrEnum):
    """The kinds of personal data a retention period applies to."""

    NOT_RETAINED = "not_retained"  # dossiers not selected, ineligible, withdrawn or closed without the cycle
    COMPLETED = "completed"  # dossiers that went through the cycle (capitalised)
    OUTBOX = "outbox"  # the raw bytes of the messages sent
    ATTACHMENTS = "attachments"  # the documents on disk (PDFs joined to the messages)


class Retention(BaseModel):
    """Retention periods, in months."""

    model_config = _FILE

    # From the published response date (or the closing, when later).
    not_retained_months: int = _MONTHS
    # From the capitalisation (the dossier's last transition).
    completed_months: int = _MONTHS
    # From the sending (or the writing, for a message never sent).
    outbox_months: int = _MONTHS
    # From the document's creation; in any case deleted with its dossier.
    attachments_months: int = _MONTHS

    def months(self, kind: DataKind) -> int:
        return int(getattr(self, f"{kind.value}_months"))

    def expires(self, kind: DataKind, start: datetime) -> datetime:
        return add_months(start, self.months(kind))


class PrivacyNotice(BaseModel):
    """The information owed to the people concerned (RGPD art. 13), printed on every message and document."""

    model_config = _FILE

    controller: str = Field(min_length=3)  # the controller: name and address
    purpose: str = Field(min_length=3)
    legal_basis: str = Field(min_length=3)
    contact: Email  # where to exercise the rights
    recipients: str = "Les coordinateurs de l'appel et les membres du jury."
    rights: str = DEFAULT_RIGHTS


def add_months(start: datetime, months: int) -> datetime:
    """`start` plus whole calendar months (31 January + 1 month = 28 or 29 February)."""
    index = start.month - 1 + months
    year, month = start.year + index // 12, index % 12 + 1
    return start.replace(year=year, month=month, day=min(start.day, calendar.monthrange(year, month)[1]))


def _duration(months: int) -> str:
    if months % 12 == 0:
        years = months // 12
        return f"{years} an" + ("s" if years > 1 else "")
    return f"{months} mois"


def notice_paragraphs(notice: PrivacyNotice, retention: Retention) -> list[str]:
    """The notice as French paragraphs: the same text in every email, the .docx form and the PDFs."""
    return [
        f"Responsable du traitement : {notice.controller}.",
        f"Finalité : {notice.purpose} Base légale : {notice.legal_basis}",
        f"Destinataires : {notice.recipients}",
        (
            f"Durée de conservation : {_duration(retention.not_retained_months)} après la réponse pour les candidatures non retenues, "
            f"{_duration(retention.completed_months)} après la capitalisation pour les collectivités ayant suivi le cycle ; "
            f"le contenu des courriels est effacé {_duration(retention.outbox_months)} après leur envoi, "
            f"les documents {_duration(retention.attachments_months)} après leur création."
        ),
        f"{notice.rights} Contact : {notice.contact}.",
    ]
