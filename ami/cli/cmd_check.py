"""`ami check` (offline eligibility) and `ami campaign check` (a campaign file)."""

from __future__ import annotations

import argparse
import json
from datetime import UTC, datetime
from typing import Any

from ami.cli.common import EXIT_INELIGIBLE, EXIT_MALFORMED, EXIT_OK, err, fail, out, parse_instant
from ami.eligibility import assess
from ami.forms import MalformedForm, load_form
from models.campaign import CampaignFileError, load_campaign
from models.messages import EligibilityRules


def register(commands: Any) -> None:
    check = commands.add_parser("check", help="vérifier l'éligibilité d'une candidature (fichier JSON, YAML ou .docx)")
    check.add_argument("file")
    check.add_argument("--campaign", default="ami-2024", help="identifiant ou chemin du fichier de campagne (défaut : ami-2024)")
    check.add_argument("--at", help="date de réception, ISO 8601 (défaut : maintenant)")
    check.set_defaults(handler=check_form)

    campaign = commands.add_parser("campaign", help="fichiers de campagne")
    sub = campaign.add_subparsers(dest="campaign_command", required=True, metavar="ACTION")
    validate = sub.add_parser("check", help="valider un fichier de campagne")
    validate.add_argument("file")
    validate.set_defaults(handler=check_campaign)


def check_form(args: argparse.Namespace) -> int:
    try:
        campaign = load_campaign(args.campaign)
    except CampaignFileError as error:
        fail(str(error), EXIT_MALFORMED)
    plan = campaign.plan()
    try:
        form = load_form(args.file)
    except MalformedForm as error:
        err.print(str(error), markup=False)
        return EXIT_MALFORMED
    received_at = parse_instant(args.at, plan.timezone) if args.at else datetime.now(UTC)
    rules = EligibilityRules(region=plan.region, timezone=plan.timezone, opens_at=plan.opens_at, deadline_at=plan.deadline_at)
    verdict = assess(form, received_at, rules)
    payload: dict[str, Any] = {
        "eligible": verdict.eligible,
        "collectivite": (
            {
                "name": verdict.collectivite.name,
                "kind": verdict.collectivite.kind,
                "departement": verdict.collectivite.departement,
                "region": verdict.collectivite.region,
                "name_as_written": form.collectivite.name,
            }
            if verdict.collectivite
            else None
        ),
        "reasons": [r.model_dump() for r in verdict.reasons],
    }
    print(json.dumps(payload, ensure_ascii=False, indent=2))
    return EXIT_OK if verdict.eligible else EXIT_INELIGIBLE


def check_campaign(args: argparse.Namespace) -> int:
    try:
        campaign = load_campaign(args.file)
    except CampaignFileError as error:
        err.print(str(error), markup=False)
        return EXIT_MALFORMED
    plan = campaign.plan()
    zone = plan.zone()
    out.print(f"{args.file} : campagne « {campaign.name} » valide.")
    out.print(f"  ouverture   {plan.opens_at.astimezone(zone):%d/%m/%Y %H:%M %Z}")
    out.print(f"  date limite {plan.deadline_at.astimezone(zone):%d/%m/%Y %H:%M %Z} (fin du {campaign.calendar.deadline:%d/%m/%Y})")
    out.print(f"  réponse     {plan.response_at.astimezone(zone):%d/%m/%Y %H:%M %Z}")
    for s in plan.sessions:
        out.print(f"  séance {s.number}    {s.month} — {s.theme}")
    return EXIT_OK
