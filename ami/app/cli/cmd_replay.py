"""`ami replay`: replay histories (from the server, or from files) with the current workflow code.

Exit 0 when every history replays (the code is compatible), 1 when one does not (nondeterminism:
the message says which event and command disagree), 2 for a bad argument or an unreadable file,
4 when the server cannot be reached.
"""

from __future__ import annotations

import argparse
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

from ami.app.cli.common import EXIT_INELIGIBLE, EXIT_MALFORMED, EXIT_OK, EXIT_UNAVAILABLE, client_or_exit_code, err, out, run

if TYPE_CHECKING:
    from ami.app.replay import ReplayOutcome

# Exit 1 is "the check said no" for every command; here: the code is not compatible.
EXIT_INCOMPATIBLE = EXIT_INELIGIBLE


def register(commands: Any) -> None:
    replay = commands.add_parser(
        "replay",
        help="rejouer des historiques avec le code actuel (vérifie qu'un déploiement ne casse pas les workflows en cours)",
        description=(
            "Rejoue un ou plusieurs historiques Temporal avec le code actuel des workflows. "
            "Sortie 0 : compatible ; 1 : non-déterminisme (le code ne rejoue pas l'historique) ; "
            "2 : argument ou fichier invalide ; 4 : serveur injoignable."
        ),
    )
    replay.add_argument(
        "workflow_id",
        nargs="?",
        metavar="WORKFLOW_ID",
        help="identifiant du workflow sur le serveur ; avec --campaign, le SIREN ou code INSEE d'une candidature suffit",
    )
    replay.add_argument(
        "--campaign",
        metavar="CAMPAGNE",
        help="campagne : seule, rejoue la campagne et toutes ses candidatures ; avec WORKFLOW_ID, désigne la candidature",
    )
    replay.add_argument("--run-id", metavar="RUN_ID", help="exécution précise du workflow (défaut : la dernière)")
    replay.add_argument(
        "--history",
        type=Path,
        metavar="FICHIER",
        help="historique JSON (export de l'interface, `temporal workflow show -o json`) ou dossier de *.json",
    )
    replay.add_argument(
        "--from-server",
        action="store_true",
        help="rejouer les historiques du serveur trouvés par --query (défaut : tous les workflows en cours) : la vérification avant chaque déploiement",
    )
    replay.add_argument("--query", metavar="REQUÊTE", help="requête de visibilité Temporal, par exemple \"AmiCampaign = 'ami-2025'\"")
    replay.add_argument("--limit", type=int, metavar="N", help="au plus N historiques (les plus récents)")
    replay.set_defaults(handler=replay_command)


def replay_command(args: argparse.Namespace, workflows: Sequence[type] | None = None) -> int:
    """`workflows` replaces the worker's workflows (tests use it to replay with a modified workflow)."""
    from ami.infra.codec_settings import CodecSettingsError

    try:
        return _dispatch(args, workflows)
    except CodecSettingsError as error:  # the converter (client and replayer) is built from these keys
        err.print(f"Clés de chiffrement mal configurées : {error}", markup=False)
        return EXIT_MALFORMED


