"""The candidature summary: what the Apes received, under its receipt number (sent with the receipt)."""

from __future__ import annotations

from pathlib import PurePosixPath
from zoneinfo import ZoneInfo

from fpdf.enums import Align

from ami.infra.documents._pdf_base import AmiPdf, stable_instant
from ami.infra.documents.form_labels import LETTER_QUESTIONS, QUESTIONS
from ami.infra.documents.typography import datetime_fr
from ami.models.candidature import Person
from ami.models.documents import SummaryDocInput


def _person(person: Person | None) -> str | None:
    if person is None:
        return None
    parts = [person.name, person.role, person.email, person.phone]
    return "\n".join(part for part in parts if part) or None


def summary_pdf(data: SummaryDocInput, *, demo: bool = False) -> bytes:
    form = data.form
    local_received = data.received_at.astimezone(ZoneInfo(data.timezone))
    pdf = AmiPdf(
        title=f"Récapitulatif de candidature n° {data.receipt_number}",
        subject=f"{data.campaign_name} — candidature de {form.collectivite.name}",
        running_head=data.campaign_name,
        created=stable_instant(local_received.date()),
        content=data.model_dump_json(),
        demo=demo,
    )
    pdf.title_block("Récapitulatif de candidature", data.campaign_name)
    pdf.fields(
        [
            ("Numéro de dépôt", data.receipt_number),
            ("Reçue le", datetime_fr(data.received_at, ZoneInfo(data.timezone))),
        ]
    )

    c = form.collectivite
    pdf.heading("La collectivité")
    rows: list[tuple[str, str | None]] = [("Nom indiqué", c.name)]
    if data.official_name and data.official_name != c.name:
        rows.append(("Nom au répertoire officiel", data.official_name))
    rows += [
        ("Nature", data.kind_label),
        ("Département", data.departement),
        ("SIREN", c.siren) if c.siren else ("Code INSEE", c.insee),
        ("Adresse", c.address),
        ("Courriel", c.email),
        ("Téléphone", c.phone),
    ]
    pdf.fields(rows)

    pdf.heading("Les responsables « opérationnels »")
    pdf.fields(
        [
            ("Référent politique", _person(form.political_referent)),
            ("Référent technique", _person(form.technical_referent)),
            ("Point contact technique", _person(form.contact_point) or "Les référents ci-dessus"),
        ]
    )

    pdf.heading("Vos réponses")
    for key, question in QUESTIONS:
        pdf.label(question)
        pdf.para(getattr(form, key))

    pdf.heading("Lettre de motivation")
    for key, question in LETTER_QUESTIONS:
        pdf.label(question)
        pdf.para(getattr(form.letter, key) if form.letter else None)

    if form.partners:
        pdf.heading("Collectivités partenaires")
        pdf.grid(
            ["Nom", "SIREN ou code INSEE"],
            [[p.name, p.siren or p.insee or "—"] for p in form.partners],
            (0.7, 0.3),
        )
    if form.attachments:
        pdf.heading("Documents joints")
        pdf.para("\n".join(f"• {PurePosixPath(a.path).name}" for a in form.attachments))

    pdf.ln(2)
    pdf.para(
        "Ce récapitulatif reprend les informations telles que nous les avons reçues. Rappelez votre "
        "numéro de dépôt dans toute correspondance : il identifie votre dossier.",
        size=9,
        align=Align.J,
        muted=True,
    )
    if data.privacy_notice:
        pdf.heading("Vos données personnelles")
        for paragraph in data.privacy_notice:
            pdf.para(paragraph, size=8.5, align=Align.J, muted=True)
    return pdf.render()
