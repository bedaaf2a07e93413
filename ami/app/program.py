"""How a program of this project ends once it has loaded Temporal: `run_program(main)`.

The SDK's Rust runtime keeps threads that may call into Python while the interpreter tears itself
down (sdk-python issue 300). About one short command in a hundred (two under load) then ended in
an abort ("PyGILState_Release") or a segmentation fault after its work was done:
`python -m bench.exit_race` measures it, and it failed a CI run of `ami submit`. `run_program`
leaves just before that teardown, once everything Python does at exit has run. Used by `ami`
(`ami.app.cli.main.entry`), `python -m bench.run`, `python -m bench.exit_race`, `python -m chaos`
and the test run (tests/conftest.py); tests/test_cli_exit.py checks it.
"""

from __future__ import annotations

import atexit
import contextlib
import os
import signal
import sys
from collections.abc import Callable
from typing import NoReturn

# The SDK's native module: importing temporalio's client, worker or testing loads it, and with it
# the Rust runtime whose threads outlive the program's work.
TEMPORAL_BRIDGE = "temporalio.bridge.temporal_sdk_bridge"


class _Exit:
    registered = False
    code: int | None = None  # None: unknown (the program has not ended through `run_program`)


def _code_of(stop: SystemExit) -> int:
    """The status Python gives a SystemExit: 0 for None, the int, 1 for anything else (printed)."""
    if stop.code is None:
        return 0
    return stop.code if isinstance(stop.code, int) else 1


def _leave_before_teardown() -> None:
    """Registered first, this exit function runs last: threads are joined and every exit function
    registered after it has run (a log's handlers, a process pool's, a temporary folder's). What
    remains is the teardown where the SDK's threads crash the interpreter: skip it, once the output
    is out. A process that never loaded Temporal, or whose code is unknown, ends as Python does."""
    if TEMPORAL_BRIDGE not in sys.modules or _Exit.code is None:
        return
    try:
        if "logging" in sys.modules:
            import logging

            logging.shutdown()
        for stream in (sys.stdout, sys.stderr):
            if stream is not None:
                with contextlib.suppress(OSError, ValueError):  # a closed pipe: nothing more can be written anyway
                    stream.flush()
    finally:
        os._exit(_Exit.code)


def leave_before_teardown() -> None:
    """Have this process skip the interpreter's teardown if it loads Temporal. Call it before
    anything registers an exit function of its own (the module's other imports included): those
    registered earlier would be skipped. Registers once; the code is set by `run_program` or
    `exit_with`."""
    if not _Exit.registered:
        atexit.register(_leave_before_teardown)
        _Exit.registered = True


def exit_with(code: int) -> None:
    """The code the process leaves with when it skips the teardown."""
    _Exit.code = code


def run_program(main: Callable[[], int]) -> NoReturn:
    """Run `main` as the process's program and exit with its code, as Python would have: a
    SystemExit's status, 1 for an exception (its traceback printed), 130 for Ctrl-C."""
    leave_before_teardown()
    try:
        code = main()
    except SystemExit as stop:
        exit_with(_code_of(stop))
        raise
    except KeyboardInterrupt:
        exit_with(128 + signal.SIGINT)
        raise
    except BaseException:
        exit_with(1)
        raise
    exit_with(_code_of(SystemExit(code)))
    sys.exit(code)
