"""`ami rgpd`: the purge and its daily schedule, the export and the erasure of a person, re-wrapping
the data keys after a master key rotation (docs/privacy.md)."""

from __future__ import annotations

import argparse
import re
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from ami.app.cli.common import EXIT_MALFORMED, EXIT_OK, EXIT_UNAVAILABLE, client_or_exit_code, err, fail, out, parse_instant, run
from ami.infra.settings import get_settings

_IDENTIFIER = re.compile(r"^(\d{9}|[0-9][0-9AB]\d{3})$")
_EMAIL = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+$")


def register(commands: Any) -> None:
    rgpd = commands.add_parser("rgpd", help="données personnelles : purge, export, effacement (RGPD)")
    sub = rgpd.add_subparsers(dest="rgpd_command", required=True, metavar="ACTION")

    purge = sub.add_parser("purge", help="effacer ce qui a dépassé sa durée de conservation")
    purge.add_argument("--dry-run", action="store_true", help="montrer ce qui serait effacé, sans rien effacer")
    purge.add_argument("--at", help="date de référence (ISO 8601 ; défaut : maintenant)")
    purge.set_defaults(handler=_purge)

    schedule = sub.add_parser("schedule", help="créer (ou mettre à jour) la planification quotidienne de la purge sur le serveur")
    schedule.add_argument("--hour", type=int, default=3, choices=range(24), metavar="HEURE", help="heure de Paris (défaut : 3)")
    schedule.set_defaults(handler=_schedule)

    export = sub.add_parser("export", help="archive de tout ce qui est détenu sur les personnes d'une collectivité")
    export.add_argument("identifier", metavar="SIREN|INSEE")
    export.add_argument("--out", help="fichier .zip à écrire (défaut : export-rgpd-<identifiant>.zip)")
    export.set_defaults(handler=_export)

    erase = sub.add_parser("erase", help="effacer une personne (un référent parti) de tous les dossiers")
    erase.add_argument("--email", required=True, metavar="ADRESSE")
    erase.set_defaults(handler=_erase)

    rewrap = sub.add_parser("rewrap", help="re-chiffrer les clés de données avec la clé maîtresse active (après une rotation)")
    rewrap.set_defaults(handler=_rewrap)


def _store() -> Any:
    from ami.infra.store import SchemaError, Store, check_schema

    url = get_settings().resolved_database_url()
    try:
        check_schema(url)
    except SchemaError as error:
        fail(str(error), EXIT_UNAVAILABLE)
    return Store(url)


def _purge(args: argparse.Namespace) -> int:
    from ami.activities.rgpd import PurgeRequest, run_purge
    from ami.infra.purge import PurgeAction

    at = parse_instant(args.at) if args.at else datetime.now(UTC)

    async def go() -> int:
        client = await client_or_exit_code()
        if isinstance(client, int):
            return client
        report = await run_purge(client, get_settings(), _store(), PurgeRequest(at=at, dry_run=args.dry_run))
        verb = "serait effacé" if args.dry_run else "effacé"
        out.print(f"Purge au {at.astimezone(UTC):%d/%m/%Y %H:%M} UTC{' (simulation : rien n’est effacé)' if args.dry_run else ''}")
        labels = {
            PurgeAction.DOSSIER: "dossier",
            PurgeAction.CAMPAIGN_HISTORY: "historique de campagne",
            PurgeAction.MESSAGE: "contenu de courriel",
            PurgeAction.DOCUMENT: "document",
        }
        for line in report.lines:
            out.print(f"  {labels[line.action]} {verb} : {line.target} (campagne {line.campaign_id}, échu le {line.due:%d/%m/%Y})")
        for cid in report.waiting:
            out.print(f"  campagne {cid} en cours : ses dossiers attendent sa fin")
        for cid in report.unknown:
            out.print(f"  campagne {cid} sans fichier dans {get_settings().campaigns_dir} : rien n'est effacé")
        if not args.dry_run:
            out.print(f"{report.files_deleted} fichier(s) supprimé(s), {report.keys_destroyed} clé(s) de données détruite(s).")
        if not report.lines:
            out.print("Rien n'a dépassé sa durée de conservation.")
        return EXIT_OK

    return run(go())


