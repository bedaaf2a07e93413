"""`ami form template --out FILE.docx`: the blank candidature form the Apes sends with the call.

A filled copy is read back by `ami check FILE.docx` and `ami submit FILE.docx` (ami.infra.forms.load_form).
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import Any

from ami.app.cli.common import EXIT_MALFORMED, EXIT_OK
from ami.infra.documents.form_docx import blank_form_docx
from ami.models.campaign import CampaignFileError, load_campaign
from ami.models.privacy import notice_paragraphs


def register(commands: Any) -> None:
    """Add `ami form` and its actions to `commands`."""
    form = commands.add_parser("form", help="formulaire de candidature (.docx)")
    sub = form.add_subparsers(dest="form_command", required=True, metavar="ACTION")
    template = sub.add_parser("template", help="écrire le formulaire vierge (.docx) à envoyer aux collectivités")
    template.add_argument("--out", required=True, help="fichier .docx à écrire")
    template.add_argument("--campaign", default="ami-2024", help="identifiant ou chemin du fichier de campagne (défaut : ami-2024)")
    template.add_argument("--force", action="store_true", help="remplacer le fichier s'il existe déjà")
    template.set_defaults(handler=write_template)


def write_template(args: argparse.Namespace) -> int:
    out = Path(args.out)
    if out.suffix.lower() != ".docx":
        print(f"--out : {out} doit porter l'extension .docx", file=sys.stderr)
        return EXIT_MALFORMED
    if out.exists() and not args.force:
        print(f"--out : {out} existe déjà (ajoutez --force pour le remplacer)", file=sys.stderr)
        return EXIT_MALFORMED
    try:
        campaign = load_campaign(args.campaign)
    except CampaignFileError as error:
        print(f"--campaign : {error}", file=sys.stderr)
        return EXIT_MALFORMED
    try:
        out.write_bytes(blank_form_docx(campaign.name, notice_paragraphs(campaign.privacy, campaign.retention)))
    except OSError as error:
        print(f"--out : impossible d'écrire {out} ({error.strerror or error})", file=sys.stderr)
        return EXIT_MALFORMED
    print(f"Formulaire vierge de la campagne « {campaign.name} » écrit dans {out}.")
    return EXIT_OK
