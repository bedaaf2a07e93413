"""How often a short `ami` command that talks to Temporal dies at exit, with and without its exit.

    python -m bench.exit_race [--runs 100] [--parallel 1]

The SDK's Rust threads may call into Python while the interpreter tears itself down (sdk-python
issue 300): the command's work is done, then the process aborts (SIGABRT, "PyGILState_Release")
or faults (SIGSEGV). `ami.app.program.run_program` leaves just before that teardown. This starts a
dev server, then runs `ami status` on a campaign that does not exist (a connection and one call,
exit code 3) `--runs` times each way, turn about: as the `ami` program does
(`ami.app.cli.main.entry`), and as it did before (`sys.exit(main())`, the bare equivalent). It
prints how many runs of each ended in anything but exit code 3, and their codes. `--parallel 2`
runs two pairs at once, a loaded machine as CI's.
"""

from __future__ import annotations

# First, before any import registers an exit function: the process skips the interpreter's
# teardown once Temporal is loaded (ami/app/program.py).
from ami.app.program import leave_before_teardown, run_program

leave_before_teardown()

import argparse
import asyncio
import collections
import os
import subprocess
import sys
import tempfile
import time

from temporalio.testing import WorkflowEnvironment

from ami.app.devserver import temporal_cli

NOT_FOUND = 3  # `ami status` of a campaign that does not exist
WAYS = {
    "entry (ami)": [sys.executable, "-m", "ami.app.cli.main"],
    "sys.exit(main()) (bare)": [sys.executable, "-c", "import sys; from ami.app.cli.main import main; sys.exit(main())"],
}


def once(command: list[str], environ: dict[str, str]) -> int:
    done = subprocess.run([*command, "status", "--campaign", "absente"], env=environ, capture_output=True, timeout=120)
    return done.returncode


async def race(runs: int, parallel: int) -> dict[str, collections.Counter[int]]:
    env = await WorkflowEnvironment.start_local(dev_server_existing_path=temporal_cli(), dev_server_log_level="error")
    codes: dict[str, collections.Counter[int]] = {way: collections.Counter() for way in WAYS}
    try:
        with tempfile.TemporaryDirectory() as folder:
            environ = {
                **os.environ,
                "AMI_TEMPORAL_ADDRESS": env.client.service_client.config.target_host,
                "AMI_DATA_DIR": folder,
                "AMI_DATABASE_URL": f"sqlite:///{folder}/ami.db",
            }
            slots = asyncio.Semaphore(parallel)

            async def pair() -> None:
                async with slots:
                    for way, command in WAYS.items():
                        codes[way][await asyncio.to_thread(once, command, environ)] += 1

            await asyncio.gather(*(pair() for _ in range(runs)))
    finally:
        await env.shutdown()
    return codes


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--runs", type=int, default=100)
    parser.add_argument("--parallel", type=int, default=1)
    args = parser.parse_args()
    started = time.monotonic()
    codes = asyncio.run(race(args.runs, args.parallel))
    print(f"{args.runs} runs each, turn about, {args.parallel} at once, in {time.monotonic() - started:.0f} s")
    for way, counted in codes.items():
        died = sum(n for code, n in counted.items() if code != NOT_FOUND)
        spread = ", ".join(f"code {code}: {n}" for code, n in sorted(counted.items()))
        print(f"  {way:<26} died at exit {died:>3}/{args.runs}  ({spread})")
    return 0


if __name__ == "__main__":
    run_program(main)
