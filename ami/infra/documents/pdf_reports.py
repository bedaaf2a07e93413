"""The capitalisation reports: one per collectivité, one for the whole campaign (open data)."""

from __future__ import annotations

from datetime import date

from babel.dates import format_date
from fpdf.enums import Align

from ami.infra.documents._chart import bar_chart
from ami.infra.documents._pdf_base import AmiPdf, stable_instant
from ami.infra.documents.typography import date_fr, decimal_fr, percent_fr
from ami.models.documents import (
    COUNT_KEYS,
    SATISFACTION_MAX,
    CampaignReportInput,
    CollectiviteReportInput,
)

# A report without sessions still needs a stable creation date.
_NO_SESSION = date(2000, 1, 1)

COUNT_LABELS = {
    "received": "Candidatures reçues",
    "eligible": "Candidatures éligibles",
    "selected": "Collectivités retenues",
    "waitlisted": "Inscrites sur liste d'attente",
    "not_selected": "Non retenues",
    "promoted": "Promues depuis la liste d'attente",
    "enrolled": "Engagées dans le cycle",
    "withdrawn": "Retraits (avant ou pendant le cycle)",
    "capitalised": "Parcours achevés et capitalisés",
    "closed": "Dossiers clos sans parcours",
}

_LIGHT = (189, 215, 238)
_MID = (91, 155, 213)
_DARK = (31, 78, 121)


def _yes(flag: bool) -> str:
    return "oui" if flag else "non"


def _satisfaction(value: float | None) -> str:
    return "—" if value is None else f"{decimal_fr(value)} / {SATISFACTION_MAX}"


def collectivite_report_pdf(data: CollectiviteReportInput, *, demo: bool = False) -> bytes:
    sessions = sorted(data.sessions, key=lambda s: s.number)
    pdf = AmiPdf(
        title=f"Bilan du parcours — {data.collectivite_name}",
        subject=f"{data.campaign_name} — capitalisation, dossier n° {data.receipt_number}",
        running_head=data.campaign_name,
        created=stable_instant(max((s.date for s in sessions), default=_NO_SESSION)),
        content=data.model_dump_json(),
        demo=demo,
    )
    pdf.title_block(f"Bilan du parcours de {data.collectivite_name}", f"{data.campaign_name} — dossier n° {data.receipt_number}")

    complete = sum(s.binome_complete for s in sessions)
    pdf.heading("Assiduité et binôme")
    pdf.para(
        f"Binôme élu et technicien complet à {complete} séance{'s' if complete > 1 else ''} sur "
        f"{len(sessions)} ({percent_fr(complete, len(sessions))}). L'appel demande la présence du "
        "binôme à chaque séance du cycle.",
        align=Align.J,
    )
    pdf.grid(
        ["N°", "Date", "Thème", "Élu·e", "Technicien·ne", "Autres", "Binôme complet"],
        [
            [
                str(s.number),
                date_fr(s.date),
                s.theme,
                _yes(s.elected_present),
                _yes(s.technician_present),
                str(s.others),
                _yes(s.binome_complete),
            ]
            for s in sessions
        ],
        (0.06, 0.2, 0.28, 0.09, 0.14, 0.1, 0.13),
        [Align.C, Align.L, Align.L, Align.C, Align.C, Align.C, Align.C],
    )

    rated = [s.satisfaction for s in sessions if s.satisfaction is not None]
    pdf.heading("Satisfaction et retours")
    if rated:
        pdf.para(
            f"Satisfaction moyenne : {_satisfaction(sum(rated) / len(rated))} "
            f"({len(rated)} séance{'s' if len(rated) > 1 else ''} évaluée{'s' if len(rated) > 1 else ''})."
        )
    else:
        pdf.para("Aucun questionnaire de satisfaction n'a été retourné.", muted=True)
    for s in sessions:
        if s.feedback and s.feedback.strip():
            pdf.label(f"Séance n° {s.number} — {s.theme} (note : {_satisfaction(s.satisfaction)})")
            pdf.para(s.feedback, align=Align.J)

    pdf.heading("Expérimentation envisagée sur le territoire")
    pdf.para(data.experiment, align=Align.J)
    return pdf.render()


def campaign_report_pdf(data: CampaignReportInput, *, demo: bool = False) -> bytes:
    sessions = sorted(data.sessions, key=lambda s: s.number)
    pdf = AmiPdf(
        title=f"Bilan de la campagne — {data.campaign_name}",
        subject=f"Capitalisation du cycle de qualification, région {data.region_name}",  # its name: Hauts-de-France
        running_head=data.campaign_name,
        created=stable_instant(max((s.date for s in sessions), default=_NO_SESSION)),
        content=data.model_dump_json(),
        demo=demo,
    )
    pdf.title_block(f"Bilan de la campagne {data.campaign_name}", f"Région {data.region_name}")
    pdf.para(
        "Ce bilan rend compte du cycle de qualification « Vers des plateformes numériques locales, utiles "
        "et solidaires ». Comme toutes les productions du cycle, il est accessible à toutes et à tous.",
        align=Align.J,
    )

    pdf.heading("Chiffres clés")
    keys = [k for k in COUNT_KEYS if k in data.counts] + sorted(k for k in data.counts if k not in COUNT_KEYS)
    pdf.grid(["Étape", "Nombre"], [[COUNT_LABELS.get(k, k), str(data.counts[k])] for k in keys], (0.75, 0.25), [Align.L, Align.R])

    pdf.heading("Participation aux séances")
    pdf.grid(
        ["N°", "Date", "Thème", "Invitées", "Présentes", "Binôme complet", "Satisfaction"],
        [
            [
                str(s.number),
                date_fr(s.date),
                s.theme,
                str(s.invited),
                str(s.present),
                f"{s.binome_complete} ({percent_fr(s.binome_complete, s.present)})",
                _satisfaction(s.mean_satisfaction),
            ]
            for s in sessions
        ],
        (0.06, 0.19, 0.23, 0.11, 0.12, 0.15, 0.14),
        [Align.C, Align.L, Align.L, Align.C, Align.C, Align.C, Align.C],
    )
    bar_chart(
        pdf,
        [f"n° {s.number}\n{format_date(s.date, 'MMM y', locale='fr_FR')}" for s in sessions],
        [
            ("Collectivités invitées", _LIGHT, [s.invited for s in sessions]),
            ("Collectivités présentes", _MID, [s.present for s in sessions]),
            ("Binôme complet", _DARK, [s.binome_complete for s in sessions]),
        ],
    )

    if data.experiments:
        pdf.heading("Expérimentations engagées")
        for experiment in data.experiments:
            pdf.para(f"– {experiment.strip()}", align=Align.J)

    if data.quotes:
        pdf.heading("Paroles de participants")
        for quote in data.quotes:
            pdf.para(f"« {quote.strip()} »", align=Align.J, muted=True)
    return pdf.render()
