"""Entry point: builds the parser from the command modules and dispatches.

A command pays only for what it uses: `main` imports the one module that registers the command
named on the line (`COMMANDS`), so `ami check FILE` loads neither temporalio, the workflows, the
store nor the documents. Without a known command (`ami`, `ami -h`, a typo) every module is loaded,
so the help and argparse's own errors list every command. tests/test_cli_lazy.py checks that
`COMMANDS` names exactly what each module registers.
"""

from __future__ import annotations

import argparse
import importlib
import sys
from collections.abc import Sequence
from types import ModuleType
from typing import NoReturn

from ami.app.program import run_program

# The command modules, in the order of `ami -h`.
MODULE_NAMES = (
    "cmd_demo",
    "cmd_check",
    "cmd_coordination",
    "cmd_portal",
    "cmd_runtime",
    "cmd_db",
    "cmd_export",
    "cmd_form",
    "cmd_replay",
    "cmd_codec",
    "cmd_rgpd",
    "cmd_deploy",
)

# Each top-level command -> the modules that register it (cmd_coordination adds `campaign start`
# to the `campaign` parser that cmd_check creates; cmd_portal adds `jury invite` to the `jury`
# parser of cmd_coordination: each needs the other loaded first).
_COORDINATION = ("cmd_check", "cmd_coordination", "cmd_portal")
COMMANDS: dict[str, tuple[str, ...]] = {
    "demo": ("cmd_demo",),
    "check": ("cmd_check",),
    "campaign": _COORDINATION,
    **dict.fromkeys(("submit", "status", "jury", "session", "binome", "attendance", "feedback", "experiment", "withdraw"), _COORDINATION),
    **dict.fromkeys(("portal", "portal-key"), _COORDINATION),
    **dict.fromkeys(("worker", "dev", "mail-sink", "diagram", "search-attributes"), ("cmd_runtime",)),
    "db": ("cmd_db",),
    "export": ("cmd_export",),
    "form": ("cmd_form",),
    "replay": ("cmd_replay",),
    "codec-server": ("cmd_codec",),
    "codec-key": ("cmd_codec",),
    "rgpd": ("cmd_rgpd",),
    "deployment": ("cmd_deploy",),
}

# The commands whose process builds emails: they warn about a Python with CVE-2024-6923.
MAIL_COMMANDS = frozenset({"worker", "dev", "demo"})


def _module(name: str) -> ModuleType:
    return importlib.import_module(f"ami.app.cli.{name}")


def modules_for(argv: Sequence[str]) -> tuple[str, ...]:
    """The modules to load for this command line: the command's own, or all of them."""
    positionals = [arg for arg in argv if not arg.startswith("-")]
    if not positionals or positionals[0] not in COMMANDS:
        return MODULE_NAMES
    if positionals[:2] == ["campaign", "check"]:
        return ("cmd_check",)
    return COMMANDS[positionals[0]]


def build_parser(modules: Sequence[str] = MODULE_NAMES) -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="ami", description="Moteur de l'appel à manifestation d'intérêt (Apes Hauts-de-France).")
    commands = parser.add_subparsers(dest="command", required=True, metavar="COMMANDE")
    for name in modules:
        _module(name).register(commands)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    arguments = list(sys.argv[1:] if argv is None else argv)
    args = build_parser(modules_for(arguments)).parse_args(arguments)
    if args.command in MAIL_COMMANDS:
        from ami.infra.mail.guard import interpreter_warning

        if warning := interpreter_warning():
            print(warning, file=sys.stderr)
    code: int = args.handler(args)
    return code


def entry() -> NoReturn:
    """The `ami` program: `main`, ended by `run_program` (it skips the interpreter's teardown once
    Temporal was used, where the SDK's threads could crash the process after its work was done)."""
    run_program(main)


if __name__ == "__main__":
    entry()
