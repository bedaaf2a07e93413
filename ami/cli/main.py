"""Entry point: builds the parser from every command module and dispatches."""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence

from ami.cli import (
    cmd_check,
    cmd_codec,
    cmd_coordination,
    cmd_db,
    cmd_demo,
    cmd_deploy,
    cmd_export,
    cmd_form,
    cmd_portal,
    cmd_replay,
    cmd_rgpd,
    cmd_runtime,
)

MODULES = [
    cmd_demo,
    cmd_check,
    cmd_coordination,
    cmd_portal,
    cmd_runtime,
    cmd_db,
    cmd_export,
    cmd_form,
    cmd_replay,
    cmd_codec,
    cmd_rgpd,
    cmd_deploy,
]


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="ami", description="Moteur de l'appel à manifestation d'intérêt (Apes Hauts-de-France).")
    commands = parser.add_subparsers(dest="command", required=True, metavar="COMMANDE")
    for module in MODULES:
        module.register(commands)
    return parser


# The commands whose process builds emails: they warn about a Python with CVE-2024-6923.
MAIL_COMMANDS = frozenset({"worker", "dev", "demo"})


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    if args.command in MAIL_COMMANDS:
        from ami.mail.guard import interpreter_warning

        if warning := interpreter_warning():
            print(warning, file=sys.stderr)
    code: int = args.handler(args)
    return code


if __name__ == "__main__":
    sys.exit(main())
