"""The decision letter (sent on the response date) and the certificate of participation."""

from __future__ import annotations

from datetime import date

from fpdf.enums import Align, XPos, YPos

from ami.infra.documents._pdf_base import FAMILY, AmiPdf, pdf_text, stable_instant
from ami.infra.documents.addressee import Addressing, addressing, designation
from ami.infra.documents.branding import ORGANISATION
from ami.infra.documents.typography import date_fr
from ami.models.campaign_plan import Signatory
from ami.models.documents import CertificateInput, DecisionLetterInput
from ami.models.values import Decision

CYCLE = "cycle de qualification « Vers des plateformes numériques locales, utiles et solidaires »"

# A certificate without sessions is a caller's mistake, but it still gets a stable creation date.
_NO_SESSION = date(2000, 1, 1)

_OBJECT = {
    Decision.SELECTED: "votre candidature est retenue",
    Decision.WAITLISTED: "votre candidature est inscrite sur liste d'attente",
    Decision.NOT_SELECTED: "votre candidature n'est pas retenue",
}


def _addressing(data: DecisionLetterInput) -> Addressing:
    who = data.addressee
    return addressing(
        collectivite=data.collectivite_name,
        kind=data.collectivite_kind,
        address=who.address if who else None,
        name=who.name if who else None,
        role=who.role if who else None,
        civility=who.civility if who else None,
    )


def _signature(pdf: AmiPdf, signatory: Signatory | None, lead: str = "") -> None:
    """The signatory's name and role at the Apes, right-aligned; the team when the campaign names nobody."""
    pdf.set_font(FAMILY, "B", 10.5)
    if signatory is None:
        pdf.cell(0, 6, pdf_text(f"{lead}L'équipe de l'{ORGANISATION}"), align=Align.R, new_x=XPos.LMARGIN, new_y=YPos.NEXT)
        return
    if lead:
        pdf.cell(0, 6, pdf_text(f"{lead}l'{ORGANISATION}"), align=Align.R, new_x=XPos.LMARGIN, new_y=YPos.NEXT)
        pdf.ln(2)
    pdf.cell(0, 6, pdf_text(signatory.name), align=Align.R, new_x=XPos.LMARGIN, new_y=YPos.NEXT)
    pdf.set_font(FAMILY, "", 10)
    pdf.multi_cell(0, 5, pdf_text(signatory.role), align=Align.R, new_x=XPos.LMARGIN, new_y=YPos.NEXT)
    if not lead:
        pdf.cell(0, 5, ORGANISATION, align=Align.R, new_x=XPos.LMARGIN, new_y=YPos.NEXT)


def _body(data: DecisionLetterInput) -> list[str]:
    # « la candidature de la Communauté urbaine d'Arras », « … de la commune de Laon »
    name = designation(data.collectivite_name, data.collectivite_kind)
    if data.decision is Decision.SELECTED:
        deadline = f"avant le {date_fr(data.confirmation_deadline)}" if data.confirmation_deadline else "dès que possible"
        return [
            (f"Nous avons le plaisir de vous annoncer que le jury a retenu la candidature de {name} pour participer au {CYCLE}."),
            (
                "Le cycle réunit chaque mois les collectivités retenues pour une séance d'une demi-journée. "
                "Votre engagement repose sur la présence d'un binôme — un élu ou une élue et un technicien ou "
                "une technicienne — à chacune des séances."
            ),
            (
                f"Merci de nous confirmer {deadline} les noms et qualités des deux membres de ce binôme, en "
                "répondant à ce courrier. Vous recevrez ensuite l'invitation à la première séance, avec sa "
                "date, son horaire et son lieu."
            ),
        ]
    if data.decision is Decision.WAITLISTED:
        return [
            (
                f"Le jury a examiné avec attention la candidature de {name}. Le nombre de places du {CYCLE} "
                f"étant limité, il l'a inscrite sur la liste d'attente, au rang {data.waitlist_position}."
            ),
            (
                "Si une collectivité retenue se désiste avant la première séance, nous vous proposerons de "
                "rejoindre le cycle, dans l'ordre de la liste d'attente. Nous vous écrirons dans tous les cas."
            ),
        ]
    return [
        (
            f"Le jury a examiné avec attention la candidature de {name}. Le nombre de places du {CYCLE} étant "
            "limité, nous avons le regret de vous informer qu'elle n'a pas été retenue pour cette édition."
        ),
        (
            "Les productions du cycle seront accessibles à toutes et à tous : nous vous les adresserons, et "
            "nous serons heureux de vous retrouver lors des prochaines éditions."
        ),
    ]


