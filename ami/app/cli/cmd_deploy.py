"""`ami deployment set-current BUILD_ID` and `ami deployment show`: Worker Versioning (ami.app.deployment).

Exit 0 on success, 2 for a bad argument or configuration, 4 when the server cannot be reached or
refuses (for example while no worker of that build has polled yet).
"""

from __future__ import annotations

import argparse
from typing import Any

from ami.app.cli.common import EXIT_MALFORMED, EXIT_OK, EXIT_UNAVAILABLE, client_or_exit_code, err, out, run
from ami.infra.settings import get_settings


def register(commands: Any) -> None:
    deployment = commands.add_parser("deployment", help="versions des workers (Worker Versioning) : laquelle reçoit les tâches")
    actions = deployment.add_subparsers(dest="deployment_action", required=True, metavar="ACTION")
    current = actions.add_parser("set-current", help="faire de BUILD_ID la version courante : les workflows en cours y passent")
    current.add_argument("build_id", metavar="BUILD_ID")
    current.add_argument("--name", help="nom du déploiement (défaut : AMI_DEPLOYMENT_NAME)")
    current.set_defaults(handler=_handler(set_current_command))
    show = actions.add_parser("show", help="les versions connues du déploiement et leur état")
    show.add_argument("--name", help="nom du déploiement (défaut : AMI_DEPLOYMENT_NAME)")
    show.set_defaults(handler=_handler(show_command))


def _handler(body: Any) -> Any:
    def handler(args: argparse.Namespace) -> int:
        settings = get_settings()
        name = args.name or settings.deployment_name
        if not name:
            err.print("Indiquez le déploiement : --name, ou AMI_DEPLOYMENT_NAME.")
            return EXIT_MALFORMED
        return run(connected(body, name, args))

    return handler


async def connected(body: Any, name: str, args: argparse.Namespace) -> int:
    """Connect, run `body(client, name, args)`, and turn failures into exit codes."""
    from temporalio.service import RPCError

    client = await client_or_exit_code()
    if isinstance(client, int):
        return client
    try:
        code: int = await body(client, name, args)
    except RPCError as error:
        err.print(f"Refusé par le serveur : {error.message}", markup=False)
        return EXIT_UNAVAILABLE
    return code


async def set_current_command(client: Any, name: str, args: argparse.Namespace) -> int:
    from ami.app.deployment import set_current

    previous = await set_current(client, name, args.build_id)
    out.print(f"Déploiement « {name} » : version courante {args.build_id} (précédente : {previous or 'aucune'}).", markup=False)
    return EXIT_OK


async def show_command(client: Any, name: str, args: argparse.Namespace) -> int:
    from ami.app.deployment import describe, versions

    for row in versions(await describe(client, name)):
        out.print(f"{'*' if row.current else ' '} {row.build_id}  {row.status}", markup=False)
    return EXIT_OK
