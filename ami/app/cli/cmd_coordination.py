"""Coordinator actions on a running server: campaign start, submit, status, jury, sessions,
binôme, attendance, feedback, withdrawal. Each goes through `ami.app.ops.Coordination`, the same path as
the demo, and is validated by the workflow: a refusal prints the workflow's message (exit 3)."""

from __future__ import annotations

import argparse
import json
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime, timedelta
from typing import Any

import yaml
from temporalio.service import RPCError, RPCStatusCode

from ami.app.cli.common import EXIT_MALFORMED, EXIT_OK, EXIT_REFUSED, EXIT_UNAVAILABLE, client_or_exit_code, err, out, parse_instant, run
from ami.app.ops import Coordination, Refused
from ami.infra.forms import MalformedForm, load_form
from ami.infra.settings import get_settings
from ami.models.campaign import CampaignFileError, load_campaign
from ami.models.campaign_messages import CampaignSummary, Override
from ami.models.candidature import Person
from ami.models.values import Decision


def register(commands: Any) -> None:
    campaign = commands._name_parser_map["campaign"]  # created by cmd_check
    sub = next(a for a in campaign._actions if isinstance(a, argparse._SubParsersAction))
    start = sub.add_parser("start", help="démarrer le workflow d'une campagne sur le serveur")
    start.add_argument("campaign", help="identifiant ou chemin du fichier de campagne")
    start.add_argument("--day-seconds", type=float, help="compresser le calendrier : durée d'un jour publié, en secondes")
    start.set_defaults(handler=_action(_start_campaign))

    submit = commands.add_parser("submit", help="enregistrer une candidature (ou sa correction) sur le serveur")
    submit.add_argument("file")
    submit.add_argument("--campaign", required=True)
    submit.add_argument("--received-at", help="date de réception si elle précède l'enregistrement (ISO 8601)")
    submit.set_defaults(handler=_action(_submit))

    status = commands.add_parser("status", help="état d'une campagne ou d'une candidature")
    status.add_argument("--campaign", required=True)
    status.add_argument("identifier", nargs="?", help="SIREN ou code INSEE d'une candidature")
    status.add_argument("--json", action="store_true")
    status.add_argument("--resume", action="store_true", help="la campagne en chiffres (états, décisions), sans la liste des candidatures")
    status.add_argument("--from-store", action="store_true", help="lire la base (AMI_DATABASE_URL) au lieu du serveur Temporal")
    status.set_defaults(handler=_status_handler)

    jsub = _group(commands, "jury", "notes, conflits d'intérêts, délibération")
    score = _by_juror(jsub.add_parser("score", help="noter une candidature (0 à 5 par critère)"))
    score.add_argument("--score", action="append", required=True, metavar="CRITERE=NOTE")
    score.add_argument("--comment")
    score.set_defaults(handler=_action(_score))
    conflict = _by_juror(jsub.add_parser("conflict", help="déclarer un conflit d'intérêts"))
    conflict.add_argument("--reason")
    conflict.set_defaults(handler=_action(_conflict))
    deliberate = jsub.add_parser("deliberate", help="délibérer (classement, sélection, liste d'attente)")
    deliberate.add_argument("--campaign", required=True)
    deliberate.add_argument("--actor", default="coordination")
    deliberate.add_argument("--override", action="append", default=[], metavar="DOSSIER=DECISION:JUSTIFICATION")
    deliberate.set_defaults(handler=_action(_deliberate))

    ssub = _group(commands, "session", "séances du cycle")
    sset = ssub.add_parser("set", help="fixer ou déplacer la date, l'heure et le lieu d'une séance")
    sset.add_argument("number", type=int)
    sset.add_argument("--campaign", required=True)
    sset.add_argument("--at", required=True, help="début de la séance, ISO 8601 (heure de Paris si sans décalage)")
    sset.add_argument("--place", required=True)
    sset.add_argument("--theme")
    sset.set_defaults(handler=_action(_session_set))

    bsub = _group(commands, "binome", "binôme élu / technicien")
    confirm = _on_dossier(bsub.add_parser("confirm", help="confirmer le binôme d'une collectivité retenue (fichier YAML/JSON)"))
    confirm.add_argument("--file", required=True, help="political_referent et technical_referent (nom, qualité, courriel)")
    confirm.set_defaults(handler=_action(_confirm))

    asub = _group(commands, "attendance", "présences aux séances")
    record = _on_dossier(asub.add_parser("record", help="enregistrer la présence d'une collectivité à une séance"))
    record.add_argument("--session", type=int, required=True)
    record.add_argument("--elected", choices=["oui", "non"], required=True)
    record.add_argument("--technician", choices=["oui", "non"], required=True)
    record.add_argument("--others", type=int, default=0)
    record.set_defaults(handler=_action(_attendance))

    fsub = _group(commands, "feedback", "questionnaire de satisfaction")
    frec = _on_dossier(fsub.add_parser("record"))
    frec.add_argument("--session", type=int, required=True)
    frec.add_argument("--satisfaction", type=int, required=True)
    frec.add_argument("--comment")
    frec.set_defaults(handler=_action(_feedback))

    esub = _group(commands, "experiment", "l'expérimentation qu'une collectivité s'engage à conduire")
    erec = _on_dossier(esub.add_parser("record", help="enregistrer l'expérimentation (pendant le cycle)"))
    erec.add_argument("--text", required=True)
    erec.set_defaults(handler=_action(_experiment))

    withdraw = _on_dossier(commands.add_parser("withdraw", help="retirer une candidature (à toute étape)"))
    withdraw.add_argument("--reason", required=True)
    withdraw.set_defaults(handler=_action(_withdraw))


