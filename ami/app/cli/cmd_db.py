"""`ami db upgrade` (bring the store's schema to this code's version), `ami db check`, and
`ami db revision` for developers who change ami/models/tables.py."""

from __future__ import annotations

import argparse
from typing import Any

from sqlalchemy.exc import SQLAlchemyError

from ami.app.cli.common import EXIT_OK, EXIT_UNAVAILABLE, fail, out


def register(commands: Any) -> None:
    db = commands.add_parser("db", help="schéma de la base (migrations)")
    sub = db.add_subparsers(dest="db_command", required=True, metavar="ACTION")
    url_help = "URL de la base (défaut : AMI_DATABASE_URL, sinon var/ami.db)"

    upgrade = sub.add_parser("upgrade", help="mettre le schéma de la base à jour (la crée au besoin)")
    upgrade.add_argument("--url", help=url_help)
    upgrade.set_defaults(handler=run_upgrade)

    check = sub.add_parser("check", help="vérifier que le schéma est à jour, sans rien modifier")
    check.add_argument("--url", help=url_help)
    check.set_defaults(handler=run_check)

    revision = sub.add_parser("revision", help="(développeurs) écrire une migration d'après ami/models/tables.py")
    revision.add_argument("-m", "--message", required=True, help="ce que change la migration, en une phrase")
    revision.add_argument("--url", help=url_help + " ; elle doit être à jour")
    revision.set_defaults(handler=run_revision)


def _url(args: argparse.Namespace) -> str:
    from ami.infra.settings import get_settings

    return str(args.url or get_settings().resolved_database_url())


def run_upgrade(args: argparse.Namespace) -> int:
    from ami.infra import migrations
    from ami.infra.store import shown, upgrade

    url = _url(args)
    try:
        upgrade(url)
    except SQLAlchemyError as error:
        fail(f"mise à jour du schéma impossible sur {shown(url)} : {getattr(error, 'orig', None) or error}", EXIT_UNAVAILABLE)
    out.print(f"Base {shown(url)} à jour (version {migrations.head_revision()}).")
    return EXIT_OK


def run_check(args: argparse.Namespace) -> int:
    from ami.infra import migrations
    from ami.infra.store import SchemaError, check_schema, shown

    url = _url(args)
    try:
        check_schema(url)
    except SchemaError as error:
        fail(str(error), EXIT_UNAVAILABLE)
    out.print(f"Base {shown(url)} à jour (version {migrations.head_revision()}).")
    return EXIT_OK


def run_revision(args: argparse.Namespace) -> int:
    from alembic import command

    from ami.infra import migrations
    from ami.infra.store import SchemaError, check_schema, make_engine

    url = _url(args)
    try:
        check_schema(url)  # autogenerate compares the models with a database at head
    except SchemaError as error:
        fail(str(error), EXIT_UNAVAILABLE)
    number = f"{int(migrations.head_revision()) + 1:04d}"
    with make_engine(url).begin() as connection:
        script = command.revision(migrations.config(connection), message=args.message, autogenerate=True, rev_id=number)
    path = script.path if script is not None and not isinstance(script, list) else "?"
    out.print(f"Migration {number} écrite : {path} — relisez-la avant de la valider.")
    return EXIT_OK
