"""`ami export`: the jury grid (XLSX or CSV) of a campaign, read from the store.

The grid lists the eligible candidatures still before the jury or past it on the spine (state
`eligibility_checked` or later, closed ones excluded: nobody scores a withdrawn or rejected dossier)
whose register entry is known, with every answer of the form as last received.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Iterable
from pathlib import Path
from typing import Any

from ami.app.cli.common import EXIT_MALFORMED, EXIT_OK, EXIT_UNAVAILABLE, fail, out
from ami.infra.private_files import private_dir, write_private
from ami.models.campaign import CampaignFile, CampaignFileError, load_campaign
from ami.models.documents import JuryGridRow
from ami.models.tables import CandidatureRow

# The spine from eligibility on (ami/models/lifecycle.py); `closed` is a side exit, not "later".
GRID_STATES = frozenset({"eligibility_checked", "jury_reviewed", "notified", "enrolled", "session_tracked", "capitalised"})


def register(commands: Any) -> None:
    export = commands.add_parser("export", help="exporter la grille du jury d'une campagne (XLSX ou CSV), depuis la base")
    export.add_argument("--campaign", required=True, help="identifiant de la campagne (celui des dossiers en base)")
    export.add_argument("--format", choices=("xlsx", "csv"), default="xlsx", help="format du fichier (défaut : xlsx)")
    export.add_argument("--out", help="fichier à écrire (défaut : grille-jury-CAMPAGNE.FORMAT) ; « - » : CSV sur la sortie standard")
    export.add_argument(
        "--campaign-file", help="fichier de campagne (critères, fuseau) si l'identifiant n'en a pas dans ami/data/campaigns"
    )
    export.add_argument("--url", help="URL de la base (défaut : AMI_DATABASE_URL, sinon var/ami.db)")
    export.set_defaults(handler=export_command)


def campaign_file(campaign_id: str, path: str | None = None) -> CampaignFile:
    """The file that holds the campaign's criteria: `path`, else `ami/data/campaigns/<id>.toml`, else,
    for a demo run (« ami-2024-demo-172509 »), the file of the campaign it was made from."""
    if path:
        return load_campaign(path)
    try:
        return load_campaign(campaign_id)
    except CampaignFileError:
        base, demo, _ = campaign_id.partition("-demo")
        if not demo or not base:
            raise
        return load_campaign(base)


def _kind_label(kind: str | None) -> str | None:
    from ami.domain.register import _LABELS

    label = _LABELS.get(kind or "")
    return label[:1].upper() + label[1:] if label else kind


def grid_rows(candidatures: Iterable[CandidatureRow]) -> list[JuryGridRow]:
    rows = []
    for c in candidatures:
        if c.state not in GRID_STATES or not c.official_name or c.form is None:
            continue
        form: dict[str, Any] = c.form
        collectivite: dict[str, Any] = form.get("collectivite") or {}
        letter: dict[str, Any] = form.get("letter") or {}
        written = str(collectivite.get("name") or "")
        # As in the eligibility verdict: the register's name, with the applicant's spelling beside it if different.
        name = c.official_name if written.casefold() in ("", c.official_name.casefold()) else f"{c.official_name} (« {written} »)"
        rows.append(
            JuryGridRow(
                receipt_number=c.receipt_number,
                collectivite_name=name,
                siren_or_insee=str(collectivite.get("siren") or collectivite.get("insee") or ""),
                departement=c.departement,
                kind_label=_kind_label(c.kind),
                received_at=c.submitted_at or c.updated_at,
                motivations=form.get("motivations"),
                actions=form.get("actions"),
                work_tracks=form.get("work_tracks"),
                needs=form.get("needs"),
                platforms_place=letter.get("platforms_place"),
                objective=letter.get("objective"),
                contribution=letter.get("contribution"),
            )
        )
    return rows


def export_command(args: argparse.Namespace) -> int:
    from ami.infra.documents.jury_grid import jury_grid_csv, jury_grid_xlsx
    from ami.infra.settings import get_settings
    from ami.infra.store import SchemaError, Store, check_schema

    try:
        campaign = campaign_file(args.campaign, args.campaign_file)
    except CampaignFileError as error:
        fail(f"{error}\n(indiquez le fichier de la campagne avec --campaign-file)", EXIT_MALFORMED)
    url = args.url or get_settings().resolved_database_url()
    try:
        check_schema(url)
    except SchemaError as error:
        fail(str(error), EXIT_UNAVAILABLE)
    store = Store(url)
    try:
        rows = grid_rows(store.candidatures(args.campaign))
    finally:
        store.engine.dispose()
    criteria = [(c.id, c.label) for c in campaign.criteria]

    if args.out == "-":
        if args.format != "csv":
            fail("la sortie standard n'accepte que le CSV (--format csv)", EXIT_MALFORMED)
        sys.stdout.write(jury_grid_csv(rows, criteria, campaign.timezone))
        return EXIT_OK
    target = Path(args.out or f"grille-jury-{args.campaign}.{args.format}")
    if args.format == "xlsx":
        data = jury_grid_xlsx(rows, criteria, campaign.timezone)
    else:
        data = jury_grid_csv(rows, criteria, campaign.timezone).encode("utf-8-sig")  # BOM: French Excel reads UTF-8
    private_dir(target.parent)
    write_private(target, data)  # every answer of every candidature: personal data
    if not rows:
        out.print(f"Aucune candidature éligible en base pour la campagne {args.campaign} : grille vide écrite dans {target}.")
    else:
        out.print(f"Grille du jury : {len(rows)} candidature(s) éligible(s) de {args.campaign} → {target}")
    return EXIT_OK