def _group(commands: Any, name: str, help: str) -> Any:
    """`ami NAME ACTION`: the subparsers of a group of actions."""
    return commands.add_parser(name, help=help).add_subparsers(dest=f"{name}_command", required=True, metavar="ACTION")


def _on_dossier(parser: argparse.ArgumentParser) -> argparse.ArgumentParser:
    """An action on one dossier: its SIREN or INSEE code, and its campaign."""
    parser.add_argument("identifier")
    parser.add_argument("--campaign", required=True)
    return parser


def _by_juror(parser: argparse.ArgumentParser) -> argparse.ArgumentParser:
    """A juror's act on one dossier: the campaign, the jury member, the dossier's receipt number."""
    for option in ("--campaign", "--member", "--receipt"):
        parser.add_argument(option, required=True)
    return parser


def server_refusal(error: RPCError) -> tuple[str, int]:
    """What the Temporal server's refusal means for a coordinator, in French, and the exit code."""
    if error.status is RPCStatusCode.NOT_FOUND:
        return "Introuvable : la campagne ou la candidature n'existe pas, ou elle est terminée (vérifiez l'identifiant).", EXIT_REFUSED
    if error.status in (
        RPCStatusCode.DEADLINE_EXCEEDED,
        RPCStatusCode.CANCELLED,
        RPCStatusCode.UNAVAILABLE,
        RPCStatusCode.RESOURCE_EXHAUSTED,
    ):
        return "La campagne n'a pas répondu à temps (elle est occupée ou se renouvelle) : réessayez dans un instant.", EXIT_UNAVAILABLE
    name = error.status.name if error.status is not None else "inconnu"
    return f"Le serveur Temporal a refusé la demande (code {name}).", EXIT_REFUSED


def _action(body: Callable[[Coordination, argparse.Namespace], Awaitable[int]]) -> Callable[[argparse.Namespace], int]:
    """Connect, run, and turn a workflow's refusal or an unreachable server into a clear exit."""

    def handler(args: argparse.Namespace) -> int:
        async def go() -> int:
            client = await client_or_exit_code()
            if isinstance(client, int):
                return client
            campaign_id = getattr(args, "campaign", None) or ""
            try:
                return await body(Coordination(client, campaign_id), args)
            except Refused as refusal:
                err.print(f"Refusé : {refusal}")
                return EXIT_REFUSED
            except RPCError as error:
                message, code = server_refusal(error)
                err.print(message, markup=False)
                return code

        return run(go())

    return handler


