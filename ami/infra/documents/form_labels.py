"""The wording of the Apes's candidature form for the 2024 call, shared by the DOCX form, its reader and the PDFs.

One place for these labels: the reader finds sections and rows by them, so the form written and
the form read cannot drift apart.
"""

from __future__ import annotations

FORM_TITLE = (
    "Formulaire de candidature pour participer au cycle de qualification « Vers des plateformes numériques locales, utiles et solidaires »"
)

COLLECTIVITE_SECTION = "Nom de la collectivité et coordonnées du contact"
# (key in CandidatureFile.collectivite, row label)
COLLECTIVITE_ROWS: tuple[tuple[str, str], ...] = (
    ("name", "Nom de la collectivité"),
    ("siren", "SIREN"),
    ("insee", "Code INSEE (commune sans SIREN propre)"),
    ("address", "Adresse"),
    ("email", "Courriel"),
    ("phone", "Téléphone"),
)

REFERENTS_INTRO = "Noms et qualités des responsables « opérationnels » de la collectivité chef de file"
# (key in CandidatureFile, section title)
PERSON_SECTIONS: tuple[tuple[str, str], ...] = (
    ("political_referent", "Référent politique (élu·e)"),
    ("technical_referent", "Référent technique"),
    ("contact_point", "Point contact technique pour l'Apes (si différent des référents politique ou technique)"),
)
PERSON_ROWS: tuple[tuple[str, str], ...] = (
    ("civility", "Civilité (Madame ou Monsieur)"),
    ("name", "Nom"),
    ("role", "Qualité"),
    ("email", "Courriel"),
    ("phone", "Téléphone"),
)

# The four free-text questions of the Apes's form, in its order.
QUESTIONS: tuple[tuple[str, str], ...] = (
    (
        "motivations",
        ("Motivations de la collectivité à s'engager dans ce cycle (parcours, objectifs, regard sur les plateformes coopératives…)"),
    ),
    ("actions", "Actions déjà réalisées ou prévues dans le domaine des plateformes locales et utiles"),
    ("work_tracks", ("Pistes de travail envisagées (ou imaginées sans formalisation) sur les plateformes locales et utiles")),
    (
        "needs",
        (
            "Principaux besoins identifiés (au sein de votre organisation, à l'échelle du territoire) "
            "sur le sujet des plateformes locales et utiles qui pourraient être traités dans ce cycle"
        ),
    ),
)

# What the call's criteria ask the motivation letter to explain, as three questions.
LETTER_INTRO = (
    "Lettre de motivation : l'appel demande qu'elle explique les trois points suivants. "
    "Répondez-y ci-dessous (vous pouvez aussi joindre la lettre signée)."
)
LETTER_QUESTIONS: tuple[tuple[str, str], ...] = (
    (
        "platforms_place",
        ("Quelle place accordez-vous, ou souhaitez-vous accorder, aux plateformes dans votre projet ou votre dynamique politique ?"),
    ),
    ("objective", "Quel objectif recherchez-vous en participant à ce cycle ?"),
    ("contribution", "Que pensez-vous apporter au cycle et aux autres collectivités ?"),
)

PARTNERS_SECTION = "Collectivités partenaires (si votre collectivité est chef de file d'une candidature commune)"
PARTNER_COLUMNS: tuple[tuple[str, str], ...] = (
    ("name", "Nom de la collectivité"),
    ("siren", "SIREN"),
    ("insee", "Code INSEE"),
)

ATTACHMENTS_SECTION = "Documents complémentaires joints (nom de chaque fichier)"
