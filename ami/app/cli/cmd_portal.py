"""`ami portal` (the collectivités' and jurors' web portal), `ami portal-key`, `ami jury invite`."""

from __future__ import annotations

import argparse
import asyncio
import logging
from typing import Any

from ami.app.cli.common import EXIT_MALFORMED, EXIT_OK, EXIT_UNAVAILABLE, err, out, run
from ami.infra.settings import Settings, get_settings


def register(commands: Any) -> None:
    portal = commands.add_parser("portal", help="portail web des collectivités et du jury (liens signés)")
    portal.add_argument("--host", help="adresse d'écoute (AMI_PORTAL_HOST)")
    portal.add_argument("--port", type=int, help="port d'écoute (AMI_PORTAL_PORT)")
    portal.set_defaults(handler=portal_command)

    key = commands.add_parser("portal-key", help="une nouvelle clé de signature des liens du portail (pour AMI_PORTAL_KEYS)")
    key.add_argument("id", help="identifiant de la clé, par exemple 2025-01")
    key.set_defaults(handler=key_command)

    jury = commands._name_parser_map["jury"]  # created by cmd_coordination
    sub = next(a for a in jury._actions if isinstance(a, argparse._SubParsersAction))
    invite = sub.add_parser("invite", help="envoyer à un membre du jury le lien signé de son espace de notation")
    invite.add_argument("--campaign", required=True, help="identifiant de la campagne en cours")
    invite.add_argument("--member", required=True, help="identifiant du membre dans le fichier de campagne")
    invite.add_argument("--campaign-file", help="fichier de campagne (par défaut : celui de la campagne)")
    invite.set_defaults(handler=invite_command)


def portal_command(args: argparse.Namespace) -> int:
    from ami.app.portal.app import build_portal, create_app, serving
    from ami.infra.client import connect
    from ami.infra.links import KeyringError
    from ami.infra.store import SchemaError, check_schema
    from ami.models.campaign import CampaignFileError

    settings = get_settings()
    host, port = args.host or settings.portal_host, args.port or settings.portal_port
    try:
        check_schema(settings.resolved_database_url())
        portal = build_portal(settings, lambda: connect(settings))
    except (KeyringError, CampaignFileError, SchemaError) as error:
        err.print(str(error), soft_wrap=True)
        return EXIT_MALFORMED if not isinstance(error, SchemaError) else EXIT_UNAVAILABLE
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(name)s %(message)s")

    async def serve() -> int:
        async with serving(create_app(portal), host, port):
            out.print(f"Portail : {public_url(settings, host, port)} (Ctrl-C pour arrêter).")
            await asyncio.Event().wait()
        return EXIT_OK

    return run(serve())


def public_url(settings: Settings, host: str, port: int) -> str:
    return settings.portal_base_url.rstrip("/") or f"http://{'localhost' if host in ('127.0.0.1', '0.0.0.0') else host}:{port}"


def key_command(args: argparse.Namespace) -> int:
    from ami.infra.links import _KEY_ID, new_key_entry

    if not _KEY_ID.match(args.id):
        err.print("Identifiant de clé invalide : lettres, chiffres, « . », « _ » ou « - » (64 au plus).")
        return EXIT_MALFORMED
    print(new_key_entry(args.id))
    return EXIT_OK


def invite_command(args: argparse.Namespace) -> int:
    from ami.app.portal.jury_invite import InviteError, send_invitation

    settings = get_settings()
    try:
        address = run_invite(send_invitation(settings, args.campaign, args.member, args.campaign_file))
    except InviteError as error:
        err.print(str(error), soft_wrap=True)
        return error.code
    out.print(f"Invitation envoyée au membre « {args.member} » ({address}).")
    return EXIT_OK


def run_invite(coro: Any) -> str:
    return str(asyncio.run(coro))


__all__ = ["register", "public_url"]