async def _start_campaign(coord: Coordination, args: argparse.Namespace) -> int:
    from ami.app.ops import start_campaign

    try:
        plan = load_campaign(args.campaign).plan()
    except CampaignFileError as error:
        err.print(str(error))
        return EXIT_MALFORMED
    if args.day_seconds is not None and not 0 < args.day_seconds <= 86400:
        err.print(f"--day-seconds {args.day_seconds} : une durée en secondes, strictement positive et d'au plus 86400, est attendue")
        return EXIT_MALFORMED
    if args.day_seconds:
        plan = plan.compressed(datetime.now(UTC) + timedelta(seconds=5), args.day_seconds / 86400)
    handle = await start_campaign(coord.client, plan, get_settings().task_queue)
    out.print(f"Campagne démarrée : {handle.id}")
    return EXIT_OK


async def _submit(coord: Coordination, args: argparse.Namespace) -> int:
    try:
        form = load_form(args.file)
    except MalformedForm as error:
        err.print(str(error))
        return EXIT_MALFORMED
    received = parse_instant(args.received_at) if args.received_at else None
    result = await coord.submit(form, received)
    print(result.workflow_id)
    err.print(f"{'Correction enregistrée' if result.correction else 'Candidature enregistrée'} : dossier {result.receipt_number}")
    return EXIT_OK


def _status_handler(args: argparse.Namespace) -> int:
    if not args.from_store:
        return _action(_status)(args)
    from ami.infra.store import SchemaError, campaign_summary

    try:
        rows = campaign_summary(args.campaign)
    except SchemaError as error:
        err.print(str(error))
        return EXIT_UNAVAILABLE
    if args.json:
        print(json.dumps([{**vars(r), "updated_at": r.updated_at.isoformat()} for r in rows], ensure_ascii=False, indent=2))
        return EXIT_OK
    out.print(f"Campagne {args.campaign} (base) — {len(rows)} candidature(s)")
    for r in rows:
        out.print(
            f"  {r.receipt_number}  {r.collectivite[:40]:<40} {r.departement or '':<3} {r.state:<20} {r.decision or '':<13}"
            f" notes {r.reviews}, séances {r.sessions_attended}",
            soft_wrap=True,
        )
    return EXIT_OK


async def _status(coord: Coordination, args: argparse.Namespace) -> int:
    if args.identifier:
        status: Any = await coord.candidature_status(args.identifier)
    elif args.resume:
        return _print_summary(await coord.summary(), as_json=args.json)
    else:
        status = await coord.status()
    if args.json:
        print(status.model_dump_json(indent=2))
        return EXIT_OK
    if args.identifier:
        out.print(f"{status.receipt_number} — {status.state_label} ({status.state})")
        if status.decision:
            out.print(f"Décision : {status.decision.value}")
        if status.next_deadline:
            out.print(f"Prochaine échéance : {status.next_deadline_label}, {status.next_deadline:%d/%m/%Y %H:%M %Z}")
        for t in status.transitions:
            out.print(f"  {t.sequence:>2}. {t.at:%d/%m/%Y %H:%M} {t.source or '∅'} → {t.dest} ({t.trigger}, {t.actor})")
    else:
        out.print(f"Campagne {status.campaign_id} — phase {status.phase}, {len(status.candidatures)} candidature(s)")
        for e in status.candidatures:
            ended = "  arrêtée hors du moteur" if e.ended else ""
            out.print(f"  {e.receipt_number}  {e.key:<10} {e.state.value:<20} {e.decision.value if e.decision else ''}{ended}")
    return EXIT_OK


def _print_summary(summary: CampaignSummary, as_json: bool) -> int:
    if as_json:
        print(summary.model_dump_json(indent=2))
        return EXIT_OK
    out.print(f"Campagne {summary.campaign_id} — phase {summary.phase}, {summary.received} candidature(s) reçue(s)", markup=False)
    for state, n in sorted(summary.states.items()):
        out.print(f"  {state.value:<20} {n}", markup=False)
    if summary.decisions:
        out.print("Décisions : " + ", ".join(f"{d.value} {n}" for d, n in sorted(summary.decisions.items())), markup=False)
    if summary.ended:
        out.print(f"Arrêtées hors du moteur : {summary.ended}", markup=False)
    out.print(f"Séances datées : {len(summary.sessions)}", markup=False)
    return EXIT_OK