def _dispatch(args: argparse.Namespace, workflows: Sequence[type] | None) -> int:
    if args.from_server or args.query or args.limit is not None:
        if not args.from_server:
            err.print("--query et --limit s'utilisent avec --from-server.")
            return EXIT_MALFORMED
        if args.history is not None or args.workflow_id or args.campaign or args.run_id:
            err.print("--from-server s'utilise seul (avec --query et --limit) : il choisit les historiques par une requête.")
            return EXIT_MALFORMED
        if args.limit is not None and args.limit < 1:
            err.print("--limit : un nombre d'historiques au moins égal à 1 est attendu.")
            return EXIT_MALFORMED
        from ami.app.replay import DEFAULT_LIVE_QUERY

        return run(_replay_server(None, None, None, workflows, query=args.query or DEFAULT_LIVE_QUERY, limit=args.limit))
    if args.history is not None:
        if args.workflow_id or args.campaign or args.run_id:
            err.print("--history s'utilise seul : il rejoue un fichier, pas un workflow du serveur.")
            return EXIT_MALFORMED
        return run(_replay_files(args.history, workflows))
    if not args.workflow_id and not args.campaign:
        err.print("Indiquez un WORKFLOW_ID, une --campaign, ou un fichier --history.")
        return EXIT_MALFORMED
    if args.run_id and not args.workflow_id:
        err.print("--run-id désigne l'exécution d'un workflow : indiquez aussi son WORKFLOW_ID.")
        return EXIT_MALFORMED
    return run(_replay_server(args.workflow_id, args.campaign, args.run_id, workflows))


async def _replay_files(path: Path, workflows: Sequence[type] | None) -> int:
    from ami.app.replay import HistoryFileError, replay_path

    try:
        outcomes = await replay_path(path, workflows)
    except HistoryFileError as error:
        err.print(str(error), markup=False)
        return EXIT_MALFORMED
    return _report(outcomes)


async def _replay_server(
    workflow_id: str | None,
    campaign: str | None,
    run_id: str | None,
    workflows: Sequence[type] | None,
    query: str | None = None,
    limit: int | None = None,
) -> int:
    from temporalio.client import WorkflowHistory
    from temporalio.service import RPCError, RPCStatusCode

    from ami.app.replay import fetch_campaign_histories, fetch_history, fetch_matching_histories, replay
    from ami.infra.settings import get_settings
    from ami.workflows.campaign import campaign_workflow_id
    from ami.workflows.candidature import candidature_workflow_id

    settings = get_settings()
    client = await client_or_exit_code()
    if isinstance(client, int):
        return client
    target = workflow_id
    if campaign and workflow_id and not workflow_id.startswith(("candidature-", "campaign-")):
        target = candidature_workflow_id(campaign, workflow_id)  # a SIREN or INSEE code, as in `ami status`
    try:
        histories: list[WorkflowHistory]
        if query is not None:
            histories = await fetch_matching_histories(client, query, limit)
            if not histories:
                err.print(f"Aucun workflow ne répond à la requête : {query}", markup=False)
                return EXIT_MALFORMED
        elif target:
            histories = [await fetch_history(client, target, run_id)]
        else:
            assert campaign is not None
            histories = await fetch_campaign_histories(client, campaign_workflow_id(campaign))
    except RPCError as error:
        if error.status is RPCStatusCode.NOT_FOUND:
            err.print(
                f"Workflow introuvable sur {settings.temporal_address} (espace {settings.temporal_namespace}) : {error.message}",
                markup=False,
            )
            return EXIT_MALFORMED
        if error.status is RPCStatusCode.INVALID_ARGUMENT:
            err.print(f"Requête de visibilité refusée par le serveur : {error.message}", markup=False)
            return EXIT_MALFORMED
        err.print(f"Lecture de l'historique impossible : {error.message}", markup=False)
        return EXIT_UNAVAILABLE
    return _report(await replay([("serveur", h) for h in histories], workflows))


def _report(outcomes: Sequence[ReplayOutcome]) -> int:
    from ami.app.replay import describe, failure_message, summary

    for outcome in outcomes:
        # markup=False everywhere: SDK messages hold [TMPRL1100]-style codes that rich would eat as tags.
        out.print(("✓ " if outcome.compatible else "✗ ") + describe(outcome), markup=False, soft_wrap=True)
        if not outcome.compatible:
            err.print("  " + failure_message(outcome), markup=False, soft_wrap=True)
    compatible = all(o.compatible for o in outcomes)
    (out if compatible else err).print(summary(outcomes), markup=False, soft_wrap=True)
    return EXIT_OK if compatible else EXIT_INCOMPATIBLE
