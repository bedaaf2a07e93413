"""`ami check` (offline eligibility) and `ami campaign check` (a campaign file).

Both write plain text (no rich wrapping, so a field name is never cut) and return their exit code:
0 eligible / valid, 1 ineligible, 2 malformed (every faulty field or entry named on stderr).
"""

from __future__ import annotations

import argparse
import json
import sys
from datetime import UTC, datetime
from typing import Any
from zoneinfo import ZoneInfo

from ami.app.cli.common import EXIT_INELIGIBLE, EXIT_MALFORMED, EXIT_OK
from ami.domain.eligibility import assess
from ami.domain.register import load_register
from ami.infra.forms import MalformedForm, load_form
from ami.models.activity_payloads import EligibilityRules
from ami.models.campaign import CampaignFileError, load_campaign
from ami.models.campaign_plan import CampaignPlan
from ami.models.candidature import CandidatureFile
from ami.models.values import Verdict


def register(commands: Any) -> None:
    check = commands.add_parser("check", help="vérifier l'éligibilité d'une candidature (fichier JSON, YAML ou .docx)")
    check.add_argument("file")
    check.add_argument("--campaign", default="ami-2024", help="identifiant ou chemin du fichier de campagne (défaut : ami-2024)")
    check.add_argument(
        "--at",
        help="date de réception, ISO 8601, avec ou sans décalage (sans décalage : heure du fuseau de la campagne ; défaut : maintenant)",
    )
    check.set_defaults(handler=check_form)

    campaign = commands.add_parser("campaign", help="fichiers de campagne")
    sub = campaign.add_subparsers(dest="campaign_command", required=True, metavar="ACTION")
    validate = sub.add_parser("check", help="valider un fichier de campagne")
    validate.add_argument("file")
    validate.set_defaults(handler=check_campaign)


def _error(message: str) -> None:
    print(message, file=sys.stderr)


def parse_received_at(value: str, timezone: str) -> datetime:
    """ISO 8601 with or without offset (`Z` included); without one, wall time in `timezone`.

    Raises ValueError with a French message.
    """
    text = value.strip()
    try:
        parsed = datetime.fromisoformat(text)
    except ValueError:
        raise ValueError(f"--at : date invalide {value!r} (ISO 8601 attendu, par exemple 2024-09-08T23:30:00+02:00)") from None
    if parsed.tzinfo is None or parsed.utcoffset() is None:
        # A wall time repeated when clocks go back is read as its first occurrence (fold=0).
        parsed = parsed.replace(tzinfo=ZoneInfo(timezone))
    return parsed


def rules_of(plan: CampaignPlan) -> EligibilityRules:
    return EligibilityRules(region=plan.region, timezone=plan.timezone, opens_at=plan.opens_at, deadline_at=plan.deadline_at)


def verdict_json(verdict: Verdict, form: CandidatureFile) -> dict[str, Any]:
    """The object `ami check` prints (verdict, collectivité, reasons), plus what makes the verdict explain itself."""
    view = verdict.collectivite
    register = load_register()
    collectivite = None
    if view is not None:
        collectivite = {
            "name": view.name,
            "kind": view.kind,
            "departement": view.departement,
            "region": view.region,
            "kind_label": view.kind_label,
            "departement_name": register.departement_name(view.departement) if view.departement else None,
            "region_name": register.region_name(view.region) if view.region else None,
            "name_as_written": form.collectivite.name,
        }
    return {
        "eligible": verdict.eligible,
        "collectivite": collectivite,
        "reasons": [{"code": r.code, "message": r.message} for r in verdict.reasons],
    }


def check_form(args: argparse.Namespace) -> int:
    problems: list[str] = []
    plan: CampaignPlan | None = None
    try:
        plan = load_campaign(args.campaign).plan()
    except CampaignFileError as error:
        problems.append(f"--campaign : {error}")
    form: CandidatureFile | None = None
    try:
        form = load_form(args.file)
    except MalformedForm as error:
        problems.append(str(error))
    received_at = datetime.now(UTC)
    if args.at is not None:
        try:
            received_at = parse_received_at(args.at, plan.timezone if plan else "Europe/Paris")
        except ValueError as error:
            problems.append(str(error))
    if problems or plan is None or form is None:
        _error("\n".join(problems))
        return EXIT_MALFORMED
    verdict = assess(form, received_at, rules_of(plan))
    print(json.dumps(verdict_json(verdict, form), ensure_ascii=False, indent=2))
    return EXIT_OK if verdict.eligible else EXIT_INELIGIBLE


def _local(instant: datetime, zone: ZoneInfo) -> str:
    local = instant.astimezone(zone)
    return f"{local:%d/%m/%Y %H:%M %Z} (UTC {instant.astimezone(UTC):%Y-%m-%d %H:%M})"


def check_campaign(args: argparse.Namespace) -> int:
    try:
        campaign = load_campaign(args.file)
    except CampaignFileError as error:
        _error(str(error))
        return EXIT_MALFORMED
    plan = campaign.plan()
    zone = plan.zone()
    print(f"{args.file} : campagne « {campaign.name} » valide ({plan.timezone}).")
    print(f"  ouverture    {_local(plan.opens_at, zone)}")
    print(f"  date limite  {_local(plan.deadline_at, zone)} — fin du {campaign.calendar.deadline:%d/%m/%Y}")
    print(f"  réponse      {_local(plan.response_at, zone)}")
    for s in plan.sessions:
        print(f"  séance {s.number}     {s.month} — {s.theme}")
    r = campaign.retention
    print(
        f"  conservation non retenus {r.not_retained_months} mois, cycle {r.completed_months} mois, "
        f"courriels {r.outbox_months} mois, documents {r.attachments_months} mois — contact {campaign.privacy.contact}"
    )
    return EXIT_OK