def decision_letter_pdf(data: DecisionLetterInput, *, demo: bool = False) -> bytes:
    pdf = AmiPdf(
        title=f"Décision du jury — dossier n° {data.receipt_number}",
        subject=f"{data.campaign_name} — réponse à {data.collectivite_name}",
        running_head=data.campaign_name,
        created=stable_instant(data.response_date),
        content=data.model_dump_json(),
        demo=demo,
    )
    to = _addressing(data)
    pdf.set_font(FAMILY, "B", 11)
    pdf.cell(0, 6, ORGANISATION, new_x=XPos.LMARGIN, new_y=YPos.NEXT)
    pdf.ln(8)
    # The addressee block, in the right half of the page as a window envelope expects it.
    pdf.set_font(FAMILY, "", 10.5)
    for line in to.block:
        pdf.set_x(pdf.w / 2)
        pdf.multi_cell(pdf.w / 2 - pdf.r_margin, 5.5, pdf_text(line), align=Align.L, new_x=XPos.LMARGIN, new_y=YPos.NEXT)
    pdf.ln(6)
    pdf.cell(0, 6, pdf_text(f"Le {date_fr(data.response_date)}"), align=Align.R, new_x=XPos.LMARGIN, new_y=YPos.NEXT)
    pdf.ln(8)
    pdf.set_font(FAMILY, "B", 10.5)
    subject = f"Objet : {data.campaign_name} — {_OBJECT[data.decision]} (dossier n° {data.receipt_number})"
    pdf.multi_cell(0, 6, pdf_text(subject), align=Align.L, new_x=XPos.LMARGIN, new_y=YPos.NEXT)
    pdf.ln(6)
    pdf.para(to.salutation, size=10.5)
    for paragraph in _body(data):
        pdf.para(paragraph, size=10.5, align=Align.J)
    regards = "nos salutations distinguées" if to.closing_title == "Madame, Monsieur" else "notre haute considération"
    pdf.para(f"Nous vous prions d'agréer, {to.closing_title}, l'expression de {regards}.", size=10.5, align=Align.J)
    pdf.ln(6)
    _signature(pdf, data.signatory)
    return pdf.render()


def certificate_pdf(data: CertificateInput, *, demo: bool = False) -> bytes:
    sessions = sorted(data.sessions, key=lambda s: s.number)
    attended = sum(s.present for s in sessions)
    last = max((s.date for s in sessions), default=None)
    pdf = AmiPdf(
        title="Attestation de participation",
        subject=f"{data.campaign_name} — {data.collectivite_name}",
        running_head=data.campaign_name,
        created=stable_instant(last or _NO_SESSION),
        content=data.model_dump_json(),
        demo=demo,
    )
    pdf.ln(12)
    pdf.set_font(FAMILY, "B", 24)
    pdf.set_text_color(31, 78, 121)
    pdf.cell(0, 14, "Attestation de participation", align=Align.C, new_x=XPos.LMARGIN, new_y=YPos.NEXT)
    pdf.set_text_color(33, 37, 41)
    pdf.ln(10)
    pdf.para(
        f"L'{ORGANISATION} atteste que {designation(data.collectivite_name, data.collectivite_kind)} a participé au {CYCLE}, "
        f"{data.campaign_name} (dossier n° {data.receipt_number}).",
        size=12,
        align=Align.C,
    )
    pdf.para(
        f"La collectivité a été représentée à {attended} séance{'s' if attended > 1 else ''} sur {len(sessions)} :",
        size=12,
        align=Align.C,
    )
    pdf.ln(2)
    pdf.grid(
        ["Séance", "Date", "Thème", "Présence"],
        [[f"n° {s.number}", date_fr(s.date), s.theme, "présente" if s.present else "absente"] for s in sessions],
        (0.12, 0.24, 0.46, 0.18),
        [Align.C, Align.L, Align.L, Align.C],
    )
    pdf.ln(8)
    pdf.para("Attestation délivrée pour servir et valoir ce que de droit.", size=10.5, align=Align.C)
    if last:
        pdf.para(f"Cycle achevé le {date_fr(last)}.", size=10.5, align=Align.C, muted=True)
    pdf.ln(10)
    _signature(pdf, data.signatory, lead="Pour ")
    return pdf.render()
