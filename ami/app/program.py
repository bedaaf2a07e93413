"""How a program of this project ends once it has used Temporal: `run_program(main)`.

The SDK's Rust runtime keeps threads that may call into Python while the interpreter tears itself
down (sdk-python issue 300). About one short command in a hundred then ended in an abort
("PyGILState_Release") or a segmentation fault after its work was done: `python -m bench.exit_race`
measures it, and it failed a CI run of `ami submit`. `run_program` leaves just before that
teardown, once everything Python does at exit has run. Used by `ami` (`ami.app.cli.main.entry`),
`python -m bench.run` and `python -m chaos`; tests/test_cli_exit.py checks it.
"""

from __future__ import annotations

import atexit
import contextlib
import os
import sys
from collections.abc import Callable
from typing import NoReturn

# Loaded once a Temporal client or worker has been made: its Rust runtime has threads of its own.
TEMPORAL_BRIDGE = "temporalio.bridge.temporal_sdk_bridge"


class _Exit:
    code = 1  # until `main` returns or exits; an exception leaves it at 1, as Python would


def _code_of(stop: SystemExit) -> int:
    if stop.code is None:
        return 0
    return stop.code if isinstance(stop.code, int) else 1


def _leave_before_teardown() -> None:
    """Registered first, this exit function runs last: threads are joined and every other exit
    function has run (a log's handlers, a process pool's, a temporary folder's). What remains is
    the teardown where the SDK's threads crash the interpreter: skip it, once the output is out."""
    if TEMPORAL_BRIDGE not in sys.modules:
        return
    if "logging" in sys.modules:
        import logging

        logging.shutdown()
    for stream in (sys.stdout, sys.stderr):
        with contextlib.suppress(OSError, ValueError):  # a closed pipe: nothing more can be written anyway
            stream.flush()
    os._exit(_Exit.code)


def leave_before_teardown() -> None:
    """Have this process skip the interpreter's teardown if it used Temporal. Call it first thing,
    before anything registers an exit function of its own: those registered earlier are skipped.
    Idempotent; the exit code is 1 until `exit_with` says otherwise."""
    atexit.unregister(_leave_before_teardown)
    atexit.register(_leave_before_teardown)


def exit_with(code: int) -> None:
    """The code the process leaves with, when it skips the teardown."""
    _Exit.code = code


def run_program(main: Callable[[], int]) -> NoReturn:
    """Run `main` as the process's program and exit with its code."""
    leave_before_teardown()
    try:
        _Exit.code = main()
    except SystemExit as stop:
        _Exit.code = _code_of(stop)
        raise
    sys.exit(_Exit.code)