async def _score(coord: Coordination, args: argparse.Namespace) -> int:
    scores: dict[str, int] = {}
    for item in args.score:
        name, _, value = item.partition("=")
        if not value.lstrip("-").isdigit():
            err.print(f"--score {item!r} : format CRITERE=NOTE attendu (note entière de 0 à 5)")
            return EXIT_MALFORMED
        scores[name.strip()] = int(value)
    await coord.score(args.member, args.receipt, scores, args.comment)
    out.print(f"Note enregistrée : {args.member} sur {args.receipt}")
    return EXIT_OK


async def _conflict(coord: Coordination, args: argparse.Namespace) -> int:
    await coord.declare_conflict(args.member, args.receipt, args.reason)
    out.print(f"Conflit d'intérêts enregistré : {args.member} ne note pas {args.receipt}")
    return EXIT_OK


async def _deliberate(coord: Coordination, args: argparse.Namespace) -> int:
    overrides = []
    for item in args.override:
        receipt, _, rest = item.partition("=")
        decision, _, justification = rest.partition(":")
        try:
            overrides.append(Override(receipt_number=receipt, decision=Decision(decision), justification=justification))
        except ValueError as error:
            err.print(f"--override {item!r} : {error}")
            return EXIT_MALFORMED
    result = await coord.deliberate(args.actor, overrides)
    for r in result.ranking:
        score = f"{r.score:.2f}" if r.score is not None else "—"
        out.print(f"  {r.rank:>2}. {r.receipt_number}  {score}  {r.decision.value}{' (dérogation)' if r.overridden else ''}")
    return EXIT_OK


async def _session_set(coord: Coordination, args: argparse.Namespace) -> int:
    session = await coord.set_session(args.number, parse_instant(args.at), args.place, args.theme)
    out.print(f"Séance {session.number} : {session.starts_at:%d/%m/%Y %H:%M %Z}, {session.place} (version {session.sequence})")
    return EXIT_OK


async def _confirm(coord: Coordination, args: argparse.Namespace) -> int:
    try:
        with open(args.file, encoding="utf-8") as handle:
            raw = yaml.safe_load(handle)
        political, technical = Person.model_validate(raw["political_referent"]), Person.model_validate(raw["technical_referent"])
    except (OSError, KeyError, TypeError, ValueError, yaml.YAMLError) as error:
        err.print(f"{args.file} : binôme illisible ({error})")
        return EXIT_MALFORMED
    status = await coord.confirm_binome(args.identifier, political, technical)
    out.print(f"Binôme confirmé : {status.receipt_number} est {status.state_label}")
    return EXIT_OK


async def _attendance(coord: Coordination, args: argparse.Namespace) -> int:
    status = await coord.record_attendance(args.identifier, args.session, args.elected == "oui", args.technician == "oui", args.others)
    out.print(f"Présence enregistrée : {status.receipt_number}, séance {args.session}")
    return EXIT_OK


async def _feedback(coord: Coordination, args: argparse.Namespace) -> int:
    status = await coord.record_feedback(args.identifier, args.session, args.satisfaction, args.comment)
    out.print(f"Questionnaire enregistré : {status.receipt_number}, séance {args.session}")
    return EXIT_OK


async def _experiment(coord: Coordination, args: argparse.Namespace) -> int:
    status = await coord.record_experiment(args.identifier, args.text)
    out.print(f"Expérimentation enregistrée : {status.receipt_number}")
    return EXIT_OK


async def _withdraw(coord: Coordination, args: argparse.Namespace) -> int:
    status = await coord.withdraw(args.identifier, args.reason)
    out.print(f"Retrait enregistré : {status.receipt_number} est {status.state_label}")
    return EXIT_OK


__all__ = ["register"]
