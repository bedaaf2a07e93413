"""Entry point: builds the parser from the command modules and dispatches.

A command pays only for what it uses: `main` imports the one module that registers the command
named on the line (`COMMANDS`), so `ami check FILE` loads neither temporalio, the workflows, the
store nor the documents. Without a known command (`ami`, `ami -h`, a typo) every module is loaded,
so the help and argparse's own errors list every command. tests/test_cli_lazy.py checks that
`COMMANDS` names exactly what each module registers.
"""

from __future__ import annotations

import argparse
import atexit
import contextlib
import importlib
import os
import sys
from collections.abc import Sequence
from types import ModuleType

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


# Set by `entry` once `main` has returned or exited; 1 if it raised.
_exit_code = [1]

# Loaded once a Temporal client or worker has been made: its Rust runtime keeps threads of its own.
_TEMPORAL_BRIDGE = "temporalio.bridge.temporal_sdk_bridge"


def _code_of(stop: SystemExit) -> int:
    if stop.code is None:
        return 0
    return stop.code if isinstance(stop.code, int) else 1


def _leave_before_teardown() -> None:
    """The last exit step of a process that used Temporal: everything Python does at exit has run
    (threads joined, the other `atexit` functions, registered after this one), so leave now.

    The SDK's Rust runtime keeps threads that may call into Python while the interpreter tears
    itself down; about one command in a hundred then ends in an abort or a segmentation fault
    after its work is done (sdk-python issue 300; tests/test_cli_exit.py, `python -m bench.exit_race`)."""
    if _TEMPORAL_BRIDGE not in sys.modules:
        return
    if "logging" in sys.modules:
        import logging

        logging.shutdown()
    for stream in (sys.stdout, sys.stderr):
        with contextlib.suppress(OSError, ValueError):  # a closed pipe: nothing more can be written anyway
            stream.flush()
    os._exit(_exit_code[0])


def entry() -> None:
    """The `ami` program: `main`, then an exit that skips the interpreter's teardown once Temporal
    was used. Registered before anything else, `_leave_before_teardown` runs after every other
    exit function."""
    atexit.register(_leave_before_teardown)
    try:
        _exit_code[0] = main()
    except SystemExit as stop:
        _exit_code[0] = _code_of(stop)
        raise
    sys.exit(_exit_code[0])


if __name__ == "__main__":
    entry()