def _schedule(args: argparse.Namespace) -> int:
    from temporalio.client import (
        Schedule,
        ScheduleActionStartWorkflow,
        ScheduleAlreadyRunningError,
        ScheduleOverlapPolicy,
        SchedulePolicy,
        ScheduleSpec,
    )

    from ami.workflows.purge import PURGE_SCHEDULE_ID, PURGE_WORKFLOW_ID, PurgeInput, PurgeWorkflow

    async def go() -> int:
        client = await client_or_exit_code()
        if isinstance(client, int):
            return client
        schedule = Schedule(
            action=ScheduleActionStartWorkflow(PurgeWorkflow.run, PurgeInput(), id=PURGE_WORKFLOW_ID, task_queue=get_settings().task_queue),
            spec=ScheduleSpec(cron_expressions=[f"0 {args.hour} * * *"], time_zone_name="Europe/Paris"),
            policy=SchedulePolicy(overlap=ScheduleOverlapPolicy.SKIP, catchup_window=timedelta(days=1)),
        )
        try:
            await client.create_schedule(PURGE_SCHEDULE_ID, schedule)
            out.print(f"Planification « {PURGE_SCHEDULE_ID} » créée : purge chaque jour à {args.hour} h (heure de Paris).")
        except ScheduleAlreadyRunningError:
            from temporalio.client import ScheduleUpdate, ScheduleUpdateInput

            def replace(_: ScheduleUpdateInput) -> ScheduleUpdate:
                return ScheduleUpdate(schedule=schedule)

            await client.get_schedule_handle(PURGE_SCHEDULE_ID).update(replace)
            out.print(f"Planification « {PURGE_SCHEDULE_ID} » mise à jour : purge chaque jour à {args.hour} h (heure de Paris).")
        return EXIT_OK

    return run(go())


def _export(args: argparse.Namespace) -> int:
    from ami.app.rgpd_export import export_collectivite

    if not _IDENTIFIER.match(args.identifier):
        fail(f"identifiant {args.identifier!r} : un SIREN (9 chiffres) ou un code INSEE (5 caractères) est attendu", EXIT_MALFORMED)
    target = Path(args.out or f"export-rgpd-{args.identifier}.zip")
    if target.suffix.lower() != ".zip":
        fail(f"--out : {target} doit porter l'extension .zip", EXIT_MALFORMED)

    async def go() -> int:
        client = await client_or_exit_code()
        if isinstance(client, int):
            return client
        result = await export_collectivite(args.identifier, _store(), client, target)
        if not result.dossiers:
            err.print(f"Aucun dossier pour {args.identifier} dans la base.")
        out.print(f"Export écrit dans {target} : {len(result.dossiers)} dossier(s), {result.files} fichier(s).")
        for note in result.notes:
            out.print(f"  {note}")
        return EXIT_OK

    return run(go())


def _erase(args: argparse.Namespace) -> int:
    from ami.app.erase_person import erase_person

    if not _EMAIL.match(args.email.strip()):
        fail("--email : adresse électronique invalide", EXIT_MALFORMED)
    result = erase_person(_store(), args.email, datetime.now(UTC))
    if not result.dossiers and not result.messages:
        out.print("Cette adresse ne figure dans aucun dossier ni aucun courriel conservé.")
        return EXIT_OK
    out.print(
        f"Personne effacée de {len(result.dossiers)} dossier(s) ; {result.messages} courriel(s) et {result.files} document(s) effacés."
    )
    for wid in result.without_contact:
        err.print(f"  {wid} : plus aucune adresse de contact ; prévenez les coordinateurs.")
    if result.running:
        return run(_forget_in_running(result.running, args.email))
    return EXIT_OK


async def _forget_in_running(workflow_ids: list[str], email: str) -> int:
    """Each running dossier forgets the person too (an update: the workflow checks and records it)."""
    from temporalio.service import RPCError, RPCStatusCode

    from ami.app.ops import Coordination, Refused

    client = await client_or_exit_code()
    if isinstance(client, int):
        for wid in workflow_ids:
            out.print(f"  {wid} : dossier en cours, son workflow garde ce contact : relancez la commande une fois le serveur joignable.")
        return client
    for wid in workflow_ids:
        campaign, _, identifier = wid.removeprefix("candidature-").rpartition("-")
        try:
            outcome = await Coordination(client, campaign).forget_contact(identifier, email)
        except Refused as refusal:
            err.print(f"  {wid} : {refusal}")
            continue
        except RPCError as error:
            if error.status is not RPCStatusCode.NOT_FOUND:
                raise
            out.print(f"  {wid} : dossier en cours dans le registre, mais aucun workflow sous cet identifiant sur le serveur.")
            continue
        out.print(f"  {wid} : dossier en cours, contact oublié ({outcome.remaining} adresse(s) de contact restante(s)).")
    return EXIT_OK


def _rewrap(args: argparse.Namespace) -> int:
    from ami.infra.codec_settings import CodecSettingsError, get_codec_settings
    from ami.infra.keystore import KeyStoreError, key_store_for

    settings = get_codec_settings()
    try:
        keys = settings.keyring()
        if not keys:
            fail("AMI_CODEC_KEYS est vide : aucune clé de données à re-chiffrer.", EXIT_MALFORMED)
        active = settings.active_key_id(keys)
        from cryptography.hazmat.primitives.ciphers.aead import AESGCM

        _store()  # the schema is up to date
        changed = key_store_for(get_settings().resolved_database_url()).rewrap({k: AESGCM(v) for k, v in keys.items()}, active)
    except (CodecSettingsError, KeyStoreError) as error:
        fail(str(error), EXIT_MALFORMED)
    out.print(f"{changed} clé(s) de données re-chiffrée(s) avec la clé maîtresse « {active} ».")
    return EXIT_OK
