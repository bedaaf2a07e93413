"""Running the engine: `ami worker`, `ami dev`, `ami mail-sink`, `ami diagram`, `ami search-attributes`."""

from __future__ import annotations

import argparse
import asyncio
from pathlib import Path
from typing import Any

from ami.app.cli.common import EXIT_MALFORMED, EXIT_OK, EXIT_UNAVAILABLE, err, out, run
from ami.infra.settings import get_settings


def register(commands: Any) -> None:
    worker = commands.add_parser("worker", help="lancer un worker sur le serveur Temporal configuré (AMI_TEMPORAL_ADDRESS)")
    worker.set_defaults(handler=worker_command)

    dev = commands.add_parser("dev", help="serveur Temporal de développement + interface + puits SMTP + worker, jusqu'à Ctrl-C")
    dev.add_argument("--db", default="var/temporal.db", help="fichier SQLite du serveur Temporal (persistance)")
    dev.set_defaults(handler=dev_command)

    sink = commands.add_parser("mail-sink", help="puits SMTP local : chaque message devient un fichier .eml")
    sink.add_argument("--out", default="var/mail")
    sink.add_argument("--port", type=int, default=8025)
    sink.set_defaults(handler=sink_command)

    diagram = commands.add_parser("diagram", help="diagramme d'états (Mermaid), généré depuis la machine à états")
    diagram.add_argument("--campaign", action="store_true", help="les phases de la campagne plutôt que la vie d'une candidature")
    diagram.set_defaults(handler=diagram_command)

    attributes = commands.add_parser("search-attributes", help="attributs de recherche personnalisés")
    attributes.add_argument("action", choices=["register"], help="les déclarer sur le cluster configuré")
    attributes.set_defaults(handler=attributes_command)


def worker_command(args: argparse.Namespace) -> int:
    from ami.infra.client import describe_target
    from ami.worker.runner import main

    settings = get_settings()
    out.print(f"Worker sur {describe_target(settings)}, file « {settings.task_queue} » (Ctrl-C pour arrêter).", markup=False)
    if settings.metrics_address or settings.health_address:
        out.print(
            f"Métriques : http://{settings.metrics_address or '—'}/metrics — santé : http://{settings.health_address or '—'}/readyz",
            markup=False,
        )
    return run(_wrap(main()))


async def _wrap(coro: Any) -> int:
    await coro
    return EXIT_OK


def dev_command(args: argparse.Namespace) -> int:
    from ami.app.devserver import FRONTEND_PORT, UI_PORT, port_in_use
    from ami.app.harness import mail_sink, start_dev
    from ami.infra.private_files import private_dir
    from ami.worker.runner import build_worker

    if port_in_use(FRONTEND_PORT) or port_in_use(UI_PORT):
        err.print(
            f"Le port {FRONTEND_PORT} ou {UI_PORT} est déjà pris : un serveur Temporal tourne déjà (interface http://localhost:{UI_PORT})."
        )
        return EXIT_UNAVAILABLE
    from ami.app.portal.embedded import EmbeddedPortal, with_portal

    settings = get_settings()
    from ami.infra.mail.render import TemplateCheckError, check_templates

    try:
        check_templates(settings.templates_dir)
    except TemplateCheckError as error:
        err.print(str(error))
        return EXIT_MALFORMED
    if port_in_use(settings.portal_port):
        err.print(f"Le port {settings.portal_port} du portail est déjà pris (réglez AMI_PORTAL_PORT).")
        return EXIT_UNAVAILABLE
    # The worker signs the portal links of its emails with the same key as the portal checks them.
    settings = with_portal(settings, settings.portal_port, settings.data_dir / "portal-dev.key")

    async def serve() -> int:
        db = Path(args.db)
        private_dir(db.parent)
        with mail_sink(settings.data_dir / "mail", port=settings.smtp_port):
            env = await start_dev(FRONTEND_PORT, UI_PORT, db_file=db)
            try:
                async with build_worker(env.client, settings):
                    portal = await EmbeddedPortal.start(settings, env.client, settings.portal_campaign_id or settings.portal_campaign)
                    out.print(f"Serveur Temporal : localhost:{FRONTEND_PORT} — interface : http://localhost:{UI_PORT}")
                    out.print(f"Portail des collectivités et du jury : {portal.url} (campagne {portal.portal.campaign_id})")
                    out.print(
                        f"Courriels : {settings.data_dir / 'mail'} — base : {settings.resolved_database_url()} — Ctrl-C pour arrêter."
                    )
                    try:
                        await asyncio.Event().wait()
                    finally:
                        await portal.stop()
            finally:
                await env.shutdown()
        return EXIT_OK

    return run(serve())


def sink_command(args: argparse.Namespace) -> int:
    from ami.infra.mail.sink import start_sink

    async def serve() -> int:
        controller, _ = start_sink(Path(args.out), port=args.port)
        out.print(f"Puits SMTP sur 127.0.0.1:{args.port}, messages écrits dans {args.out} (Ctrl-C pour arrêter).")
        try:
            await asyncio.Event().wait()
        finally:
            controller.stop()
        return EXIT_OK

    return run(serve())


def diagram_command(args: argparse.Namespace) -> int:
    from ami.models.campaign_phase import phase_diagram
    from ami.models.lifecycle import mermaid_diagram

    print(phase_diagram() if args.campaign else mermaid_diagram())
    return EXIT_OK


def attributes_command(args: argparse.Namespace) -> int:
    from ami.app.admin import register_search_attributes
    from ami.infra.client import connect

    async def go() -> int:
        settings = get_settings()
        client = await connect(settings)
        added = await register_search_attributes(client, settings.temporal_namespace)
        out.print("Attributs ajoutés : " + ", ".join(added) if added else "Tous les attributs de recherche existent déjà.")
        return EXIT_OK

    return run(go())
